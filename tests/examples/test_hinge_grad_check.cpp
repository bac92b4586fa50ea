// hinge_grad --check (examples/hinge_grad.cpp, losses/hinge_check.hpp) run as a
// subprocess: its verdicts on small .npy files, the exit status (0 right, 1 wrong)
// and the report's lines. Its bad invocations (2 usage, 3 bad data) are rows of the
// table in tests/examples/test_hinge_grad.cpp.
#include <string>
#include <vector>

#include <tapegrad/io/npy.hpp>
#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::ProcessResult;

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
    // Row 0 (label 0): margins 2 and 0.5; row 1 (label 2): both negative.
    write_npy(path("S.npy"), Tensor<double>{{1, 2, 0.5}, {0.2, -1, 3}});
    write_npy(path("Y.npy"), IndexTensor{0, 2});
  }
  ProcessResult run(const std::vector<std::string>& args) const { return ToolTest::run(kTool, args); }
};

// The right gradient of the mean.
const Tensor<double> kRight{{-1, 0.5, 0.5}, {0, 0, 0}};
std::vector<std::string> checking(const std::vector<std::string>& extra) {
  return testing::with({"--scores", "S.npy", "--labels", "Y.npy", "--check", "C.npy"}, extra);
}

TEST_F(HingeGrad, CheckRightExits0WrongExits1) {
  write_npy(path("C.npy"), kRight);
  ProcessResult r = run(checking({}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "right: all 6 entries of dL/dscores (2, 3) are within atol 1e-08 + rtol 1e-05 of a valid gradient\n");
  EXPECT_EQ(r.err, "");
  write_npy(path("C.npy"), Tensor<double>(kRight * 2.0));  // the sum's gradient for the mean
  r = run(checking({}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("wrong: 3 of 6 entries of dL/dscores (2, 3) differ from every valid gradient", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nscale: every entry is 2 times a right one: a missing 1/N (N = 2)"), std::string::npos);
  EXPECT_NE(r.out.find("\n  [0, 0] = -2, right: -1\n"), std::string::npos) << r.out;
  // the right gradient in float32: converted, and float32's default tolerances
  write_npy(path("C.npy"), Tensor<float>(xt::cast<float>(kRight)));
  r = run(checking({"--reduction", "mean"}));
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("within atol 1e-06 + rtol 0.0001"), std::string::npos) << r.out;
  // --reduction sum: now the mean's gradient is 1/N of the right one
  write_npy(path("C.npy"), kRight);
  r = run(checking({"--reduction", "sum"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("scale: every entry is 0.5 times a right one: 1/N (N = 2)"), std::string::npos) << r.out;
}

TEST_F(HingeGrad, CheckTolerancesAndKinks) {
  Tensor<double> g = kRight;
  g(1, 1) = 1e-7;
  write_npy(path("C.npy"), g);
  EXPECT_EQ(run(checking({})).code, 1);
  const ProcessResult loose = run(checking({"--atol", "1e-6", "--rtol", "0"}));
  EXPECT_EQ(loose.code, 0) << loose.out;
  EXPECT_NE(loose.out.find("within atol 1e-06 + rtol 0 of"), std::string::npos) << loose.out;
  // Row 0 of (2, 1, 0), label 0: class 1's margin is exactly 0; α = 0.3 of its term is right.
  write_npy(path("S.npy"), Tensor<double>{{2, 1, 0}});
  write_npy(path("Y.npy"), IndexTensor{0});
  write_npy(path("C.npy"), Tensor<double>{{-0.3, 0.3, 0}});
  const ProcessResult r = run(checking({}));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\naccepted at a kink: [0, 1] = 0.3, margin exactly 0: alpha = 0.3 of the term (tapegrad: 0)"),
            std::string::npos) << r.out;
  write_npy(path("C.npy"), Tensor<double>{{-1.3, 1.3, 0}});  // α = 1.3 is outside [0, 1]
  EXPECT_EQ(run(checking({})).code, 1);
}

TEST_F(HingeGrad, CheckDlDwThroughX) {
  const Tensor<double> x{{1, 0, 2, 1}, {0, 1, 1, 1}};  // N x D = 2 x 4; dL/dW = Xᵀ·dL/dscores
  write_npy(path("X.npy"), x);
  Tensor<double> dw = xt::zeros<double>({4, 3});
  for (std::size_t k = 0; k < 4; ++k)
    for (std::size_t j = 0; j < 3; ++j) dw(k, j) = x(0, k) * kRight(0, j) + x(1, k) * kRight(1, j);
  write_npy(path("C.npy"), dw);
  ProcessResult r = run(checking({"--x", "X.npy"}));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("right: all 12 entries of dL/dW (4, 3)", 0), 0u) << r.out;
  write_npy(path("C.npy"), x);  // X's shape: the NumPy recipe's mix-up
  r = run(checking({"--x", "X.npy"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "wrong: dL/dW must have shape (4, 3), got (2, 4)\nshape: dL/dW has W's shape (4, 3) (D x C), "
                   "but this has X's shape (2, 4) (N x D): a gradient has one entry per weight, dL/dW = X^T . "
                   "dL/dscores\n");
}

}  // namespace
}  // namespace tapegrad
