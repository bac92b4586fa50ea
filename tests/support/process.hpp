#pragma once
// Running a built example tool as a subprocess, for the tests in tests/examples:
// the tools are judged by what a user sees (exit status, stdout, stderr and the
// files they leave), so the tests run the real binaries rather than call their
// code. POSIX only (posix_spawn, waitpid).
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tapegrad::testing {

// What a finished tool left behind.
struct ProcessResult {
  int code = -1;  // the exit status; -1 when the tool did not exit (killed by a signal) or never ran
  std::string out, err;
};

// The file's bytes; "" when it cannot be read (a test then fails on the content).
std::string read_file(const std::filesystem::path& p);

// Starts `tool args...` with `cwd` as its working directory and stdout and stderr
// written to the files `out` and `err`, and returns at once, so that a test can
// act while the tool runs (watch its files, kill it). Returns the process id, or
// -1 after recording a test failure when the tool cannot be started.
pid_t spawn_tool(const char* tool, const std::vector<std::string>& args, const std::filesystem::path& cwd,
                 const std::filesystem::path& out, const std::filesystem::path& err);

// Waits for a process from spawn_tool, reads what it wrote to `out` and `err`
// and removes those files. A pid of -1 (the spawn failed, already a test
// failure) gives the default result.
ProcessResult finish_tool(pid_t pid, const std::filesystem::path& out, const std::filesystem::path& err);

// The argument list `args` followed by `more`.
std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more);

// The tools' error contract: exit status `code` and exactly one line on stderr
// (one newline, at the end), starting with `line_start` (the tool's name, or
// more of the message) and containing `mentions` ("" for nothing more).
void expect_one_line_error(const ProcessResult& r, int code, const std::string& line_start,
                           const std::string& mentions = "");

// A fixture for tests that run tools: each test gets a fresh, empty directory of
// its own (named after the test and the process id, so parallel ctest processes
// never share one), the tools run inside it so that relative file names in their
// arguments land there, and it is removed after the test. A derived SetUp that
// may skip the test (tools not built) calls ToolTest::SetUp after that check.
class ToolTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The name of the file `name` inside the test's directory.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `tool args...` in the test's directory and waits for it. The output is
  // captured in files that are removed again, so a test may count what the tool
  // left in the directory.
  ProcessResult run(const char* tool, const std::vector<std::string>& args) const;

  // The two halves of run, for a test that acts while the tool runs: stdout and
  // stderr go to `tag`.out and `tag`.err in the test's directory, which finish
  // reads and removes.
  pid_t spawn(const char* tool, const std::vector<std::string>& args, const std::string& tag) const;
  ProcessResult finish(pid_t pid, const std::string& tag) const;

  // The JSON report `file` in the test's directory without its timing lines
  // (keys ending in "seconds"), which differ between otherwise identical runs.
  std::string without_timings(const std::string& file) const;

  std::filesystem::path dir_;
};

}  // namespace tapegrad::testing
