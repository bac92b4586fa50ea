// Runs the built training examples as subprocesses on a small slice of
// Fashion-MNIST: a short train_svm run writes a valid JSON report with the
// documented keys and its pictures, the same seed gives the same numbers, bad
// options exit 2 and bad data exit 1, each with one stderr line. Quick smoke runs
// of train_mlp, gradient_audit and tape_graph check their outputs.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tapegrad/io/checkpoint.hpp>

#include "support/json_reader.hpp"
#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;

#ifdef TAPEGRAD_TRAIN_SVM_PATH
const char* const kSvm = TAPEGRAD_TRAIN_SVM_PATH;
const char* const kMlp = TAPEGRAD_TRAIN_MLP_PATH;
const char* const kAudit = TAPEGRAD_GRADIENT_AUDIT_PATH;
const char* const kGraph = TAPEGRAD_TAPE_GRAPH_PATH;
#else
const char* const kSvm = nullptr;  // examples not built: the tests skip
const char* const kMlp = nullptr;
const char* const kAudit = nullptr;
const char* const kGraph = nullptr;
#endif

using testing::expect_one_line_error;
using testing::Json;
using testing::JsonReader;
using testing::ProcessResult;
using testing::read_file;

class Train : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kSvm) GTEST_SKIP() << "examples not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
  }

  // A short train_svm run on the first `limit` training images; returns the report.
  Json train_svm(const std::string& report, std::vector<std::string> extra = {}, int limit = 3000) const {
    const ProcessResult r =
        run(kSvm, testing::with({"--epochs", "2", "--limit", std::to_string(limit), "--report", report}, extra));
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("test accuracy"), std::string::npos) << r.out;
    return JsonReader(read_file(path(report))).parse();
  }
};

bool is_png(const fs::path& p) {
  const std::string head = read_file(p).substr(0, 8);
  return head == std::string("\x89PNG\r\n\x1a\n", 8);
}

