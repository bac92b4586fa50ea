// Runs train_svm and train_mlp as subprocesses with --checkpoint: a run
// interrupted (by --stop-after, or by SIGKILL) and continued with --resume must
// end with the same bits as one that was never interrupted — parameters,
// optimizer state, history and report numbers — and a checkpoint that does not
// fit the run (another model, other shapes, another seed, a damaged file) is a
// one-line error naming the file, exit 1, with the file left as it was.
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <tapegrad/io/checkpoint.hpp>
#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;

#ifdef TAPEGRAD_TRAIN_SVM_PATH
const char* const kSvm = TAPEGRAD_TRAIN_SVM_PATH;
const char* const kMlp = TAPEGRAD_TRAIN_MLP_PATH;
#else
const char* const kSvm = nullptr;  // examples not built: the tests skip
const char* const kMlp = nullptr;
#endif

using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::read_file;
using testing::with;

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Everything two checkpoints must share bit for bit; the epoch_seconds series
// (timings) only in length.
void expect_same_training(const Checkpoint<float>& a, const Checkpoint<float>& b) {
  EXPECT_EQ(a.meta.model_name, b.meta.model_name);
  EXPECT_EQ(a.meta.epoch, b.meta.epoch);
  EXPECT_EQ(a.meta.seed, b.meta.seed);
  ASSERT_EQ(a.params.size(), b.params.size());
  for (std::size_t k = 0; k < a.params.size(); ++k) {
    EXPECT_EQ(a.params[k].name, b.params[k].name);
    EXPECT_TRUE(same_bits(a.params[k].value, b.params[k].value)) << "parameter " << a.params[k].name;
  }
  EXPECT_EQ(a.optimizer_name, b.optimizer_name);
  EXPECT_EQ(a.optimizer.steps, b.optimizer.steps);
  EXPECT_EQ(a.optimizer.group_sizes, b.optimizer.group_sizes);
  EXPECT_EQ(a.optimizer.lr, b.optimizer.lr);  // every group's
  ASSERT_EQ(a.optimizer.tensors.size(), b.optimizer.tensors.size());
  for (std::size_t k = 0; k < a.optimizer.tensors.size(); ++k)
    EXPECT_TRUE(same_bits(a.optimizer.tensors[k].value, b.optimizer.tensors[k].value))
        << "optimizer state " << a.optimizer.tensors[k].name;
  ASSERT_EQ(a.meta.series.size(), b.meta.series.size());
  for (std::size_t k = 0; k < a.meta.series.size(); ++k) {
    const CheckpointSeries &x = a.meta.series[k], &y = b.meta.series[k];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.values.size(), static_cast<std::size_t>(a.meta.epoch)) << x.name;
    if (x.name == "epoch_seconds")
      EXPECT_EQ(x.values.size(), y.values.size());
    else
      EXPECT_EQ(x.values, y.values) << x.name;  // exact doubles: loss and accuracies per epoch
  }
}

class Resume : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kSvm) GTEST_SKIP() << "examples not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
  }

  // Runs the tool and requires success.
  ProcessResult ok(const char* tool, const std::vector<std::string>& args) const {
    ProcessResult r = run(tool, args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r;
  }
  Checkpoint<float> checkpoint(const std::string& name) const { return read_checkpoint<float>(path(name)); }
};

const std::vector<std::string> kSvmArgs = {"--epochs", "3", "--limit", "3000", "--quiet"};

