#include <gmock/gmock.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/module_state.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::error_of;

class ModuleState : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("tapegrad_state_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::size_t files() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {})); }

  fs::path dir_;
};

// Copies of every parameter and buffer of m, in order.
template <class T>
std::vector<Tensor<T>> state_of(Module<T>& m) {
  std::vector<Tensor<T>> out;
  for (auto& [name, p] : m.named_parameters()) out.push_back(p->value);
  for (auto& [name, b] : m.named_buffers()) out.push_back(*b);
  return out;
}
template <class T>
bool same_state(Module<T>& a, const std::vector<Tensor<T>>& s) {
  const std::vector<Tensor<T>> now = state_of(a);
  if (now.size() != s.size()) return false;
  for (std::size_t k = 0; k < s.size(); ++k)
    if (!same_bits(now[k], s[k])) return false;
  return true;
}

TEST_F(ModuleState, RoundTripOfParametersAndBuffersByName) {
  Generator g1(1), g2(2);
  Net<float> saved(g1), loaded(g2);
  saved.steps = Tensor<float>{3, 4};
  save_state(saved, path("net.npz"));
  EXPECT_FALSE(same_state(loaded, state_of(saved)));
  load_state(loaded, path("net.npz"));
  EXPECT_TRUE(same_state(loaded, state_of(saved)));
  EXPECT_EQ(files(), 1u);  // no temporary left behind

  // The file is a checkpoint without optimizer state: param/<name> for each.
  const Checkpoint<float> c = read_checkpoint<float>(path("net.npz"));
  std::vector<std::string> names;
  for (const NamedTensor<float>& t : c.params) names.push_back(t.name);
  EXPECT_THAT(names, ::testing::ElementsAre("fc1.weight", "fc1.bias", "features.0.weight", "features.0.bias", "steps"));
  EXPECT_EQ(c.meta.model_name, "Net");
  EXPECT_FALSE(c.has_optimizer);
  EXPECT_EQ(to_shape(c.params[0].value.shape()), (Shape{3, 4}));  // (in, out)

  // A Parameter renamed by hand is still saved under its full name.
  saved.fc1.weight().name = "renamed";
  save_state(saved, path("renamed.npz"));
  EXPECT_EQ(read_checkpoint<float>(path("renamed.npz")).params[0].name, "fc1.weight");
  EXPECT_EQ(saved.fc1.weight().name, "renamed");
}

TEST_F(ModuleState, LoadingMarksEveryParameterModifiedSoAnEarlierForwardCannotRunBackward) {
  Generator g(5);
  Net<double> saved(g), model(g);
  save_state(saved, path("net.npz"));
  Tape<double> t;
  const Var<double> loss = sum(model(t.constant(Tensor<double>{{1.0, 2.0, 3.0}})));
  load_state(model, path("net.npz"));
  for (Parameter<double>* p : model.parameters()) EXPECT_EQ(p->version(), 1u) << p->name;
  const std::string msg = error_of([&] { t.backward(loss); });
  EXPECT_THAT(msg, StartsWith("backward: parameter '"));
  EXPECT_THAT(msg, HasSubstr("' (record #"));
  EXPECT_THAT(msg, HasSubstr(", watch) was modified in place after the forward recorded it: its version is 1, "
                             "watched at version 0"));
  const std::string missing = path("missing.npz");
  EXPECT_THAT(error_of([&] { load_state(model, missing); }), StartsWith("load_state: "));
  for (Parameter<double>* p : model.parameters()) EXPECT_EQ(p->version(), 1u) << "a failed load marks nothing";
}

TEST_F(ModuleState, ADoubleSequentialLoadsIntoAnotherWithTheSameNames) {
  Generator g(3);
  Sequential<double> a{Linear<double>(2, 3, g), ReLU<double>(), Linear<double>(3, 1, g)};
  Sequential<double> b{Linear<double>(2, 3, g), Tanh<double>(), Linear<double>(3, 1, g)};  // other activation
  save_state(a, path("a.npz"));
  load_state(b, path("a.npz"));
  EXPECT_TRUE(same_state(b, state_of(a)));
}

