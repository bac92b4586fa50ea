// Runs the built hinge_grad tool as a subprocess on small .npy files and checks
// its stdout, stderr, exit status and the gradient file it writes (or must not).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tapegrad/io/npy.hpp>
#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::read_file;

#ifdef TAPEGRAD_HINGE_GRAD_PATH
const char* const kTool = TAPEGRAD_HINGE_GRAD_PATH;
#else
const char* const kTool = nullptr;  // examples not built: the tests skip
#endif

class HingeGrad : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kTool) GTEST_SKIP() << "hinge_grad not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
    // The running example: hand-computed values below refer to these.
    write_npy(path("S.npy"), Tensor<double>{{1, 2, 0.5}, {0.2, -1, 3}});
    write_npy(path("Y.npy"), IndexTensor{0, 2});
  }

  // Runs the tool with `args` (file names are relative to the test's directory).
  ProcessResult run(const std::vector<std::string>& args) const { return ToolTest::run(kTool, args); }

  // Runs a successful computation; returns the printed loss, and the gradient in g.
  double loss_and_grad(std::vector<std::string> args, Tensor<double>& g, const char* dtype = "<f8") const {
    for (const char* a : {"--out", "G.npy"}) args.push_back(a);
    const ProcessResult r = run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    const NpyArray a = read_npy(path("G.npy"));
    EXPECT_EQ(a.dtype, dtype);
    g = npy_to_tensor<double>(a);
    return std::strtod(r.out.c_str(), nullptr);
  }
};

const std::vector<std::string> kInputs = {"--scores", "S.npy", "--labels", "Y.npy"};
std::vector<std::string> with(const std::vector<std::string>& extra) { return testing::with(kInputs, extra); }

TEST_F(HingeGrad, HelpPrintsUsageOnStdout) {
  const ProcessResult r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: hinge_grad --scores S.npy --labels Y.npy --out G.npy", 0), 0u) << r.out;
  EXPECT_EQ(r.err, "");
}

// Row 0 (y = 0): margins 2 − 1 + 1 = 2 and 0.5 − 1 + 1 = 0.5, L = 2.5.
// Row 1 (y = 2): margins 0.2 − 3 + 1 < 0 and −1 − 3 + 1 < 0, L = 0. Mean 1.25.
TEST_F(HingeGrad, WestonWatkinsHandValues) {
  write_npy(path("S.npy"), Tensor<double>{{1, 2, 0.5}, {0.2, -1, 3}});
  const ProcessResult r = run(with({"--out", "G.npy"}));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "1.25\n");
  const NpyArray g = read_npy(path("G.npy"));
  EXPECT_EQ(g.dtype, "<f8");
  EXPECT_EQ(npy_to_tensor<double>(g), (Tensor<double>{{-1, 0.5, 0.5}, {0, 0, 0}}));
}

TEST_F(HingeGrad, SquaredHingeSummed) {
  Tensor<double> g;  // row 0: 2² + 0.5² = 4.25; d/ds = 2·margin: 4 and 1, −5 for the label
  EXPECT_EQ(loss_and_grad(with({"--p", "2", "--reduction", "sum"}), g), 4.25);
  EXPECT_EQ(g, (Tensor<double>{{-5, 4, 1}, {0, 0, 0}}));
}

TEST_F(HingeGrad, MarginExactlyZeroAddsNoLossNoGradient) {
  Tensor<double> g;  // --margin 0.5: row 0 margins 1.5 and exactly 0
  EXPECT_EQ(loss_and_grad(with({"--margin", "0.5", "--loss", "weston-watkins"}), g), 0.75);
  EXPECT_EQ(g, (Tensor<double>{{-0.5, 0.5, 0}, {0, 0, 0}}));
}

TEST_F(HingeGrad, CrammerSingerHandValuesAndTieSplit) {
  Tensor<double> g;  // row 0: max_{j≠0} s_j = 2, margin 2; row 1: 0.2 − 3 + 1 < 0
  EXPECT_EQ(loss_and_grad(with({"--loss", "crammer-singer"}), g), 1.0);
  EXPECT_EQ(g, (Tensor<double>{{-0.5, 0.5, 0}, {0, 0, 0}}));
  // A tie for the maximum splits its gradient evenly, on both paths.
  write_npy(path("S.npy"), Tensor<double>{{0, 1, 1}});
  write_npy(path("Y.npy"), IndexTensor{0});
  for (const char* p : {"fused", "composed"}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(loss_and_grad(with({"--loss", "crammer-singer", "--path", p}), g), 2.0);
    EXPECT_EQ(g, (Tensor<double>{{-1, 0.5, 0.5}}));
  }
}

