// Runs the built backprop_by_hand tool and checks its table: every hand gradient's row
// (name, shape, exact, approx, maxdiff) in double and float, that integer data (where
// every sum is exact and kinks are hit) makes every row exact, that each --mistake
// breaks exactly the rows downstream of it (exit 1, one stderr line naming them), and
// that a bad option is a usage error (exit 2).
#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::ProcessResult;

#ifdef TAPEGRAD_BACKPROP_BY_HAND_PATH
const char* const kTool = TAPEGRAD_BACKPROP_BY_HAND_PATH;
#else
const char* const kTool = nullptr;  // examples not built: the tests skip
#endif

struct TableRow {
  std::string shape, exact, approx;
  double maxdiff = -1;
};

// The table rows of the tool's output, by gradient name ("dx composed" is one name).
std::map<std::string, TableRow> table(const std::string& out) {
  std::map<std::string, TableRow> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 17 || line.rfind("gradient", 0) == 0) continue;
    std::string name = line.substr(0, 16);
    name.erase(name.find_last_not_of(' ') + 1);
    std::istringstream rest(line.substr(17));
    TableRow r;
    // The shape holds spaces: "(8, 4)" runs to its ')'.
    std::string tok;
    while (rest >> tok) {
      r.shape += (r.shape.empty() ? "" : " ") + tok;
      if (tok.back() == ')') break;
    }
    if (r.shape.empty() || r.shape[0] != '(') continue;
    std::string maxdiff;
    rest >> r.exact >> r.approx >> maxdiff;
    if (r.exact != "yes" && r.exact != "no") continue;
    r.maxdiff = std::strtod(maxdiff.c_str(), nullptr);
    rows[name] = r;
  }
  return rows;
}

class BackpropByHand : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kTool) GTEST_SKIP() << "backprop_by_hand not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
  }
};

const std::vector<std::string> kMlp = {"L", "ds", "dW2", "db2", "da", "dh", "dW1", "db1"};
const std::vector<std::string> kNorm = {"dx composed", "dgamma composed", "dbeta composed",
                                        "dx fused",    "dgamma fused",    "dbeta fused"};

TEST_F(BackpropByHand, EveryHandGradientAgreesWithTheTapeInDouble) {
  const ProcessResult r = run(kTool, {});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(r.err, "");
  const auto rows = table(r.out);
  ASSERT_EQ(rows.size(), kMlp.size() + kNorm.size()) << r.out;
  const std::map<std::string, std::string> shapes = {
      {"L", "()"},          {"ds", "(8, 4)"},          {"dW2", "(6, 4)"},         {"db2", "(4)"},
      {"da", "(8, 6)"},     {"dh", "(8, 6)"},          {"dW1", "(5, 6)"},         {"db1", "(6)"},
      {"dx composed", "(8, 6)"}, {"dgamma composed", "(6)"}, {"dbeta composed", "(6)"},
      {"dx fused", "(8, 6)"},    {"dgamma fused", "(6)"},    {"dbeta fused", "(6)"}};
  for (const auto& [name, shape] : shapes) {
    SCOPED_TRACE(name);
    ASSERT_EQ(rows.count(name), 1u) << r.out;
    const TableRow& row = rows.at(name);
    EXPECT_EQ(row.shape, shape);
    EXPECT_EQ(row.approx, "yes");
    // exact means maxdiff 0; approx in double is within 1e-10 of the scale (these are O(1)).
    EXPECT_EQ(row.exact == "yes", row.maxdiff == 0) << row.maxdiff;
    EXPECT_LE(row.maxdiff, 1e-13);
  }
  // The hinge's gradient is counts/8 on both sides, and Σ over rows is the same sum:
  // exact. The loss's mean is summed in another order: round-off only.
  EXPECT_EQ(rows.at("ds").exact, "yes");
  EXPECT_EQ(rows.at("db2").exact, "yes");
  EXPECT_EQ(rows.at("dbeta composed").exact, "yes");
  EXPECT_NE(r.out.find("all 14 hand gradients agree with the tape's"), std::string::npos) << r.out;
}

TEST_F(BackpropByHand, FloatRowsAreApproxWithinFloatRoundOff) {
  const ProcessResult r = run(kTool, {"--dtype", "float", "--seed", "3"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("backprop_by_hand in float, seed 3"), std::string::npos) << r.out;
  const auto rows = table(r.out);
  ASSERT_EQ(rows.size(), 14u) << r.out;
  double worst = 0;
  for (const auto& [name, row] : rows) {
    EXPECT_EQ(row.approx, "yes") << name;
    worst = std::max(worst, row.maxdiff);
  }
  // Float's round-off, not double's: some row differs, by a few float ulps of O(1).
  EXPECT_GT(worst, 1e-9);
  EXPECT_LT(worst, 1e-5);
}

TEST_F(BackpropByHand, IntegerDataHitsKinksAndEveryNetRowIsExact) {
  const ProcessResult r = run(kTool, {"--integers"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  // Seed 0's integer data: 6 relu inputs and 1 margin exactly 0, where the hand
  // formulas ([h > 0], [m > 0]) and the tape take the same subgradient.
  EXPECT_NE(r.out.find("relu inputs 6, margins 1"), std::string::npos) << r.out;
  const auto rows = table(r.out);
  for (const std::string& name : kMlp) {
    ASSERT_EQ(rows.count(name), 1u) << name;
    EXPECT_EQ(rows.at(name).exact, "yes") << name;
  }
}

TEST_F(BackpropByHand, EachMistakeBreaksTheRowsDownstreamOfIt) {
  struct Case {
    std::string mistake;
    std::vector<std::string> broken;
  };
  const Case cases[] = {
      {"no-mean", {"ds", "dW2", "db2", "da", "dh", "dW1", "db1"}},
      {"no-relu-mask", {"dh", "dW1", "db1"}},
      {"bn-no-xhat", {"dx composed", "dx fused"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mistake);
    const ProcessResult r = run(kTool, {"--mistake", c.mistake});
    EXPECT_EQ(r.code, 1);
    std::string names;
    for (const std::string& n : c.broken) names += (names.empty() ? "" : ", ") + n;
    EXPECT_EQ(r.err, "backprop_by_hand: " + std::to_string(c.broken.size()) +
                         " of 14 hand gradients differ from the tape's: " + names + "\n");
    const auto rows = table(r.out);
    ASSERT_EQ(rows.size(), 14u) << r.out;
    for (const auto& [name, row] : rows) {
      const bool broken = std::find(c.broken.begin(), c.broken.end(), name) != c.broken.end();
      EXPECT_EQ(row.approx, broken ? "no" : "yes") << name;
      if (broken) EXPECT_GT(row.maxdiff, 0.1) << name;
    }
  }
}

TEST_F(BackpropByHand, BadOptionsAreUsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"}, {"--dtype", "half"}, {"--examples", "1"}, {"--mistake", "typo"}}) {
    const ProcessResult r = run(kTool, args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_EQ(r.out, "");
    testing::expect_one_line_error(r, 2, "backprop_by_hand: ", "(see backprop_by_hand --help)");
  }
  const ProcessResult help = run(kTool, {"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--mistake"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace tapegrad
