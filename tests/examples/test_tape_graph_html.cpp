// tape_graph --html FILE: the page is self-contained (nothing fetched), written
// atomically, and opens in headless Chromium without a console message or a JS error,
// with a node for every record of the tape and each node's panel showing its record
// when clicked (the page's #selftest). Chromium prints the DOM after the load
// (--dump-dom), where the page's script has written what it checked into #status's
// data-* attributes, and its console to stderr (--enable-logging=stderr). Without
// Chromium the browser tests skip, saying so. TheBrowserCheckCatchesBrokenPages shows
// that the check fails on a page missing a node, raising an error or logging one.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::ProcessResult;
using testing::read_file;

#ifdef TAPEGRAD_TAPE_GRAPH_PATH
const char* const kTool = TAPEGRAD_TAPE_GRAPH_PATH;
#else
const char* const kTool = nullptr;  // examples not built: the tests skip
#endif

// The first executable `name` on PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = (end > start ? dirs.substr(start, end - start) : ".") + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// The value of attribute `name` in the element with id="status" of `dom`; "?" when absent.
std::string status_attribute(const std::string& dom, const std::string& name) {
  const std::size_t at = dom.find("id=\"status\"");
  if (at == std::string::npos) return "?";
  const std::size_t open = dom.rfind('<', at), close = dom.find('>', at);
  const std::string tag = dom.substr(open, close - open);
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : "?";
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class TapeGraphHtml : public testing::ToolTest {
 protected:
  void SetUp() override {
    if (!kTool) GTEST_SKIP() << "tape_graph not built (TAPEGRAD_BUILD_EXAMPLES=OFF)";
    ToolTest::SetUp();
    chromium_ = find_on_path("chromium");
    timeout_ = find_on_path("timeout");
  }
  bool have_chromium() const { return !chromium_.empty() && !timeout_.empty(); }

  // Writes the page with tape_graph `args` --html `file`; returns the record count it printed.
  std::size_t write_page(const std::string& file, std::vector<std::string> args) {
    args.insert(args.end(), {"--html", file});
    const ProcessResult r = run(kTool, args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote " + file + "\n"), std::string::npos) << r.out;
    std::smatch m;
    const std::regex re(", ([0-9]+) records\n");
    if (!std::regex_search(r.out, m, re)) ADD_FAILURE() << "no record count in\n" << r.out;
    return m.empty() ? 0 : std::stoul(m[1].str());
  }

  // Opens the page in headless Chromium with #selftest and returns what is wrong with
  // it (empty: it loaded, drew and checked a node for each of `records`, no errors).
  std::vector<std::string> open_page(const std::string& file, std::size_t records) {
    const std::string profile = path("chromium-profile-" + std::to_string(++opened_));
    const std::string url = "file://" + std::filesystem::absolute(path(file)).string() + "#selftest";
    const ProcessResult r = run(timeout_.c_str(),
                                {"120", chromium_, "--headless", "--no-sandbox", "--disable-gpu",
                                 "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                                 "--disable-background-networking", "--user-data-dir=" + profile,
                                 "--enable-logging=stderr", "--v=0", "--dump-dom", url});
    std::filesystem::remove_all(profile);
    std::vector<std::string> problems;
    if (r.code != 0) problems.push_back("chromium exited " + std::to_string(r.code) + ": " + r.err);
    const std::string n = std::to_string(records);
    const auto expect = [&](const std::string& name, const std::string& want) {
      const std::string got = status_attribute(r.out, name);
      if (got != want) problems.push_back(name + " is '" + got + "', not '" + want + "'");
    };
    expect("data-ready", "yes");  // the script ran to its end
    expect("data-records", n);
    expect("data-rendered", n);
    expect("data-missing", "");
    expect("data-clicked", n);
    expect("data-click-failures", "");
    expect("data-errors", "0");
    if (count_of(r.out, "<g class=\"node ") != records)
      problems.push_back(std::to_string(count_of(r.out, "<g class=\"node ")) + " nodes in the DOM, not " + n);
    for (std::size_t id = 0; id < records; ++id)
      if (r.out.find("id=\"node-" + std::to_string(id) + "\"") == std::string::npos)
        problems.push_back("no node for record #" + std::to_string(id));
    // The page writes nothing to the console when it is well: any message is a problem.
    std::istringstream log(r.err);
    for (std::string line; std::getline(log, line);)
      if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
        problems.push_back("console: " + line);
    return problems;
  }

  static std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& p : v) s += p + "\n";
    return s;
  }

  std::string chromium_, timeout_;
  int opened_ = 0;
};

