// Runs the built train_cnn as a subprocess on a small copy of Fashion-MNIST (the
// first 1600 training and 500 test images, written as IDX files once): a
// short run reports validation and test accuracy and writes its pictures; the
// batch-norm statistics are checkpointed with the parameters, so a run stopped
// and resumed ends bit-identical to one that was not; softmax and the net
// without batch norm run; bad options exit 2 with one stderr line.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/idx.hpp>
#include "support/json_reader.hpp"
#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;

#ifdef TAPEGRAD_TRAIN_CNN_PATH
const char* const kCnn = TAPEGRAD_TRAIN_CNN_PATH;
#else
const char* const kCnn = nullptr;  // examples not built: the tests skip
#endif

using testing::expect_one_line_error;
using testing::Json;
using testing::JsonReader;
using testing::ProcessResult;
using testing::read_file;
using testing::with;

// An IDX file (big-endian header: magic, extents) of bytes.
void write_idx(const std::string& path, std::uint32_t magic, const std::vector<std::uint32_t>& dims,
               const std::vector<unsigned char>& bytes) {
  std::ofstream f(path, std::ios::binary);
  auto be32 = [&f](std::uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    f.write(b, 4);
  };
  be32(magic);
  for (std::uint32_t d : dims) be32(d);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The first `n` images and labels of a set, as the IDX files the tools read.
void write_subset(const std::string& dir, const std::string& prefix, const Tensor<float>& images,
                  const IndexTensor& labels, std::size_t n) {
  std::vector<unsigned char> pixels(n * 784), classes(n);
  for (std::size_t k = 0; k < pixels.size(); ++k)
    pixels[k] = static_cast<unsigned char>(std::lround(images.data()[k] * 255.0f));
  for (std::size_t i = 0; i < n; ++i) classes[i] = static_cast<unsigned char>(labels(i));
  write_idx(dir + "/" + prefix + "-images-idx3-ubyte", 0x803, {std::uint32_t(n), 28, 28}, pixels);
  write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", 0x801, {std::uint32_t(n)}, classes);
}

// A small copy of Fashion-MNIST shared by the tests: evaluating 10,000 test
// images through a CNN would cost each run more than its training does.
const std::string& small_data() {
  static const std::string dir = [] {
    const std::string d = (fs::temp_directory_path() / ("tapegrad_cnn_data_" + std::to_string(::getpid()))).string();
    fs::create_directories(d);
    const Dataset full = load_fashion_mnist();
    write_subset(d, "train", full.train_images, full.train_labels, 1600);
    write_subset(d, "t10k", full.test_images, full.test_labels, 500);
    return d;
  }();
  return dir;
}

// 512 training images in batches of 64, the last 600 of the 1600 as validation.
std::vector<std::string> quick() {
  return {"--epochs", "1", "--limit", "512", "--batch-size", "64", "--validation", "600", "--quiet",
          "--data", small_data()};
}

class TrainCnn : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kCnn) GTEST_SKIP() << "examples not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (kCnn) fs::remove_all(small_data(), ec);
  }
  ProcessResult ok(const std::vector<std::string>& args) const {
    ProcessResult r = run(kCnn, args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r;
  }
  std::vector<std::string> entry_names(const std::string& file) const {
    std::vector<std::string> names;
    for (const auto& p : read_checkpoint<float>(path(file)).params) names.push_back(p.name);
    return names;
  }
};