TEST_F(HingeGrad, SoftmaxHandValues) {
  const double s[2][3] = {{1, 2, 0.5}, {0.2, -1, 3}};
  const int y[2] = {0, 2};
  double loss = 0;
  Tensor<double> expected(Shape{2, 3});
  for (int i = 0; i < 2; ++i) {
    const double z = std::exp(s[i][0]) + std::exp(s[i][1]) + std::exp(s[i][2]);
    loss += (std::log(z) - s[i][y[i]]) / 2;
    for (int j = 0; j < 3; ++j) expected(i, j) = (std::exp(s[i][j]) / z - (j == y[i])) / 2;
  }
  Tensor<double> g;
  EXPECT_NEAR(loss_and_grad(with({"--loss", "softmax"}), g), loss, 1e-15);
  EXPECT_TRUE(testing::all_close(g, expected, 1e-15, 1e-14));
}

TEST_F(HingeGrad, ClassWeightsScaleRows) {
  write_npy(path("W.npy"), Tensor<double>{2, 1, 1});
  Tensor<double> g;  // row 0 has label 0: its loss and gradient double
  EXPECT_EQ(loss_and_grad(with({"--weights", "W.npy", "--reduction", "sum"}), g), 5.0);
  EXPECT_EQ(g, (Tensor<double>{{-4, 2, 2}, {0, 0, 0}}));
  // Float32 weights are accepted for float64 scores (converted, exactly here).
  write_npy(path("W.npy"), Tensor<float>{2, 1, 1});
  EXPECT_EQ(loss_and_grad(with({"--weights", "W.npy", "--reduction", "sum", "--path", "composed"}), g), 5.0);
}

TEST_F(HingeGrad, Float32ScoresGiveFloat32GradientAndAnyIntegerLabels) {
  write_npy(path("S.npy"), Tensor<float>{{1, 2, 0.5f}, {0.2f, -1, 3}});
  NpyArray labels;  // uint8 labels
  labels.dtype = "|u1";
  labels.shape = {2};
  labels.data = {0, 2};
  write_npy(path("Y.npy"), labels);
  Tensor<double> g;
  EXPECT_EQ(loss_and_grad(with({}), g, "<f4"), 1.25);
  EXPECT_EQ(g, (Tensor<double>{{-1, 0.5, 0.5}, {0, 0, 0}}));
  // The softmax loss prints with 9 significant digits: the float round-trips.
  const ProcessResult r = run(with({"--loss", "softmax", "--out", "G.npy"}));
  EXPECT_EQ(r.code, 0) << r.err;
  const float printed = std::strtof(r.out.c_str(), nullptr);
  char again[32];
  std::snprintf(again, sizeof again, "%.9g\n", printed);
  EXPECT_EQ(r.out, again);
  EXPECT_GT(r.out.size(), 9u);
}

TEST_F(HingeGrad, FusedEqualsComposed) {
  write_npy(path("S.npy"), Tensor<double>(testing::random_tensor({7, 5}, 42, -2, 2)));
  write_npy(path("Y.npy"), IndexTensor{4, 0, 3, 1, 1, 2, 0});
  write_npy(path("W.npy"), Tensor<double>{0.5, 1, 2, 1.5, 1});
  for (const char* loss : {"weston-watkins", "crammer-singer", "softmax"})
    for (const char* p : {"1", "2"})
      for (const char* red : {"mean", "sum"})
        for (bool weighted : {false, true}) {
          if (std::string(loss) == "softmax" && std::string(p) == "2") continue;
          SCOPED_TRACE(std::string(loss) + " p=" + p + " " + red + (weighted ? " weighted" : ""));
          std::vector<std::string> args = with({"--loss", loss, "--reduction", red});
          if (std::string(loss) != "softmax") args.insert(args.end(), {"--p", p});
          if (weighted) args.insert(args.end(), {"--weights", "W.npy"});
          Tensor<double> gf, gc;
          args.insert(args.end(), {"--path", "fused"});
          const double lf = loss_and_grad(args, gf);
          args.back() = "composed";
          const double lc = loss_and_grad(args, gc);
          EXPECT_NEAR(lf, lc, 1e-13);
          EXPECT_GT(lf, 0.0);
          EXPECT_TRUE(testing::all_close(gf, gc, 1e-13, 1e-12));
        }
}

