#include "support/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace tapegrad::testing {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t spawn_tool(const char* tool, const std::vector<std::string>& args, const fs::path& cwd, const fs::path& out,
                 const fs::path& err) {
  std::vector<std::string> full = {tool};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Absolute names: the files are opened in the child, after the directory change.
  const std::string out_name = fs::absolute(out).string(), err_name = fs::absolute(err).string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The child inherits the working directory at the spawn; the tests run one at a
  // time in a process, so switching ours for the moment of the spawn is safe.
  const fs::path before = fs::current_path();
  fs::current_path(cwd);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, tool, &actions, nullptr, argv.data(), environ);
  fs::current_path(before);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot run " << tool << ": " << std::strerror(spawned);
    return -1;
  }
  return pid;
}

ProcessResult finish_tool(pid_t pid, const fs::path& out, const fs::path& err) {
  ProcessResult r;
  if (pid < 0) return r;
  int status = 0;
  pid_t waited = 0;
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited != pid) {
    ADD_FAILURE() << "cannot wait for process " << pid << ": " << std::strerror(errno);
    return r;
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

void expect_one_line_error(const ProcessResult& r, int code, const std::string& line_start,
                           const std::string& mentions) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_EQ(r.err.rfind(line_start, 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << r.err;
  if (!mentions.empty()) EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
}

void ToolTest::SetUp() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  // Parameterized suites and tests have '/' in their names.
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  dir_ = fs::path(::testing::TempDir()) / ("tapegrad_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir_);  // left by a crashed earlier run with the same pid
  fs::create_directories(dir_);
}

void ToolTest::TearDown() {
  if (!dir_.empty()) fs::remove_all(dir_);
}

ProcessResult ToolTest::run(const char* tool, const std::vector<std::string>& args) const {
  return finish(spawn(tool, args, "run"), "run");
}

pid_t ToolTest::spawn(const char* tool, const std::vector<std::string>& args, const std::string& tag) const {
  return spawn_tool(tool, args, dir_, path(tag + ".out"), path(tag + ".err"));
}

ProcessResult ToolTest::finish(pid_t pid, const std::string& tag) const {
  return finish_tool(pid, path(tag + ".out"), path(tag + ".err"));
}

std::string ToolTest::without_timings(const std::string& file) const {
  std::istringstream in(read_file(path(file)));
  std::string line, kept;
  while (std::getline(in, line))
    if (line.find("seconds\"") == std::string::npos) kept += line + "\n";
  return kept;
}

}  // namespace tapegrad::testing