TEST_F(Train, SvmReportHasTheDocumentedKeysAndPictures) {
  const Json r = train_svm("report.json", {"--out", "pictures/nested"});
  ASSERT_EQ(r.kind, Json::object);
  for (const char* key : {"test_accuracy", "train_accuracy", "validation_accuracy", "epochs", "epoch_seconds", "loss",
                          "settings", "seed", "train_accuracy_per_epoch", "validation_accuracy_per_epoch"})
    EXPECT_TRUE(r.has(key)) << key;
  // The test set is evaluated once, at the end: no per-epoch test accuracy.
  EXPECT_FALSE(r.has("test_accuracy_per_epoch"));
  EXPECT_EQ(r.at("epochs").num, 2);
  EXPECT_EQ(r.at("seed").num, 0);
  // 3000 images, 2 epochs: far better than chance (0.1), short of the full run.
  EXPECT_GT(r.at("test_accuracy").num, 0.6);
  EXPECT_LE(r.at("test_accuracy").num, 1.0);
  EXPECT_GT(r.at("train_accuracy").num, 0.6);
  EXPECT_GT(r.at("validation_accuracy").num, 0.6);
  EXPECT_EQ(r.at("train_examples").num, 3000);
  EXPECT_EQ(r.at("validation_examples").num, 10000);  // the default: the last 10,000 training images
  EXPECT_EQ(r.at("test_examples").num, 10000);
  ASSERT_EQ(r.at("epoch_seconds").items.size(), 2u);
  ASSERT_EQ(r.at("loss").items.size(), 2u);
  for (const Json& t : r.at("epoch_seconds").items) EXPECT_GT(t.num, 0);
  // the hinge loss falls from epoch 1 to epoch 2 and is positive
  EXPECT_GT(r.at("loss").items[0].num, r.at("loss").items[1].num);
  EXPECT_GT(r.at("loss").items[1].num, 0);
  EXPECT_EQ(r.at("validation_accuracy_per_epoch").items.back().num, r.at("validation_accuracy").num);
  EXPECT_EQ(r.at("train_accuracy_per_epoch").items.back().num, r.at("train_accuracy").num);
  const Json& s = r.at("settings");
  EXPECT_EQ(s.at("loss").str, "crammer-singer");
  EXPECT_EQ(s.at("batch_size").num, 256);
  EXPECT_EQ(s.at("limit").num, 3000);
  EXPECT_EQ(s.at("validation").num, 10000);
  EXPECT_EQ(s.at("schedule").str, "cosine");
  for (const char* png : {"train_svm_loss.png", "train_svm_accuracy.png", "train_svm_templates.png"})
    EXPECT_TRUE(is_png(dir_ / "pictures/nested" / png)) << png;
  // atomic writes leave no temporary files behind
  for (const auto& e : fs::recursive_directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(Train, SvmSameSeedSameNumbersOtherSeedOtherNumbers) {
  const std::vector<std::string> extra = {"--loss", "weston-watkins", "--seed", "7", "--quiet"};
  train_svm("a.json", extra);
  train_svm("b.json", extra);
  const std::string a = without_timings("a.json"), b = without_timings("b.json");
  EXPECT_NE(a.find("\"loss\": ["), std::string::npos) << a;
  EXPECT_EQ(a, b);
  train_svm("c.json", {"--loss", "weston-watkins", "--seed", "8", "--quiet"});
  EXPECT_NE(a, without_timings("c.json"));
}

TEST_F(Train, SvmBadOptionsExit2WithOneLine) {
  struct Bad {
    std::vector<std::string> args;
    std::string mentions;  // what the one stderr line must name
  };
  const std::vector<Bad> bad = {{{"--epochs", "0"}, "--epochs"},
                                {{"--loss", "softmax"}, "softmax"},
                                {{"--bogus"}, "--bogus"},
                                {{"--lr", "abc"}, "abc"},
                                {{"--epochs"}, "needs a value"},
                                {{"stray"}, "stray"},
                                {{"--lr", "nan"}, "--lr"},
                                {{"--seed", "-1"}, "--seed"},
                                {{"--quiet=yes"}, "--quiet"},
                                {{"--batch-size", "1.5"}, "--batch-size"},
                                {{"--epochs", "2", "--epochs", "3"}, "twice"},
                                {{"--schedule", "linear"}, "linear"}};
  for (const Bad& b : bad) {
    const ProcessResult r = run(kSvm, testing::with({"--report", "r.json"}, b.args));
    expect_one_line_error(r, 2, "train_svm: ", b.mentions);
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(path("r.json"))) << b.mentions;
  }
}

TEST_F(Train, SvmBadDataExits1WithOneLine) {
  expect_one_line_error(run(kSvm, {"--data", path("missing")}), 1, "train_svm: ", "missing");
  fs::create_directories(path("bad"));
  std::ofstream(path("bad/train-images-idx3-ubyte")) << "not an idx file";
  const ProcessResult r = run(kSvm, {"--data", path("bad"), "--report", "r.json", "--quiet"});
  expect_one_line_error(r, 1, "train_svm: ", "bad");
  EXPECT_FALSE(fs::exists(path("r.json")));
}

// Output paths are checked before the data are loaded or any training is done.
TEST_F(Train, SvmUnusableOutputPathsExit1BeforeTraining) {
  fs::create_directories(path("a_dir"));
  expect_one_line_error(run(kSvm, {"--report", "a_dir"}), 1, "train_svm: ", "a_dir: is a directory");
  std::ofstream(path("a_file")) << "x";
  const ProcessResult r = run(kSvm, {"--out", "a_file/pictures"});
  expect_one_line_error(r, 1, "train_svm: ", "a_file/pictures");
  EXPECT_EQ(r.out, "");
}

TEST_F(Train, SvmHelpExits0) {
  const ProcessResult r = run(kSvm, {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: train_svm", 0), 0u) << r.out;
  for (const char* opt : {"--loss", "--seed", "--data", "--report", "--out", "--limit", "--schedule"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  EXPECT_EQ(r.err, "");
}

// --validation N holds out the last N of the 60,000 training images; 0 holds none
// out (no validation line, key or curve); one that leaves no training rows is a
// data error naming the option. The validation rows do not depend on --limit.
TEST_F(Train, SvmValidationSplit) {
  ProcessResult r = run(kSvm, {"--epochs", "1", "--limit", "2000", "--validation", "0", "--report", "none.json",
                               "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("validation"), std::string::npos) << r.out;
  const Json none = JsonReader(read_file(path("none.json"))).parse();
  EXPECT_FALSE(none.has("validation_accuracy"));
  EXPECT_FALSE(none.has("validation_accuracy_per_epoch"));
  EXPECT_EQ(none.at("validation_examples").num, 0);
  const Json a = train_svm("a.json", {"--validation", "5000", "--quiet"}, 2000);
  EXPECT_EQ(a.at("validation_examples").num, 5000);
  EXPECT_EQ(a.at("train_examples").num, 2000);
  // The same validation rows with more training rows: only the accuracy changes.
  const Json b = train_svm("b.json", {"--validation", "5000", "--quiet"}, 4000);
  EXPECT_EQ(b.at("validation_examples").num, 5000);
  EXPECT_NE(a.at("validation_accuracy").num, b.at("validation_accuracy").num);
  // Without --limit: 60,000 − N training rows.
  r = run(kSvm, {"--epochs", "1", "--validation", "59999", "--report", "tiny.json", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(JsonReader(read_file(path("tiny.json"))).parse().at("train_examples").num, 1);
  r = run(kSvm, {"--validation", "60000", "--report", "r.json"});
  expect_one_line_error(r, 1, "train_svm: --validation 60000 leaves no training rows (the training set has 60000)\n");
  EXPECT_FALSE(fs::exists(path("r.json")));
  expect_one_line_error(run(kSvm, {"--validation", "-1"}), 2, "train_svm: ", "--validation");
}

TEST_F(Train, MlpShortRunReports) {
  const ProcessResult r = run(kMlp, {"--epochs", "1", "--limit", "2000", "--batch-size", "32", "--hidden", "32",
                                     "--report", "m.json", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const Json j = JsonReader(read_file(path("m.json"))).parse();
  EXPECT_EQ(j.at("tool").str, "train_mlp");
  EXPECT_EQ(j.at("settings").at("hidden").str, "32");
  EXPECT_EQ(j.at("settings").at("activation").str, "relu");
  EXPECT_EQ(j.at("settings").at("dropout").num, 0);
  EXPECT_GT(j.at("test_accuracy").num, 0.6);
  EXPECT_GT(j.at("validation_accuracy").num, 0.6);
  EXPECT_EQ(j.at("loss").items.size(), 1u);
  for (const char* bad : {"0", "", "16,", ",16", "16,,8", "abc", "-4", "+4", "65537", "16x"})
    expect_one_line_error(run(kMlp, {"--hidden", bad}), 2, "train_mlp: ", "--hidden");
  expect_one_line_error(run(kMlp, {"--activation", "softplus"}), 2, "train_mlp: ", "softplus");
  expect_one_line_error(run(kMlp, {"--dropout", "1"}), 2, "train_mlp: ", "--dropout");
}

// Any depth, any of the four activations, dropout: the net is nn::Sequential,
// Linear - act [- Dropout] - ... - Linear, and the checkpoint names its layers.
TEST_F(Train, MlpDeeperNetsActivationsAndDropout) {
  for (const char* act : {"tanh", "sigmoid", "leaky_relu"}) {
    const ProcessResult r = run(kMlp, {"--epochs", "1", "--limit", "2000", "--batch-size", "32", "--hidden", "24,12",
                                       "--activation", act, "--dropout", "0.25", "--report", "d.json", "--checkpoint", "d.npz", "--quiet"});
    ASSERT_EQ(r.code, 0) << act << ": " << r.err;
    const Json j = JsonReader(read_file(path("d.json"))).parse();
    EXPECT_EQ(j.at("settings").at("activation").str, act);
    EXPECT_EQ(j.at("settings").at("hidden").str, "24,12");
    // 63 steps of a small net: well above chance (0.1; measured 0.42 sigmoid to 0.69 tanh).
    EXPECT_GT(j.at("validation_accuracy").num, 0.3) << act;
    const Checkpoint<float> c = read_checkpoint<float>(path("d.npz"));
    std::vector<std::string> names;
    for (const auto& p : c.params) names.push_back(p.name);
    // Linear, act, Dropout, Linear, act, Dropout, Linear: layers 0, 3 and 6.
    EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"}));
    EXPECT_EQ(c.params[2].value.shape(), (std::vector<std::size_t>{24, 12}));
  }
  // Dropout is seeded: the same run twice gives the same numbers; without it, others.
  const std::vector<std::string> args = {"--epochs", "1", "--limit", "2000", "--hidden", "32", "--quiet"};
  ASSERT_EQ(run(kMlp, testing::with(args, {"--dropout", "0.5", "--report", "a.json"})).code, 0);
  ASSERT_EQ(run(kMlp, testing::with(args, {"--dropout", "0.5", "--report", "b.json"})).code, 0);
  ASSERT_EQ(run(kMlp, testing::with(args, {"--report", "c.json"})).code, 0);
  EXPECT_EQ(without_timings("a.json"), without_timings("b.json"));
  const Json a = JsonReader(read_file(path("a.json"))).parse(), c = JsonReader(read_file(path("c.json"))).parse();
  EXPECT_NE(a.at("loss").items[0].num, c.at("loss").items[0].num);
}

TEST_F(Train, GradientAuditAgreesAndExplainsTheKink) {
  const ProcessResult r = run(kAudit, {"--synthetic"});
  ASSERT_EQ(r.code, 0) << r.err;
  // both hinge forms at the kink: naive, fused and tape identical; gradcheck skips
  std::size_t at = 0, count = 0;
  while ((at = r.out.find("naive == fused == tape bit for bit: yes", at)) != std::string::npos) ++count, ++at;
  EXPECT_EQ(count, 2u) << r.out;
  EXPECT_NE(r.out.find("2 skipped at kinks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slope from the right +1.000, from the left +0.000; central = mean +0.500"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("FAILED"), std::string::npos) << r.out;
}

TEST_F(Train, TapeGraphPrintsRecordsAndWritesDot) {
  const ProcessResult r = run(kGraph, {"--out", "g.dot"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("#3   matmul           (4, 5)     #0, #1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("multiclass_hinge ()"), std::string::npos) << r.out;
  const std::string dot = read_file(path("g.dot"));
  EXPECT_EQ(dot.rfind("digraph tape {", 0), 0u) << dot;
  EXPECT_NE(dot.find("n0 -> n3;"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n1 -> n3;"), std::string::npos) << dot;
}

// The exact one-line messages of unusable outputs (exit 1) and of a bad option
// (exit 2, pointing at --help), for each tool that has them.
TEST_F(Train, ToolErrorMessagesNameThePathAndTheReason) {
  std::ofstream(path("a_file")) << "x";
  struct Case {
    const char* tool;
    std::vector<std::string> args;
    int code;
    const char* err;  // the whole of stderr
  };
  const Case cases[] = {
      {kSvm, {"--out", "a_file/pictures"}, 1,
       "train_svm: a_file/pictures: cannot create the output directory: Not a directory\n"},
      {kSvm, {"--report", "a_file/r.json"}, 1,
       "train_svm: a_file: cannot create the output directory: Not a directory\n"},
      {kSvm, {"--epochs", "0"}, 2, "train_svm: --epochs must be in [1, 100000], not 0 (see train_svm --help)\n"},
      {kAudit, {"--bogus"}, 2, "gradient_audit: unknown option '--bogus' (see gradient_audit --help)\n"},
      {kGraph, {"--out", "no/such/g.dot"}, 1, "tape_graph: no/such/g.dot: cannot create: No such file or directory\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.err);
    const ProcessResult r = run(c.tool, c.args);
    EXPECT_EQ(r.code, c.code);
    EXPECT_EQ(r.err, c.err);
  }
  // With Graphviz on PATH, a DOT file named .svg would be overwritten by its own SVG.
  const ProcessResult svg = run(kGraph, {"--out", "g.svg"});
  if (svg.out.find("is not on PATH") == std::string::npos) {
    EXPECT_EQ(svg.code, 1);
    EXPECT_EQ(svg.err, "tape_graph: g.svg: name the DOT file something other than .svg\n");
  }
}

}  // namespace
}  // namespace tapegrad
