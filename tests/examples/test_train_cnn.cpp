// Runs the built train_cnn as a subprocess on a small slice of Fashion-MNIST: a
// short run reports validation and test accuracy and writes its pictures; the
// batch-norm statistics are checkpointed with the parameters, so a run stopped
// and resumed ends bit-identical to one that was not; softmax and the net
// without batch norm run; bad options exit 2 with one stderr line.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/io/checkpoint.hpp>
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

// 512 training images in batches of 64, a validation set of 1000.
const std::vector<std::string> kQuick = {"--epochs", "1", "--limit", "512", "--batch-size", "64",
                                         "--validation", "1000", "--quiet"};

class TrainCnn : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kCnn) GTEST_SKIP() << "examples not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
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
  const ProcessResult r = ok(with(kQuick, {"--report", "r.json", "--out", "pictures"}));
  EXPECT_NE(r.out.find("validation accuracy "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test accuracy "), std::string::npos) << r.out;
  const Json j = JsonReader(read_file(path("r.json"))).parse();
  EXPECT_EQ(j.at("tool").str, "train_cnn");
  EXPECT_EQ(j.at("train_examples").num, 512);
  EXPECT_EQ(j.at("validation_examples").num, 1000);
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
  ok(with(kQuick, {"--checkpoint", "c.npz"}));
  EXPECT_EQ(entry_names("c.npz"), expected);
}

// The running statistics change every training step and decide every eval-mode
// output: a resumed run must restore them to end with the same bits.
TEST_F(TrainCnn, StoppedAndResumedEndsBitIdenticalWithItsBatchNormStatistics) {
  const std::vector<std::string> args = with(kQuick, {"--epochs", "2"});
  std::vector<std::string> straight = args, cut = args;
  straight.erase(straight.begin(), straight.begin() + 2);  // kQuick's --epochs 1 gives way to 2
  cut.erase(cut.begin(), cut.begin() + 2);
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
  ok(with(kQuick, {"--loss", "softmax", "--no-batch-norm", "--dropout", "0", "--report", "s.json", "--checkpoint",
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
