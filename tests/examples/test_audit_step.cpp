// --audit-step N of train_svm, train_mlp and train_cnn (examples/support/trainer.*):
// step N's audit prints a row for every record of the step with no FAIL, and the
// run carries on bit-identical to one without the option (report and checkpoint);
// N beyond the run, or before a resumed checkpoint, is a usage error naming it.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/idx.hpp>
#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;

#ifdef TAPEGRAD_TRAIN_CNN_PATH
const char* const kSvm = TAPEGRAD_TRAIN_SVM_PATH;
const char* const kMlp = TAPEGRAD_TRAIN_MLP_PATH;
const char* const kCnn = TAPEGRAD_TRAIN_CNN_PATH;
#else
const char* const kSvm = nullptr;  // examples not built: the tests skip
const char* const kMlp = nullptr;
const char* const kCnn = nullptr;
#endif

using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::with;

// The first n images and labels of a set as IDX files (as tests/examples/test_train_cnn.cpp):
// train_cnn evaluates its test set through the CNN, which 10,000 images make slow.
// An IDX file: a big-endian header (magic, extents), then bytes.
void write_idx(const std::string& path, std::uint32_t magic, const std::vector<std::uint32_t>& dims,
               const std::vector<unsigned char>& bytes) {
  std::ofstream f(path, std::ios::binary);
  const auto be32 = [&f](std::uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    f.write(b, 4);
  };
  be32(magic);
  for (std::uint32_t d : dims) be32(d);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The first n images and labels of a set as IDX files (as tests/examples/test_train_cnn.cpp
// does): train_cnn evaluates its test set through the CNN, which 10,000 images make slow.
void write_subset(const std::string& dir, const std::string& prefix, const Tensor<float>& images,
                  const IndexTensor& labels, std::size_t n) {
  std::vector<unsigned char> pixels(n * 784), classes(n);
  for (std::size_t k = 0; k < pixels.size(); ++k)
    pixels[k] = static_cast<unsigned char>(std::lround(images.data()[k] * 255.0f));
  for (std::size_t i = 0; i < n; ++i) classes[i] = static_cast<unsigned char>(labels(i));
  write_idx(dir + "/" + prefix + "-images-idx3-ubyte", 0x803, {std::uint32_t(n), 28, 28}, pixels);
  write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", 0x801, {std::uint32_t(n)}, classes);
}

const std::string& small_data() {
  static const std::string dir = [] {
    const std::string d = (fs::temp_directory_path() / ("tapegrad_audit_data_" + std::to_string(::getpid()))).string();
    fs::create_directories(d);
    const Dataset full = load_fashion_mnist();
    write_subset(d, "train", full.train_images, full.train_labels, 1200);
    write_subset(d, "t10k", full.test_images, full.test_labels, 200);
    return d;
  }();
  return dir;
}

// Tiny runs of 2 epochs of 4 steps: svm and mlp 256 rows in batches of 64, the CNN
// 64 rows in batches of 16.
std::vector<std::string> quick(const char* tool) {
  const bool cnn = tool == kCnn;
  std::vector<std::string> args{"--epochs", "2", "--limit", cnn ? "64" : "256", "--batch-size", cnn ? "16" : "64",
                                "--validation", "200", "--quiet", "--data", small_data()};
  if (tool == kMlp) args = with(args, {"--hidden", "16"});
  if (cnn) args = with(args, {"--threads", "1"});
  return args;
}

class AuditStep : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kCnn) GTEST_SKIP() << "examples not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (kCnn) fs::remove_all(small_data(), ec);
  }
  // Runs `tool` with and without --audit-step `step`, each with a report and a
  // checkpoint; expects the same results bit for bit and returns the audited run.
  ProcessResult audited_and_plain(const char* tool, const std::string& step, const std::vector<std::string>& more = {}) {
    const std::vector<std::string> args = with(quick(tool), more);
    const ProcessResult plain = run(tool, with(args, {"--report", "p.json", "--checkpoint", "p.npz"}));
    EXPECT_EQ(plain.code, 0) << plain.err;
    EXPECT_EQ(plain.out.find("audit"), std::string::npos);
    const ProcessResult audited =
        run(tool, with(args, {"--report", "a.json", "--checkpoint", "a.npz", "--audit-step", step, "--audit-samples", "3"}));
    EXPECT_EQ(audited.code, 0) << audited.err;
    EXPECT_EQ(without_timings("a.json"), without_timings("p.json"));
    const Checkpoint<float> a = read_checkpoint<float>(path("a.npz")), p = read_checkpoint<float>(path("p.npz"));
    EXPECT_EQ(a.params.size(), p.params.size());
    for (std::size_t k = 0; k < a.params.size() && k < p.params.size(); ++k)
      EXPECT_EQ(std::memcmp(a.params[k].value.data(), p.params[k].value.data(), a.params[k].value.size() * 4), 0)
          << a.params[k].name;
    // the accuracies printed are the plain run's, after the audit
    const auto accuracies = [](const std::string& out) {
      const std::size_t from = out.find("train accuracy");
      return from == std::string::npos ? out : out.substr(from, out.find(" epochs, ", from) - from);
    };
    EXPECT_EQ(accuracies(audited.out), accuracies(plain.out));
    EXPECT_LT(audited.out.find("audit of step"), audited.out.find("train accuracy"));
    return audited;
  }
};

