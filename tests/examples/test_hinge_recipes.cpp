// Runs the built hinge_recipes tool and checks the numbers it prints: each recipe's
// loss and gradient beside multiclass_hinge's (fused and composed), where they agree
// and where they differ, and hinge_grad --check's verdict on each recipe's gradient.
// Expected values: by hand (the inputs are chosen so that every number is a short
// decimal) and with PyTorch 1.13 in double (the recipes written in torch: amax for
// reduce_max, whose gradient splits ties evenly like tf.reduce_max; multi_margin_loss
// times C for Weston–Watkins; the NumPy recipe as written, with non_zeros_count the
// number of margins > 0).
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::ProcessResult;

#ifdef TAPEGRAD_HINGE_RECIPES_PATH
const char* const kTool = TAPEGRAD_HINGE_RECIPES_PATH;
#else
const char* const kTool = nullptr;  // examples not built: the tests skip
#endif

class HingeRecipes : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kTool) GTEST_SKIP() << "hinge_recipes not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
    result_ = run(kTool, {});
    ASSERT_EQ(result_.code, 0) << result_.err;
    ASSERT_EQ(result_.err, "");
  }

  // The first line after `section` that starts with `prefix` ("" when there is none).
  std::string line(const std::string& section, const std::string& prefix) const {
    std::istringstream in(result_.out.substr(std::min(result_.out.find(section), result_.out.size())));
    std::string l;
    while (std::getline(in, l))
      if (l.rfind(prefix, 0) == 0) return l;
    ADD_FAILURE() << "no line starting '" << prefix << "' after '" << section << "' in\n" << result_.out;
    return "";
  }

  // The numbers in `text`: its tokens, without leading "(|" and trailing ",;:)", that
  // parse as numbers whole ("|" and words are skipped).
  static std::vector<double> numbers(const std::string& text) {
    std::istringstream in(text);
    std::vector<double> v;
    std::string token;
    while (in >> token) {
      while (!token.empty() && (token[0] == '(' || token[0] == '|')) token.erase(0, 1);
      while (!token.empty() && std::string(",;:)").find(token.back()) != std::string::npos) token.pop_back();
      char* end = nullptr;
      const double x = std::strtod(token.c_str(), &end);
      if (end != token.c_str() && *end == '\0') v.push_back(x);
    }
    return v;
  }
  // The loss and the gradient printed on a "  label  loss ...  grad ..." line.
  std::vector<double> loss(const std::string& section, const std::string& label) const {
    const std::string l = line(section, "  " + label + " ");
    const std::size_t a = l.find(" loss "), b = l.find(" grad ");
    return a == std::string::npos || b == std::string::npos ? std::vector<double>{} : numbers(l.substr(a + 6, b - a - 6));
  }
  std::vector<double> grad(const std::string& section, const std::string& label) const {
    const std::string l = line(section, "  " + label + " ");
    const std::size_t b = l.find(" grad ");
    return b == std::string::npos ? std::vector<double>{} : numbers(l.substr(b + 6));
  }
  bool has(const std::string& text) const { return result_.out.find(text) != std::string::npos; }

  ProcessResult result_;
};

using V = std::vector<double>;