TEST_F(TapeGraphHtml, PageIsSelfContainedAndWrittenAtomically) {
  const std::size_t records = write_page("page.html", {});
  EXPECT_EQ(records, 11u);  // X, W1, b1, matmul, add, relu, W2, b2, matmul, add, the hinge
  const std::string html = read_file(path("page.html"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>\n"), std::string::npos);
  // Nothing from elsewhere: no URL scheme, no src, no linked style sheet or font,
  // no url() but the SVG's own arrow marker.
  for (const char* banned : {"://", "src=", "<link", "@import", "@font-face", "<img", "<iframe"})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  EXPECT_EQ(count_of(html, "url("), count_of(html, "url(#arrow)"));
  for (std::size_t id = 0; id < records; ++id)
    EXPECT_NE(html.find("{\"id\":" + std::to_string(id) + ",\"op\":"), std::string::npos) << id;
  // Per record: statistics of the value and, where one reached it, of the gradient.
  EXPECT_NE(html.find("\"op\":\"relu\",\"name\":\"\",\"kind\":\"op\",\"shape\":[4,5]"), std::string::npos);
  EXPECT_NE(html.find("\"kinks_what\":\"inputs exactly 0, where relu'(0) = 0 by convention\""), std::string::npos);
  EXPECT_NE(html.find("\"kinks_what\":\"margins (s_j - s_y) + 1 exactly 0"), std::string::npos);
  EXPECT_NE(html.find("\"op\":\"watch\",\"name\":\"W1\""), std::string::npos);
  // Ties, on 9 examples with Crammer-Singer: row 1's hidden units are all cut by relu,
  // so its scores are b2 = (0, 0, 0) and its two wrong classes (label 1) tie. The
  // composed loss's max reduction counts it over the axis its shapes show, (9, 2) ->
  // (9, 1); the fused loss's count comes from tape_graph, which knows the labels.
  EXPECT_EQ(write_page("cs.html", {"--composed", "--loss", "crammer-singer", "--examples", "9"}), 19u);
  EXPECT_NE(read_file(path("cs.html")).find("\"ties\":1,\"ties_what\":\"outputs whose max two or more entries share"),
            std::string::npos);
  EXPECT_EQ(write_page("cs.html", {"--loss", "crammer-singer", "--examples", "9"}), 11u);
  EXPECT_NE(read_file(path("cs.html")).find("\"ties\":1,\"ties_what\":\"rows whose largest wrong-class score is shared"),
            std::string::npos);
  std::filesystem::remove(path("cs.html"));
  // Only the page is left in the directory (no temporary file).
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);

  // An unwritable target: the one-line error, exit 1, and no file left behind.
  const ProcessResult bad = run(kTool, {"--html", "no/such/page.html"});
  testing::expect_one_line_error(bad, 1, "tape_graph: no/such/page.html: cannot create");
  EXPECT_FALSE(std::filesystem::exists(path("no")));
}

TEST_F(TapeGraphHtml, LoadsInChromiumWithoutErrorsAndShowsEveryRecord) {
  if (!have_chromium()) GTEST_SKIP() << "chromium (or timeout) is not on PATH: the page was not opened in a browser";
  struct Case {
    std::vector<std::string> args;
    std::size_t records;
  };
  // The composed losses add gather, one_hot, sub, add_scalar, relu, sum, mean, and
  // rsub_scalar and mul (Weston-Watkins) or a second gather and max (Crammer-Singer).
  for (const Case& c : {Case{{}, 11}, Case{{"--composed"}, 19},
                        Case{{"--composed", "--loss", "crammer-singer", "--examples", "9"}, 19}}) {
    SCOPED_TRACE(c.args.empty() ? "fused" : c.args.back());
    const std::size_t records = write_page("page.html", c.args);
    EXPECT_EQ(records, c.records);
    const std::vector<std::string> problems = open_page("page.html", records);
    EXPECT_TRUE(problems.empty()) << joined(problems);
  }
}

// The check above can fail: a page without one node, with a script error, with a
// console.error, or whose script never ran, each gives problems.
TEST_F(TapeGraphHtml, TheBrowserCheckCatchesBrokenPages) {
  if (!have_chromium()) GTEST_SKIP() << "chromium (or timeout) is not on PATH: the page was not opened in a browser";
  const std::size_t records = write_page("page.html", {});
  const std::string html = read_file(path("page.html"));
  const std::size_t node = html.find("<g class=\"node op\" id=\"node-5\"");
  ASSERT_NE(node, std::string::npos);
  const std::size_t node_end = html.find("</g>\n", node) + 5;
  const std::size_t body_end = html.rfind("</body>");
  const std::size_t script = html.rfind("<script>\n");
  struct Broken {
    const char* what;
    std::string page;
    const char* mentions;  // in one of the problems
  };
  const Broken broken[] = {
      {"a missing node", html.substr(0, node) + html.substr(node_end), "#5"},
      {"an uncaught error", html.substr(0, body_end) + "<script>undefinedFunction();</script>\n" + html.substr(body_end),
       "Uncaught ReferenceError"},
      {"a console.error", html.substr(0, body_end) + "<script>console.error('bad');</script>\n" + html.substr(body_end),
       "data-errors"},
      {"a syntax error in the page's script", html.substr(0, script + 9) + "}" + html.substr(script + 9), "data-ready"},
  };
  for (const Broken& b : broken) {
    SCOPED_TRACE(b.what);
    std::ofstream(path("broken.html")) << b.page;
    const std::vector<std::string> problems = open_page("broken.html", records);
    EXPECT_FALSE(problems.empty());
    EXPECT_NE(joined(problems).find(b.mentions), std::string::npos) << joined(problems);
  }
}

}  // namespace
}  // namespace tapegrad
