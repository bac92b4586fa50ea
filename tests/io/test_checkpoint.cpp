// Checkpoints that load: round trips of parameters, SGD/Adam state, parameter
// groups and metadata series, optional optimizer state, and the entries NumPy sees. Damaged and
// mismatched files are tests/io/test_checkpoint_errors.cpp's; the ZIP layout
// itself is tests/io/test_zip.cpp's.
#include <cstring>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>

#include <tapegrad/io/checkpoint.hpp>
#include "io/checkpoint_fixture.hpp"
#include <tapegrad/io/zip.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace tapegrad {
namespace {

using namespace checkpoint_test;  // Model, CheckpointTest, slurp, entries_of, ...
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

TEST_F(CheckpointTest, SgdRoundTripRestoresTrainingExactly) {
  Model<float> a(0.5, 3, 4), b(-2.0, 3, 4);
  SGD<float> opt_a(a.params(), sgd_opts(0.05, 0.9, true));
  SGD<float> opt_b(b.params(), sgd_opts(0.7, 0.9, true));
  for (int k = 0; k < 4; ++k) {
    a.set_grads(0.1 * (k + 1));
    opt_a.step();
  }
  save_checkpoint<float>(path("sgd.npz"), a.params(), &opt_a, {"linear", 7, 1234});
  const CheckpointMeta meta = load_checkpoint<float>(path("sgd.npz"), b.params(), &opt_b, "linear");
  EXPECT_EQ(meta.model_name, "linear");
  EXPECT_EQ(meta.epoch, 7);
  EXPECT_EQ(meta.seed, 1234u);
  expect_equal(b.w.value, a.w.value);
  expect_equal(b.b.value, a.b.value);
  EXPECT_EQ(opt_b.steps(), 4);
  EXPECT_EQ(opt_b.lr(), 0.05);
  expect_equal(opt_b.momentum_buffer(0), opt_a.momentum_buffer(0));
  expect_equal(opt_b.momentum_buffer(1), opt_a.momentum_buffer(1));
  // Resuming gives bit-identical training: one more step on each.
  a.set_grads(0.3);
  b.set_grads(0.3);
  opt_a.step();
  opt_b.step();
  expect_equal(b.w.value, a.w.value);
  expect_equal(b.b.value, a.b.value);
  EXPECT_EQ(files(), 1u);  // no temporary file left behind
  // Steps and loads mark the parameters modified (Parameter::version): a's five
  // steps; b's load and one step.
  EXPECT_EQ(a.w.version(), 5u);
  EXPECT_EQ(b.w.version(), 2u);
  EXPECT_EQ(b.b.version(), 2u);
}

TEST_F(CheckpointTest, AdamRoundTripInDoubleWithMetadata) {
  Model<double> a(0.25, 5, 3), b(9.0, 5, 3);
  Adam<double> opt_a(a.params(), AdamOptions{0.01});
  Adam<double> opt_b(b.params(), AdamOptions{0.5});
  for (int k = 0; k < 3; ++k) {
    a.set_grads(-0.2 * (k + 1));
    opt_a.step();
  }
  const CheckpointMeta saved{std::string("m\xc3\xa9tier\n\0x", 10), -3, 0xFFFFFFFFFFFFFFFFull};
  save_checkpoint<double>(path("adam.npz"), a.params(), &opt_a, saved);
  EXPECT_THAT([&] { load_checkpoint<double>(path("adam.npz"), b.params(), &opt_b, "other"); },
              ThrowsMessage<Error>(HasSubstr("the checkpoint is of model 'm\\xc3\\xa9tier\\x0a\\x00x', not 'other'")));
  const CheckpointMeta meta = load_checkpoint<double>(path("adam.npz"), b.params(), &opt_b);
  EXPECT_EQ(meta.model_name, saved.model_name);
  EXPECT_EQ(meta.epoch, -3);
  EXPECT_EQ(meta.seed, 0xFFFFFFFFFFFFFFFFull);
  expect_equal(b.w.value, a.w.value);
  for (std::size_t i = 0; i < 2; ++i) {
    expect_equal(opt_b.exp_avg(i), opt_a.exp_avg(i));
    expect_equal(opt_b.exp_avg_sq(i), opt_a.exp_avg_sq(i));
  }
  EXPECT_EQ(opt_b.steps(), 3);
  a.set_grads(1.0);
  b.set_grads(1.0);
  opt_a.step();
  opt_b.step();
  expect_equal(b.w.value, a.w.value);  // bias correction continues from t = 4
}

TEST_F(CheckpointTest, ScalarAndEmptyParametersRoundTrip) {
  Parameter<double> s(Tensor<double>(xt::xarray<double>::from_shape({})), "scale");
  s.value() = 3.25;
  Parameter<double> e(Tensor<double>(xt::xarray<double>::from_shape({0, 4})), "empty");
  save_checkpoint<double>(path("c.npz"), {&s, &e}, nullptr, {});
  Parameter<double> s2(Tensor<double>(xt::xarray<double>::from_shape({})), "scale");
  s2.value() = -1;
  Parameter<double> e2(Tensor<double>(xt::xarray<double>::from_shape({0, 4})), "empty");
  load_checkpoint<double>(path("c.npz"), {&e2, &s2}, nullptr);  // matched by name, not position
  EXPECT_EQ(s2.value(), 3.25);
  Parameter<double> e3(Tensor<double>(xt::xarray<double>::from_shape({4, 0})), "empty");
  EXPECT_THAT([&] { load_checkpoint<double>(path("c.npz"), {&s2, &e3}, nullptr); },
              ThrowsMessage<Error>(HasSubstr("parameter 'empty' has shape (0, 4) in the checkpoint but (4, 0)")));
}

TEST_F(CheckpointTest, OptimizerStateIsOptionalOnBothSides) {
  Model<float> a(1.0), b(0.0);
  SGD<float> opt(b.params(), sgd_opts(0.1, 0.5));
  save_checkpoint<float>(path("bare.npz"), a.params(), nullptr, {});
  EXPECT_THAT([&] { load_checkpoint<float>(path("bare.npz"), b.params(), &opt); },
              ThrowsMessage<Error>(HasSubstr("holds no optimizer state")));
  expect_equal(b.w.value, Model<float>(0.0).w.value);  // untouched
  load_checkpoint<float>(path("bare.npz"), b.params(), nullptr);
  expect_equal(b.w.value, a.w.value);
  // A checkpoint with optimizer state loads into a model alone (inference).
  Model<float> c(5.0);
  save_checkpoint<float>(path("full.npz"), b.params(), &opt, {});
  load_checkpoint<float>(path("full.npz"), c.params(), nullptr);
  expect_equal(c.b.value, a.b.value);
}

TEST_F(CheckpointTest, EntriesAreTheDocumentedNpyArrays) {
  Model<float> m(1.5);
  Adam<float> opt(m.params(), AdamOptions{});
  m.set_grads(0.5);
  opt.step();
  save_checkpoint<float>(path("c.npz"), m.params(), &opt, {"net", 2, 9});
  const std::string z = slurp(path("c.npz"));
  EXPECT_EQ(z, encode_checkpoint<float>(m.params(), &opt, {"net", 2, 9}));  // deterministic bytes
  const std::vector<NpzEntry> es = entries_of(z);
  EXPECT_EQ(names_of(es), (std::vector<std::string>{
                              "__tapegrad__", "meta/model_name", "meta/epoch", "meta/seed", "param/W", "param/b",
                              "optim/name", "optim/params", "optim/steps", "optim/lr", "optim/state/exp_avg.0",
                              "optim/state/exp_avg.1", "optim/state/exp_avg_sq.0", "optim/state/exp_avg_sq.1"}));
  // The header holds magic, version (1: no series), entry count and checksum as <i8 (4,).
  const NpyArray h = parse_npy_entry(es[0], "test: ");
  ASSERT_EQ(h.dtype, "<i8");
  ASSERT_EQ(h.shape, Shape{4});
  std::int64_t v[4];
  std::memcpy(v, h.data.data(), 32);
  EXPECT_EQ(v[0], kCheckpointMagic);
  EXPECT_EQ(v[1], 1);
  EXPECT_EQ(v[2], 14);
  std::uint32_t sum = 0;
  for (std::size_t k = 1; k < es.size(); ++k)
    sum = crc32_of(es[k].bytes.data(), es[k].bytes.size(), crc32_of(es[k].name.c_str(), es[k].name.size() + 1, sum));
  EXPECT_EQ(v[3], sum);
  const NpyArray name = parse_npy_entry(es[1], "test: ");
  EXPECT_EQ(std::string(name.data.begin(), name.data.end()), "net");
  // W's data are its float bytes, row-major, as <f4 (3, 2).
  const NpyArray w = parse_npy_entry(es[4], "test: ");
  EXPECT_EQ(w.dtype, "<f4");
  EXPECT_EQ(w.shape, (Shape{3, 2}));
  ASSERT_EQ(w.data.size(), 24u);
  EXPECT_EQ(std::memcmp(w.data.data(), m.w.value.data(), 24), 0);
  const NpyArray params = parse_npy_entry(es[7], "test: ");
  EXPECT_EQ(std::string(params.data.begin(), params.data.end()), "W\nb");
}

TEST_F(CheckpointTest, SeriesRoundTripInVersion2) {
  Model<float> a(0.5), b(3.0);
  SGD<float> opt_a(a.params(), sgd_opts(0.1, 0.9)), opt_b(b.params(), sgd_opts(0.1, 0.9));
  CheckpointMeta meta{"run", 2, 7};
  meta.series = {{"loss", {2.5, 1.25}}, {"none", {}}, {"odd", {-0.0, 1e-310, std::nan("7"), -INFINITY}}};
  save_checkpoint<float>(path("s.npz"), a.params(), &opt_a, meta);
  const std::vector<NpzEntry> es = entries_of(slurp(path("s.npz")));
  const std::vector<std::string> names = names_of(es);
  EXPECT_EQ(std::vector<std::string>(names.begin() + 1, names.begin() + 7),
            (std::vector<std::string>{"meta/model_name", "meta/epoch", "meta/seed", "meta/series/loss",
                                      "meta/series/none", "meta/series/odd"}));
  EXPECT_EQ(parse_npy_entry(es[0], "test: ").data[8], 2);  // format version 2
  const CheckpointMeta got = load_checkpoint<float>(path("s.npz"), b.params(), &opt_b, "run");
  ASSERT_EQ(got.series.size(), 3u);
  EXPECT_EQ(got.series[0].name, "loss");
  EXPECT_EQ(got.series[0].values, (std::vector<double>{2.5, 1.25}));
  EXPECT_TRUE(got.series[1].values.empty());
  ASSERT_EQ(got.series[2].values.size(), 4u);
  EXPECT_EQ(std::memcmp(got.series[2].values.data(), meta.series[2].values.data(), 32), 0);  // bit for bit
  expect_equal(b.w.value, a.w.value);
  meta.series.push_back({"loss", {1}});
  EXPECT_THAT([&] { save_checkpoint<float>(path("s.npz"), a.params(), nullptr, meta); },
              ThrowsMessage<Error>(HasSubstr("series 0 and 3 are both named 'loss'")));
  meta.series.back().name = "a\nb";
  EXPECT_THAT([&] { save_checkpoint<float>(path("s.npz"), a.params(), nullptr, meta); },
              ThrowsMessage<Error>(HasSubstr("series 3 'a\\x0ab' has a name with a byte outside printable ASCII")));
}

// One group is written as before groups existed: these CRC-32s are of the files
// the format-2 code (io/checkpoint.cpp before parameter groups, commit aad3de2)
// wrote for the same model and optimizers, so a new build reads old files and
// an old build reads a new build's one-group files.
TEST_F(CheckpointTest, OneGroupFilesAreTheBytesOfTheFormatBeforeGroups) {
  Parameter<float> w(filled<float>({3, 2}, 0.5), "W"), b(filled<float>({2}, -0.5), "b");
  SGD<float> sgd({&w, &b}, sgd_opts(0.1, 0.9));
  CheckpointMeta meta{"compat", 3, 42};
  auto crc = [](const std::string& z) { return crc32_of(z.data(), z.size(), 0); };
  std::string z = encode_checkpoint<float>({&w, &b}, &sgd, meta);
  EXPECT_EQ(z.size(), 3024u);
  EXPECT_EQ(crc(z), 0x8f977c5bu);  // version 1
  meta.series = {{"loss", {2.5, 1.25}}};
  z = encode_checkpoint<float>({&w, &b}, &sgd, meta);
  EXPECT_EQ(z.size(), 3284u);
  EXPECT_EQ(crc(z), 0x07267919u);  // version 2
  Parameter<double> wd(filled<double>({2, 2}, 1.5), "W");
  Adam<double> adam({&wd}, AdamOptions{});
  z = encode_checkpoint<double>({&wd}, &adam, meta);
  EXPECT_EQ(z.size(), 3063u);
  EXPECT_EQ(crc(z), 0xe3d0073fu);
  const Checkpoint<double> c = decode_checkpoint<double>(z.data(), z.size(), "old");
  EXPECT_EQ(c.optimizer.group_sizes, std::vector<std::size_t>{1});
  EXPECT_EQ(c.optimizer.lr, std::vector<double>{1e-3});
}

// Two or more parameter groups need version 3: optim/groups holds their sizes
// and optim/lr one rate per group. Every group's lr, the steps and every buffer
// come back, and training goes on bit for bit.
TEST_F(CheckpointTest, ParameterGroupsRoundTripInVersion3) {
  GroupedModel<float> a(0.5), b(-3.0);
  a.steps(3);
  a.opt.set_lr(1, 0.125);  // a rate of its own, as a schedule would set
  CheckpointMeta meta{"groups", 3, 5};
  meta.series = {{"loss", {1.5, 1.0, 0.75}}};
  save_checkpoint<float>(path("g.npz"), a.m.params(), &a.opt, meta);
  const std::vector<NpzEntry> es = entries_of(slurp(path("g.npz")));
  EXPECT_EQ(names_of(es), (std::vector<std::string>{
                              "__tapegrad__", "meta/model_name", "meta/epoch", "meta/seed", "meta/series/loss",
                              "param/W", "param/b", "optim/name", "optim/params", "optim/groups", "optim/steps",
                              "optim/lr", "optim/state/exp_avg.0", "optim/state/exp_avg.1",
                              "optim/state/exp_avg_sq.0", "optim/state/exp_avg_sq.1"}));
  EXPECT_EQ(parse_npy_entry(es[0], "test: ").data[8], 3);  // format version 3
  const NpyArray groups = parse_npy_entry(es[9], "test: ");
  EXPECT_EQ(groups.dtype, "<i8");
  EXPECT_EQ(groups.shape, Shape{2});
  std::int64_t sizes[2];
  std::memcpy(sizes, groups.data.data(), 16);
  EXPECT_EQ(sizes[0], 1);
  EXPECT_EQ(sizes[1], 1);
  const NpyArray lr = parse_npy_entry(es[11], "test: ");
  EXPECT_EQ(lr.shape, Shape{2});
  double rates[2];
  std::memcpy(rates, lr.data.data(), 16);
  EXPECT_EQ(rates[0], 0.1);
  EXPECT_EQ(rates[1], 0.125);

  const Checkpoint<float> c = read_checkpoint<float>(path("g.npz"));
  EXPECT_EQ(c.optimizer.group_sizes, (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(c.optimizer.lr, (std::vector<double>{0.1, 0.125}));
  load_checkpoint<float>(path("g.npz"), b.m.params(), &b.opt, "groups");
  EXPECT_EQ(b.opt.lr(0), 0.1);
  EXPECT_EQ(b.opt.lr(1), 0.125);
  EXPECT_EQ(b.opt.initial_lr(1), 0.2);  // the optimizer's own, as built
  EXPECT_EQ(b.opt.steps(), 3);
  for (std::size_t i = 0; i < 2; ++i) {
    expect_equal(b.opt.exp_avg(i), a.opt.exp_avg(i));
    expect_equal(b.opt.exp_avg_sq(i), a.opt.exp_avg_sq(i));
  }
  a.steps(2);
  b.steps(2);
  expect_equal(b.m.w.value, a.m.w.value);
  expect_equal(b.m.b.value, a.m.b.value);
  // Without series it is still version 3 (the oldest that holds groups).
  const std::string bare = encode_checkpoint<float>(a.m.params(), &a.opt, {"g", 0, 0});
  EXPECT_EQ(parse_npy_entry(entries_of(bare)[0], "test: ").data[8], 3);
  EXPECT_EQ(names_of(entries_of(bare))[8], "optim/groups");
  // SGD groups without momentum keep no buffers: only the momentum group's is saved.
  SGD<float> sgd({{&a.m.w}, {{&a.m.b}, GroupOptions().momentum(0.9)}}, sgd_opts(0.1));
  a.m.set_grads(1);
  sgd.step();
  const std::vector<std::string> names = names_of(entries_of(encode_checkpoint<float>(a.m.params(), &sgd, {})));
  EXPECT_EQ(names.back(), "optim/state/momentum_buffer.1");
  EXPECT_EQ(names[names.size() - 2], "optim/lr");
}

}  // namespace
}  // namespace tapegrad