TEST_F(Resume, SvmInterruptedTwiceEndsBitIdentical) {
  ok(kSvm, with(kSvmArgs, {"--checkpoint", "straight.npz", "--report", "straight.json"}));
  // Stopped after epoch 1: a checkpoint of one epoch, no report.
  ProcessResult r = ok(kSvm, with(kSvmArgs, {"--checkpoint", "cut.npz", "--report", "cut.json", "--stop-after", "1"}));
  EXPECT_EQ(r.out, "stopped after epoch 1 of 3 (--stop-after); continue with --resume from cut.npz\n");
  EXPECT_FALSE(fs::exists(path("cut.json")));
  const Checkpoint<float> one = checkpoint("cut.npz");
  EXPECT_EQ(one.meta.epoch, 1);
  EXPECT_EQ(one.optimizer.steps, 12);  // ceil(3000 / 256) steps per epoch
  // Resumed, stopped again after epoch 2, resumed to the end.
  r = ok(kSvm, with(kSvmArgs, {"--checkpoint", "cut.npz", "--report", "cut.json", "--resume", "--stop-after", "2"}));
  EXPECT_EQ(r.out.rfind("resumed cut.npz after epoch 1 of 3\nstopped after epoch 2 of 3", 0), 0u) << r.out;
  r = ok(kSvm, with(kSvmArgs, {"--checkpoint", "cut.npz", "--report", "cut.json", "--resume"}));
  EXPECT_EQ(r.out.rfind("resumed cut.npz after epoch 2 of 3\ntrain accuracy ", 0), 0u) << r.out;

  const Checkpoint<float> a = checkpoint("straight.npz"), b = checkpoint("cut.npz");
  EXPECT_EQ(a.meta.epoch, 3);
  EXPECT_EQ(a.optimizer.steps, 36);
  // SGD in two groups: W with weight decay (the L2 term), b without.
  EXPECT_EQ(a.optimizer_name, "SGD");
  EXPECT_EQ(a.optimizer_params, (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(a.optimizer.group_sizes, (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(a.optimizer.lr.size(), 2u);
  expect_same_training(a, b);
  // The history carried over: epoch 1's time is the one the first run measured.
  EXPECT_EQ(b.meta.series.back().name, "epoch_seconds");
  EXPECT_EQ(b.meta.series.back().values[0], one.meta.series.back().values[0]);
  const std::string report = without_timings("straight.json");
  EXPECT_NE(report.find("\"validation_accuracy_per_epoch\": ["), std::string::npos) << report;
  EXPECT_EQ(without_timings("cut.json"), report);
}

TEST_F(Resume, MlpInterruptedEndsBitIdentical) {
  const std::vector<std::string> args = {"--epochs", "2", "--limit", "2000", "--hidden", "48", "--quiet"};
  ok(kMlp, with(args, {"--checkpoint", "straight.npz", "--report", "straight.json"}));
  ok(kMlp, with(args, {"--checkpoint", "cut.npz", "--stop-after", "1"}));
  EXPECT_EQ(checkpoint("cut.npz").meta.epoch, 1);
  ok(kMlp, with(args, {"--checkpoint", "cut.npz", "--report", "cut.json", "--resume"}));
  const Checkpoint<float> a = checkpoint("straight.npz"), b = checkpoint("cut.npz");
  // AdamW in two groups: the weights with decoupled decay, the biases without.
  EXPECT_EQ(a.optimizer_name, "AdamW");
  // nn::Sequential's names: Linear, ReLU, Linear.
  EXPECT_EQ(a.optimizer_params, (std::vector<std::string>{"0.weight", "2.weight", "0.bias", "2.bias"}));
  EXPECT_EQ(a.optimizer.group_sizes, (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(a.optimizer.tensors.size(), 8u);  // m and v of each weight and bias
  EXPECT_EQ(a.params[0].value.shape(), (std::vector<std::size_t>{784, 48}));
  expect_same_training(a, b);
  EXPECT_EQ(without_timings("cut.json"), without_timings("straight.json"));
}

// A real interruption: SIGKILL while training (and perhaps while saving), then
// --resume, against an uninterrupted run.
TEST_F(Resume, SvmKilledMidRunEndsBitIdentical) {
  const std::vector<std::string> args = {"--epochs", "6", "--limit", "20000", "--quiet", "--checkpoint"};
  const pid_t pid = spawn(kSvm, with(args, {"killed.npz"}), "killed");
  ASSERT_GT(pid, 0);
  std::int64_t at_kill = -1;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(15)) {
    if (fs::exists(path("killed.npz"))) {
      at_kill = checkpoint("killed.npz").meta.epoch;  // atomic replacement: always a whole file
      if (at_kill >= 1) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const ProcessResult killed = finish(pid, "killed");
  ASSERT_EQ(killed.code, -1) << "the run ended before it was killed: " << killed.out;
  const std::int64_t saved = checkpoint("killed.npz").meta.epoch;
  ASSERT_GE(saved, 1);
  ASSERT_LT(saved, 6);
  std::printf("[ kill test ] killed after epoch %lld of 6\n", static_cast<long long>(saved));
  const ProcessResult r = ok(kSvm, with(args, {"killed.npz", "--resume"}));
  EXPECT_EQ(r.out.rfind("resumed killed.npz after epoch " + std::to_string(saved) + " of 6\n", 0), 0u) << r.out;
  ok(kSvm, with(args, {"straight.npz"}));
  expect_same_training(checkpoint("straight.npz"), checkpoint("killed.npz"));
}

TEST_F(Resume, SameSeedGivesBitIdenticalCheckpointsOtherSeedDoesNot) {
  ok(kSvm, with(kSvmArgs, {"--checkpoint", "a.npz", "--seed", "5"}));
  ok(kSvm, with(kSvmArgs, {"--checkpoint", "b.npz", "--seed", "5"}));
  ok(kSvm, with(kSvmArgs, {"--checkpoint", "c.npz", "--seed", "6"}));
  const Checkpoint<float> a = checkpoint("a.npz"), b = checkpoint("b.npz"), c = checkpoint("c.npz");
  expect_same_training(a, b);
  EXPECT_EQ(a.meta.seed, 5u);
  EXPECT_FALSE(same_bits(a.params[0].value, c.params[0].value));  // W differs: the test can tell runs apart
  // Without the timings the files are identical byte for byte.
  for (const char* name : {"a.npz", "b.npz"}) {
    Parameter<float> w(Tensor<float>(xt::zeros<float>({784, 10})), "weight"),
        bias(Tensor<float>(xt::zeros<float>({10})), "bias");
    CheckpointMeta meta = load_checkpoint<float>(path(name), {&w, &bias}, nullptr, "train_svm");
    meta.series.pop_back();  // epoch_seconds
    save_checkpoint<float>(path(std::string(name) + ".untimed"), {&w, &bias}, nullptr, meta);
  }
  EXPECT_EQ(read_file(path("a.npz.untimed")), read_file(path("b.npz.untimed")));
}

TEST_F(Resume, MismatchedCheckpointsAreDataErrorsNamingTheFile) {
  ok(kSvm, with(kSvmArgs, {"--checkpoint", "svm.npz"}));
  const std::string svm = read_file(path("svm.npz"));
  const std::vector<std::string> mlp = {"--epochs", "2", "--limit", "2000", "--hidden", "16", "--quiet"};
  ProcessResult r = run(kMlp, with(mlp, {"--checkpoint", "svm.npz", "--resume"}));
  expect_one_line_error(r, 1, "train_mlp: load_checkpoint: svm.npz: the checkpoint is of model 'train_svm', not "
                              "'train_mlp'\n");
  EXPECT_EQ(r.out, "");
  // Other shapes: the hidden layer's width.
  ok(kMlp, with(mlp, {"--checkpoint", "mlp.npz", "--stop-after", "1"}));
  r = run(kMlp, {"--epochs", "2", "--limit", "2000", "--hidden", "24", "--quiet", "--checkpoint", "mlp.npz", "--resume"});
  expect_one_line_error(r, 1, "train_mlp: load_checkpoint: mlp.npz: parameter '0.weight' has shape (784, 16) in the "
                              "checkpoint but (784, 24) in the model\n");
  // Another seed, fewer epochs than saved, another batch size.
  r = run(kSvm, with(kSvmArgs, {"--checkpoint", "svm.npz", "--resume", "--seed", "3"}));
  expect_one_line_error(r, 1, "train_svm: --resume: svm.npz: saved by a run with --seed 0, this run has --seed 3\n");
  r = run(kSvm, {"--epochs", "2", "--limit", "3000", "--quiet", "--checkpoint", "svm.npz", "--resume"});
  expect_one_line_error(r, 1, "train_svm: --resume: svm.npz: holds 3 epochs, more than --epochs 2\n");
  r = run(kSvm, with(kSvmArgs, {"--checkpoint", "svm.npz", "--resume", "--validation", "0"}));
  expect_one_line_error(r, 1, "train_svm: --resume: svm.npz: saved by a run with a validation set, this run has "
                              "--validation 0\n");
  r = run(kSvm, with(kSvmArgs, {"--checkpoint", "svm.npz", "--resume", "--batch-size", "100"}));
  expect_one_line_error(r, 1, "train_svm: --resume: svm.npz: 36 optimizer steps after 3 epochs, but this run takes "
                              "30 steps per epoch (another --batch-size or --limit?)\n");
  // A damaged file.
  std::ofstream(path("cut.npz"), std::ios::binary) << svm.substr(0, svm.size() / 2);
  r = run(kSvm, with(kSvmArgs, {"--checkpoint", "cut.npz", "--resume"}));
  expect_one_line_error(r, 1, "train_svm: load_checkpoint: cut.npz: no ZIP end record");
  EXPECT_EQ(read_file(path("svm.npz")), svm);  // no failed resume touched the file
  // Usage: --resume needs a file to resume from (exit 2); a directory is not one (exit 1).
  expect_one_line_error(run(kSvm, {"--resume"}), 2, "train_svm: --resume needs --checkpoint FILE");
  fs::create_directories(path("a_dir"));
  expect_one_line_error(run(kSvm, {"--checkpoint", "a_dir"}), 1, "train_svm: a_dir: is a directory");
}

TEST_F(Resume, ResumeWithoutAFileStartsAfreshAndAFinishedRunOnlyReports) {
  ok(kSvm, with(kSvmArgs, {"--checkpoint", "a.npz", "--report", "a.json"}));
  ProcessResult r = ok(kSvm, with(kSvmArgs, {"--checkpoint", "b.npz", "--report", "b.json", "--resume"}));
  EXPECT_EQ(r.out.rfind("train accuracy ", 0), 0u) << r.out;  // nothing to resume: from epoch 0
  expect_same_training(checkpoint("a.npz"), checkpoint("b.npz"));
  const std::string before = read_file(path("a.npz"));
  r = ok(kSvm, with(kSvmArgs, {"--checkpoint", "a.npz", "--report", "again.json", "--resume"}));
  EXPECT_EQ(r.out.rfind("resumed a.npz after epoch 3 of 3\ntrain accuracy ", 0), 0u) << r.out;
  EXPECT_EQ(read_file(path("a.npz")), before);  // no epoch ran, nothing was saved
  EXPECT_EQ(without_timings("again.json"), without_timings("a.json"));
}

}  // namespace
}  // namespace tapegrad