// The op names of the printed table's rows, in order.
std::vector<std::string> ops_of(const std::string& out) {
  std::vector<std::string> ops;
  const std::size_t header = out.find("verdict\n");
  if (header == std::string::npos) return ops;
  std::size_t start = header + 8;
  for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = out.substr(start, end - start);
    if (line.find(" records: ") != std::string::npos) break;
    char op[64] = {};
    if (std::sscanf(line.c_str(), "%*u %63s", op) == 1) ops.push_back(op);
  }
  return ops;
}

TEST_F(AuditStep, SvmAuditsStep1AndTrainsTheSame) {
  const ProcessResult r = audited_and_plain(kSvm, "1");
  EXPECT_EQ(r.out.rfind("audit of step 1 (epoch 1, batch 1 of 4)", 0), 0u) << r.out;
  EXPECT_EQ(ops_of(r.out), (std::vector<std::string>{"matmul", "add", "multiclass_hinge"})) << r.out;
  EXPECT_NE(r.out.find("3 records: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", 0 FAIL, 0 inconclusive (3 elements per input"), std::string::npos) << r.out;
}

TEST_F(AuditStep, MlpAuditsAStepOfTheSecondEpochAndTrainsTheSame) {
  const ProcessResult r = audited_and_plain(kMlp, "6", {"--dropout", "0.2", "--loss", "weston-watkins"});
  EXPECT_EQ(r.out.rfind("audit of step 6 (epoch 2, batch 2 of 4)", 0), 0u) << r.out;
  EXPECT_EQ(ops_of(r.out),
            (std::vector<std::string>{"matmul", "add", "relu", "dropout", "matmul", "add", "multiclass_hinge"}))
      << r.out;
  EXPECT_NE(r.out.find(" 0 FAIL"), std::string::npos) << r.out;
}

TEST_F(AuditStep, CnnAuditsEveryRecordAndTrainsTheSame) {
  const ProcessResult r = audited_and_plain(kCnn, "2", {"--loss", "softmax"});
  EXPECT_EQ(ops_of(r.out), (std::vector<std::string>{"conv2d", "batch_norm", "relu", "max_pool2d", "conv2d",
                                                     "batch_norm", "relu", "max_pool2d", "flatten", "matmul", "add",
                                                     "relu", "dropout", "matmul", "add", "softmax_cross_entropy"}))
      << r.out;
  EXPECT_NE(r.out.find("16 records: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 0 FAIL"), std::string::npos) << r.out;
}

TEST_F(AuditStep, AStepOutsideTheRunIsAUsageError) {
  // 2 epochs of 4 steps: 8 steps, counted from 1
  expect_one_line_error(run(kSvm, with(quick(kSvm), {"--audit-step", "9"})), 2,
                        "train_svm: --audit-step 9 is beyond the run's 8 steps (2 epochs of 4 batches) (see "
                        "train_svm --help)\n");
  expect_one_line_error(run(kMlp, with(quick(kMlp), {"--audit-step", "-1"})), 2, "train_mlp: ", "--audit-step");
  expect_one_line_error(run(kCnn, {"--audit-samples", "0"}), 2, "train_cnn: ", "--audit-samples");
  ASSERT_EQ(run(kSvm, with(quick(kSvm), {"--checkpoint", "c.npz", "--stop-after", "1"})).code, 0);
  expect_one_line_error(run(kSvm, with(quick(kSvm), {"--checkpoint", "c.npz", "--resume", "--audit-step", "4"})), 2,
                        "train_svm: --audit-step 4 was taken before the checkpoint --resume continues from (4 "
                        "steps done) (see train_svm --help)\n");
  const ProcessResult r = run(kSvm, with(quick(kSvm), {"--checkpoint", "c.npz", "--resume", "--audit-step", "5"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\naudit of step 5 (epoch 2, batch 1 of 4)"), std::string::npos) << r.out;  // after "resumed ..."
}

}  // namespace
}  // namespace tapegrad