TEST_F(HingeGrad, FailureKeepsAnExistingOutputUntouched) {
  std::ofstream(path("G.npy")) << "precious";
  write_npy(path("Y.npy"), IndexTensor{0, 3});
  const ProcessResult r = run(with({"--out", "G.npy"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(read_file(path("G.npy")), "precious");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), {}), 3);  // S, Y, G: no temporary left
}

// --check's bad invocations (its verdicts: tests/examples/test_hinge_grad_check.cpp). The
// running example's right gradient (mean) is (−1, 0.5, 0.5), (0, 0, 0).
const Tensor<double> kRight{{-1, 0.5, 0.5}, {0, 0, 0}};
std::vector<std::string> checking(const std::vector<std::string>& extra) {
  return testing::with(with({"--check", "C.npy"}), extra);
}

// One bad invocation: what to set up, the arguments, the exit status and a part
// of the single stderr line.
struct BadCase {
  const char* name;
  std::vector<std::string> args;
  int code;
  const char* message;
  void (*setup)(const std::string& dir);
};

void no_setup(const std::string&) {}
template <class T>
void put(const std::string& file, const T& value) {
  write_npy(file, value);
}

const BadCase kBadCases[] = {
    {"MissingOut", with({}), 2, "missing required option --out", no_setup},
    {"MissingScores", {"--labels", "Y.npy", "--out", "G.npy"}, 2, "missing required option --scores", no_setup},
    {"UnknownOption", with({"--out", "G.npy", "--lr", "3"}), 2, "unknown option '--lr'", no_setup},
    {"StrayArgument", with({"--out", "G.npy", "extra"}), 2, "unexpected argument 'extra'", no_setup},
    {"OptionWithoutValue", with({"--out"}), 2, "option --out needs a value", no_setup},
    {"UnknownLoss", with({"--out", "G.npy", "--loss", "hinge"}), 2, "--loss must be", no_setup},
    {"PNotOneOrTwo", with({"--out", "G.npy", "--p", "3"}), 2, "--p must be 1 or 2, not '3'", no_setup},
    {"MarginNotANumber", with({"--out", "G.npy", "--margin", "1x"}), 2, "--margin must be a finite number", no_setup},
    {"MarginNotFinite", with({"--out", "G.npy", "--margin", "inf"}), 2, "--margin must be a finite number", no_setup},
    {"ReductionNone", with({"--out", "G.npy", "--reduction", "none"}), 2, "--reduction must be mean or sum", no_setup},
    {"SoftmaxWithP", with({"--out", "G.npy", "--loss", "softmax", "--p", "2"}), 2, "apply to the hinge losses",
     no_setup},
    {"Duplicate", with({"--out", "G.npy", "--out", "H.npy"}), 2, "option --out given twice", no_setup},
    {"ScoresMissing", with({"--out", "G.npy"}), 1, "S.npy: cannot open: No such file",
     [](const std::string& d) { std::filesystem::remove(d + "/S.npy"); }},
    {"ScoresTruncated", with({"--out", "G.npy"}), 1, "S.npy: truncated data",
     [](const std::string& d) { std::filesystem::resize_file(d + "/S.npy", 150); }},
    {"ScoresNotNpy", with({"--out", "G.npy"}), 1, "S.npy: not a .npy file",
     [](const std::string& d) { std::ofstream(d + "/S.npy") << "1,2,3\n4,5,6\n"; }},
    {"ScoresInteger", with({"--out", "G.npy"}), 1, "S.npy: scores must be float32 or float64, got dtype <i8",
     [](const std::string& d) { put(d + "/S.npy", IndexTensor{{1, 2}}); }},
    {"ScoresOneD", with({"--out", "G.npy"}), 1, "scores must be 2-D (N x C), got shape (3)",
     [](const std::string& d) { put(d + "/S.npy", Tensor<double>{1, 2, 3}); }},
    {"ScoresEmpty", with({"--out", "G.npy"}), 1, "S.npy: scores of shape (0, 3) are empty",
     [](const std::string& d) { put(d + "/S.npy", Tensor<double>(xt::zeros<double>({0, 3}))); }},
    {"ScoresNaN", with({"--out", "G.npy"}), 1, "S.npy: non-finite score nan at [1, 2]",
     [](const std::string& d) { put(d + "/S.npy", Tensor<double>{{1, 2, 0.5}, {0.2, -1, NAN}}); }},
    {"LabelsTooShort", with({"--out", "G.npy"}), 1, "labels must be 1-D of length 2 (the scores' rows), got shape (1)",
     [](const std::string& d) { put(d + "/Y.npy", IndexTensor{0}); }},
    {"LabelsTwoD", with({"--out", "G.npy"}), 1, "labels must be 1-D of length 2",
     [](const std::string& d) { put(d + "/Y.npy", IndexTensor{{0, 1}}); }},
    {"LabelOutOfRange", with({"--out", "G.npy"}), 1, "Y.npy: label 3 at row 1 is outside [0, 3)",
     [](const std::string& d) { put(d + "/Y.npy", IndexTensor{0, 3}); }},
    {"LabelNegative", with({"--out", "G.npy"}), 1, "label -1 at row 0 is outside [0, 3)",
     [](const std::string& d) { put(d + "/Y.npy", IndexTensor{-1, 0}); }},
    {"LabelsFloat", with({"--out", "G.npy"}), 1, "not integral",
     [](const std::string& d) { put(d + "/Y.npy", Tensor<double>{0, 2}); }},
    {"WeightsWrongLength", with({"--out", "G.npy", "--weights", "W.npy"}), 1,
     "W.npy: weights must be 1-D of length 3 (the classes), got shape (2)",
     [](const std::string& d) { put(d + "/W.npy", Tensor<double>{1, 2}); }},
    {"WeightsInfinite", with({"--out", "G.npy", "--weights", "W.npy"}), 1, "non-finite weight inf at [1]",
     [](const std::string& d) { put(d + "/W.npy", Tensor<double>{1, INFINITY, 1}); }},
    {"OutDirectoryMissing", with({"--out", "no/such/G.npy"}), 1, "no/such/G.npy: cannot create a temporary file",
     no_setup},
    {"CheckWithOut", checking({"--out", "G.npy"}), 2, "--out and --check exclude each other", no_setup},
    {"CheckWithPath", checking({"--path", "fused"}), 2, "--path chooses how a gradient is computed", no_setup},
    {"CheckSoftmax", checking({"--loss", "softmax"}), 2, "--check checks the hinge losses, not --loss softmax",
     no_setup},
    {"XWithoutCheck", with({"--out", "G.npy", "--x", "X.npy"}), 2, "--x applies to --check only", no_setup},
    {"AtolNegative", checking({"--atol", "-1"}), 2, "--atol must be in [0, ", no_setup},
    {"CheckFileMissing", checking({}), 3, "C.npy: cannot open: No such file", no_setup},
    {"CheckFileInteger", checking({}), 3, "C.npy: the gradient must be float32 or float64, got dtype <i8",
     [](const std::string& d) { put(d + "/C.npy", IndexTensor{{1, 2, 3}, {4, 5, 6}}); }},
    {"CheckFileNotNpy", checking({}), 3, "C.npy: not a .npy file",
     [](const std::string& d) { std::ofstream(d + "/C.npy") << "-1,0.5,0.5\n"; }},
    {"CheckScoresNaN", checking({}), 3, "S.npy: non-finite score nan at [1, 2]",
     [](const std::string& d) {
       put(d + "/S.npy", Tensor<double>{{1, 2, 0.5}, {0.2, -1, NAN}});
       put(d + "/C.npy", kRight);
     }},
    {"CheckXWrongRows", checking({"--x", "X.npy"}), 3, "X.npy: X must be 2-D with the scores' 2 rows (N x D), got shape (3, 2)",
     [](const std::string& d) {
       put(d + "/C.npy", kRight);
       put(d + "/X.npy", Tensor<double>(xt::zeros<double>({3, 2})));
     }},
};

class HingeGradBad : public HingeGrad, public ::testing::WithParamInterface<BadCase> {};

TEST_P(HingeGradBad, ExitsWithOneStderrLineAndNoOutput) {
  const BadCase& c = GetParam();
  c.setup(dir_.string());
  const ProcessResult r = run(c.args);
  testing::expect_one_line_error(r, c.code, "hinge_grad: ", c.message);
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(path("G.npy")));
  EXPECT_FALSE(fs::exists(path("H.npy")));
  for (const auto& entry : fs::recursive_directory_iterator(dir_))  // no stray temporary files
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

INSTANTIATE_TEST_SUITE_P(Cases, HingeGradBad, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tapegrad