TEST_F(ModuleState, StrictLoadNamesTheEntryAndChangesNothing) {
  Generator g(4);
  Net<float> net(g);
  save_state(net, path("net.npz"));
  Sequential<float> small{Linear<float>(3, 4, g)};
  save_state(small, path("small.npz"));

  Net<float> target(g);
  const std::vector<Tensor<float>> before = state_of(target);
  const std::string small_file = path("small.npz");
  EXPECT_EQ(error_of([&] { load_state(target, small_file); }),
            "load_state: " + small_file + ": missing entry 'fc1.weight' (the file holds '0.weight', '0.bias')");
  Sequential<float> fewer{Linear<float>(3, 4, g)};
  const std::vector<Tensor<float>> fewer_before = state_of(fewer);
  fewer.push_back(ReLU<float>());
  EXPECT_EQ(error_of([&] { load_state(fewer, path("net.npz")); }),
            "load_state: " + path("net.npz") + ": missing entry '0.weight' (the file holds 'fc1.weight', "
            "'fc1.bias', 'features.0.weight', 'features.0.bias', 'steps')");
  // Unexpected: a module with a subset of the file's names.
  struct FcOnly : Module<float> {
    Linear<float>& fc1;
    explicit FcOnly(Generator& g) : Module<float>("FcOnly"), fc1(this->register_module("fc1", Linear<float>(3, 4, g))) {}
    Var<float> forward(const Var<float>& x) override { return fc1(x); }
  } fc_only(g);
  const std::vector<Tensor<float>> fc_before = state_of(fc_only);
  EXPECT_EQ(error_of([&] { load_state(fc_only, path("net.npz")); }),
            "load_state: " + path("net.npz") +
                ": unexpected entry 'features.0.weight', which the module (FcOnly) has no parameter or buffer for");
  // Mis-shaped: the same names with another hidden width.
  Net<float> wider(g, 5);
  const std::vector<Tensor<float>> wider_before = state_of(wider);
  EXPECT_EQ(error_of([&] { load_state(wider, path("net.npz")); }),
            "load_state: " + path("net.npz") + ": entry 'fc1.weight' has shape (3, 4) in the file but (3, 5) in the module");
  EXPECT_TRUE(same_state(target, before));
  EXPECT_TRUE(same_state(fc_only, fc_before));
  EXPECT_TRUE(same_state(wider, wider_before));
  EXPECT_TRUE(same_state(fewer, fewer_before));
}

TEST_F(ModuleState, DamagedForeignOrMissingFilesAreErrorsAndChangeNothing) {
  Generator g(5);
  Net<double> net(g);
  const std::vector<Tensor<double>> before = state_of(net);
  EXPECT_THAT(error_of([&] { load_state(net, path("none.npz")); }),
              StartsWith("load_state: load_checkpoint: " + path("none.npz") + ": cannot open"));
  Net<float> f(g);
  save_state(f, path("float.npz"));  // <f4 entries for a double module
  EXPECT_THAT(error_of([&] { load_state(net, path("float.npz")); }),
              ::testing::AllOf(StartsWith("load_state: load_checkpoint: "), HasSubstr("expected <f8")));
  save_state(net, path("net.npz"));
  std::string bytes;
  {
    std::ifstream in(path("net.npz"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(path("net.npz"), std::ios::binary) << bytes;
  Net<double> other(g);
  const std::vector<Tensor<double>> other_before = state_of(other);
  EXPECT_THAT(error_of([&] { load_state(other, path("net.npz")); }), StartsWith("load_state: load_checkpoint: "));
  EXPECT_TRUE(same_state(other, other_before));
  EXPECT_TRUE(same_state(net, before));
}

TEST_F(ModuleState, FailedSaveLeavesTheOldFileAndATrainingCheckpointLoads) {
  Generator g(6);
  Net<float> net(g);
  EXPECT_THAT(error_of([&] { save_state(net, path("no/such/dir/x.npz")); }),
              StartsWith("save_state: save_checkpoint: " + path("no/such/dir/x.npz") + ": cannot create a temporary file"));
  EXPECT_EQ(files(), 0u);
  // A checkpoint written by save_checkpoint with the module's parameters (names
  // are the Parameters' own) and optimizer state loads, ignoring that state.
  Net<float> trained(g);
  const std::vector<Parameter<float>*> ps = trained.parameters();
  std::vector<Parameter<float>*> with_buffer = ps;
  Parameter<float> steps(trained.steps, "steps");
  with_buffer.push_back(&steps);
  SGD<float> trained_opt(ps, SGDOptions{});
  save_checkpoint<float>(path("ckpt.npz"), with_buffer, &trained_opt, CheckpointMeta{"tool", 3, 0});
  load_state(net, path("ckpt.npz"));
  EXPECT_TRUE(same_state(net, state_of(trained)));
}

TEST_F(ModuleState, NumpyReadsTheFile) {
  if (std::system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3-numpy is not installed";
  Generator g(7);
  Sequential<float> s{Linear<float>(3, 2, g)};
  s.at<Linear<float>>(0).weight().value = Tensor<float>{{1, 2}, {3, 4}, {5, 6}};
  save_state(s, path("s.npz"));
  const std::string script = "import numpy as np; f = np.load('" + path("s.npz") +
                             "'); w = f['param/0.weight']; assert w.dtype == np.float32 and w.shape == (3, 2), w; "
                             "assert (w == np.arange(1, 7).reshape(3, 2)).all(); assert f['param/0.bias'].shape == (2,)";
  EXPECT_EQ(std::system(("python3 -c \"" + script + "\"").c_str()), 0);
}

}  // namespace
}  // namespace tapegrad::nn_test