TEST_F(TrainCnn, ShortRunReportsAccuraciesAndPictures) {
  const ProcessResult r = ok(with(quick(), {"--report", "r.json", "--out", "pictures"}));
  EXPECT_NE(r.out.find("validation accuracy "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test accuracy "), std::string::npos) << r.out;
  const Json j = JsonReader(read_file(path("r.json"))).parse();
  EXPECT_EQ(j.at("tool").str, "train_cnn");
  EXPECT_EQ(j.at("train_examples").num, 512);
  EXPECT_EQ(j.at("validation_examples").num, 600);
  EXPECT_EQ(j.at("test_examples").num, 500);
  // 8 steps of a CNN: better than chance (0.1).
  EXPECT_GT(j.at("validation_accuracy").num, 0.3);
  EXPECT_GT(j.at("test_accuracy").num, 0.3);
  EXPECT_FALSE(j.has("test_accuracy_per_epoch"));
  const Json& s = j.at("settings");
  EXPECT_EQ(s.at("loss").str, "crammer-singer");
  EXPECT_EQ(s.at("optimizer").str, "adamw");
  EXPECT_EQ(s.at("batch_norm").num, 1);
  for (const char* png : {"train_cnn_loss.png", "train_cnn_accuracy.png", "train_cnn_filters.png"})
    EXPECT_EQ(read_file(dir_ / "pictures" / png).substr(0, 4), "\x89PNG") << png;
  // Layers 1 (conv), 2 (batch norm), 5, 6, 10 and 13 (linear) hold parameters; the
  // batch norms' running statistics follow the parameters.
  const std::vector<std::string> expected = {
      "1.weight",          "1.bias",           "2.weight",           "2.bias",  "5.weight",
      "5.bias",            "6.weight",         "6.bias",             "10.weight", "10.bias",
      "13.weight",         "13.bias",          "2.running_mean",     "2.running_var",
      "2.num_batches_tracked", "6.running_mean", "6.running_var",    "6.num_batches_tracked"};
  ok(with(quick(), {"--checkpoint", "c.npz"}));
  EXPECT_EQ(entry_names("c.npz"), expected);
}

// The running statistics change every training step and decide every eval-mode
// output: a resumed run must restore them to end with the same bits.
TEST_F(TrainCnn, StoppedAndResumedEndsBitIdenticalWithItsBatchNormStatistics) {
  std::vector<std::string> args = quick();
  args[1] = "2";  // --epochs 2
  const std::vector<std::string> straight = args, cut = args;
  ok(with(straight, {"--checkpoint", "a.npz", "--report", "a.json"}));
  ok(with(cut, {"--checkpoint", "b.npz", "--stop-after", "1"}));
  ok(with(cut, {"--checkpoint", "b.npz", "--report", "b.json", "--resume"}));
  const Checkpoint<float> a = read_checkpoint<float>(path("a.npz")), b = read_checkpoint<float>(path("b.npz"));
  ASSERT_EQ(a.params.size(), b.params.size());
  for (std::size_t k = 0; k < a.params.size(); ++k) {
    EXPECT_EQ(a.params[k].name, b.params[k].name);
    EXPECT_EQ(a.params[k].value.shape(), b.params[k].value.shape());
    EXPECT_EQ(std::memcmp(a.params[k].value.data(), b.params[k].value.data(), a.params[k].value.size() * 4), 0)
        << a.params[k].name;
  }
  EXPECT_EQ(without_timings("a.json"), without_timings("b.json"));
}

TEST_F(TrainCnn, SoftmaxAndTheNetWithoutBatchNormRun) {
  ok(with(quick(), {"--loss", "softmax", "--no-batch-norm", "--dropout", "0", "--report", "s.json", "--checkpoint",
                   "s.npz"}));
  const Json j = JsonReader(read_file(path("s.json"))).parse();
  EXPECT_EQ(j.at("settings").at("loss").str, "softmax");
  EXPECT_EQ(j.at("settings").at("batch_norm").num, 0);
  EXPECT_GT(j.at("validation_accuracy").num, 0.3);
  // Conv, ReLU, pool twice, then Flatten, Linear, ReLU, Linear: no buffers.
  EXPECT_EQ(entry_names("s.npz"),
            (std::vector<std::string>{"1.weight", "1.bias", "4.weight", "4.bias", "8.weight", "8.bias", "10.weight",
                                      "10.bias"}));
}

TEST_F(TrainCnn, BadOptionsExit2WithOneLine) {
  expect_one_line_error(run(kCnn, {"--loss", "hinge"}), 2, "train_cnn: ", "hinge");
  expect_one_line_error(run(kCnn, {"--dropout", "1"}), 2, "train_cnn: ", "--dropout");
  expect_one_line_error(run(kCnn, {"--batch-norm"}), 2, "train_cnn: ", "--batch-norm");
  const ProcessResult help = run(kCnn, {"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("usage: train_cnn", 0), 0u) << help.out;
}

}  // namespace
}  // namespace tapegrad