TEST_F(HingeRecipes, HelpAndDeterminism) {
  const ProcessResult help = run(kTool, {"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("usage: hinge_recipes [options]", 0), 0u) << help.out;
  const ProcessResult bad = run(kTool, {"--seed", "1"});
  testing::expect_one_line_error(bad, 2, "hinge_recipes: unknown option '--seed'");
  EXPECT_EQ(run(kTool, {}).out, result_.out);  // the same bytes every run
}

// 1a: every row has a positive wrong score: the recipe is Crammer–Singer exactly.
// Rows: z = 0.3 − 1.2 + 1 = 0.1; 1.5 − 0.9 + 1 = 1.6; 0.2 − 2.1 + 1 < 0; 1.0 − 0.4 + 1 = 1.6;
// mean (0.1 + 1.6 + 0 + 1.6) / 4 = 0.825, each violated row ±1/4.
TEST_F(HingeRecipes, CrammerSingerRecipeAgreesWhenAWrongScoreIsPositive) {
  const V g{-0.25, 0.25, 0, 0, 0.25, -0.25, 0, 0, 0, 0, -0.25, 0.25};
  for (const char* label : {"recipe", "fused", "composed"}) {
    EXPECT_EQ(loss("1a.", label), V{0.825}) << label;
    EXPECT_EQ(grad("1a.", label), g) << label;
  }
  const V diffs = numbers(line("1a.", "  max |recipe - fused|:"));  // loss, grad; loss, grad
  ASSERT_EQ(diffs.size(), 4u);
  for (double d : diffs) EXPECT_LE(d, 1e-15);
}

// 1b: rows (−0.5, −1, −2) and (0.5, −1, −2), label 0. H = 0 instead of −1: the recipe's
// losses are 1 + 0.5 = 1.5 and 1 − 0.5 = 0.5 (mean 1), the right ones 0.5 and 0 (0.25).
// 1c: (−0.3, 0.5, 0), label 1: the 0 ties with the masked slot, class 2 gets ½.
TEST_F(HingeRecipes, CrammerSingerRecipeFailsOnNegativeWrongScoresAndSplitsAtZero) {
  EXPECT_EQ(loss("1b.", "recipe"), V{1});
  EXPECT_EQ(grad("1b.", "recipe"), (V{-0.5, 0, 0, -0.5, 0, 0}));
  for (const char* label : {"fused", "composed"}) {
    EXPECT_EQ(loss("1b.", label), V{0.25});
    EXPECT_EQ(grad("1b.", label), (V{-0.5, 0.5, 0, 0, 0, 0}));
  }
  EXPECT_EQ(loss("1c.", "recipe"), V{0.5});
  EXPECT_EQ(grad("1c.", "recipe"), (V{0, -1, 0.5}));
  EXPECT_EQ(loss("1c.", "fused"), V{0.5});
  EXPECT_EQ(grad("1c.", "fused"), (V{0, -1, 1}));
  EXPECT_TRUE(has("masking by multiplication puts 0, not -inf, in the true class's slot"));
  EXPECT_EQ(line("hinge_grad --check on recipe 1b", "    other:"),
            "    other: 2 entries match none of the usual slips; the worst, against the nearest right");
  EXPECT_EQ(line("hinge_grad --check on recipe 1b", "      [0, 1]"), "      [0, 1] = 0, right: 0.5");
}

// 2a: Weston–Watkins mean of the 1a scores is 1.3 (torch: multi_margin_loss · 3); the
// recipe's mean over N·C entries is 1.3 / 3. 2b: 2 sin(1 + 5i + j), y_i = 3i mod 5:
// Crammer–Singer 2.4067756728397933 and Weston–Watkins 5.138760659791957 (torch).
TEST_F(HingeRecipes, WestonWatkinsRecipeIsTheMeanOverNCEntries) {
  const V g{-0.25, 0.25, 0, 0.25, 0.25, -0.5, 0, 0, 0, 0.25, -0.5, 0.25};
  EXPECT_NEAR(loss("2a.", "recipe")[0], 1.3 / 3, 1e-6);
  const V third = grad("2a.", "recipe");
  ASSERT_EQ(third.size(), g.size());
  for (std::size_t k = 0; k < g.size(); ++k) EXPECT_NEAR(third[k], g[k] / 3, 1e-6);
  for (const char* label : {"recipe x 3", "fused", "composed"}) {
    EXPECT_EQ(loss("2a.", label), V{1.3}) << label;
    EXPECT_EQ(grad("2a.", label), g) << label;
  }
  const std::string r1 = line("2b.", "  recipe 1:"), r2 = line("2b.", "  recipe 2 times C:");
  EXPECT_NEAR(std::strtod(r1.c_str() + r1.find(" loss ") + 6, nullptr), 2.4067756728397933, 1e-14) << r1;
  EXPECT_NEAR(std::strtod(r2.c_str() + r2.find(" loss ") + 6, nullptr), 5.138760659791957, 1e-14) << r2;
  for (const std::string& l : {r1, r2}) {  // loss and grad against fused, then composed: round-off
    const V diffs = numbers(l.substr(l.find("max")));
    ASSERT_EQ(diffs.size(), 4u) << l;
    for (double d : diffs) EXPECT_LE(d, 1e-14) << l;
  }
  EXPECT_TRUE(has("    scale: every entry is 0.333333 times a right one: 1/C (C = 3): a mean over all N*C"));
}

// 3: X (4 x 5), W (5 x 3), labels 0 1 2 1. Margins (true slot 0): rows 0 and 1 are all
// negative, rows 2 and 3 all positive. dL/dW = Xᵀ·M / 4 (torch agrees exactly).
TEST_F(HingeRecipes, NumpyRecipeSumsNegativeMarginsAndHasXsShape) {
  EXPECT_EQ(numbers(line("3a.", "  margins with the true slot zeroed:")),
            (V{0, -1.75, -0.5, -0.5, 0, -0.25, 4.875, 3.875, 0, 0.75, 0, 2.5}));
  EXPECT_EQ(loss("3a.", "recipe"), (V{-2.25, -0.75, 8.75, 3.25}));
  EXPECT_EQ(loss("3a.", "fused"), (V{0, 0, 8.75, 3.25}));
  EXPECT_EQ(loss("3a.", "composed"), (V{0, 0, 8.75, 3.25}));
  EXPECT_EQ(grad("3a.", "fused"), (V{1, 4, -5, 1, -5, 4, 0.5, -1, 0.5, 1, 1, -2, 1.5, -1.5, 0}));
  EXPECT_EQ(numbers(line("3b.", "  the recipe's grad, shape (4, 5):")),
            (V{4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, -2, 0, 2, 1, -2, -4, 1, 0, 2}));  // "(4, 5)" first
  EXPECT_EQ(numbers(line("3b.", "  dL/dW, W's shape (5, 3), fused:")),
            (V{5, 3, 0.25, 1, -1.25, 0.25, -1.25, 1, 0.125, -0.25, 0.125, 0.25, 0.25, -0.5, 0.375, -0.375, 0}));
  EXPECT_EQ(numbers(line("3b.", "  the tape's gradient of the recipe's loss:")),
            (V{-0.25, 1.25, -1, 0.25, -1.625, 1.375, 0.875, -1, 0.125, -0.875, 1, -0.125, 0.625, -0.875, 0.25}));
  EXPECT_EQ(line("hinge_grad --check on the tape's gradient", "    unclamped-margins:"),
            "    unclamped-margins: 4 margins <= 0 are counted as violations (e.g. row 0, class 1:");
  EXPECT_EQ(line("hinge_grad --check on recipe 3's grad", "    shape:"),
            "    shape: dL/dW has W's shape (5, 3) (D x C), but this has X's shape (4, 5) (N x D): a");
}

}  // namespace
}  // namespace tapegrad
