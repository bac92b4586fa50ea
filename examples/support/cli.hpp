#pragma once
// Command-line handling shared by the example programs: typed options with
// defaults shown in --help, `--name value` and `--name=value` forms, and the
// exit-status convention of every tool: 0 success, 1 bad data (or any runtime
// failure), 2 bad usage; a failure prints exactly one stderr line "<tool>: ...".
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace examples {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ArgParser {
 public:
  // `synopsis` follows the usage line in --help (what the tool does, in a few lines).
  ArgParser(std::string tool, std::string synopsis);

  // Each option writes into *target; the target's value at registration is the
  // default shown in --help. Numbers are range-checked (inclusive bounds).
  void add_flag(const std::string& name, bool* target, const std::string& help);
  void add_string(const std::string& name, std::string* target, const std::string& metavar,
                  const std::string& help, std::vector<std::string> choices = {});
  void add_int(const std::string& name, std::int64_t* target, const std::string& help, std::int64_t min,
               std::int64_t max);
  void add_double(const std::string& name, double* target, const std::string& help, double min, double max);

  // --help prints `text` verbatim instead of the generated option list: for a
  // tool whose help text (and usage line) scripts already know, as hinge_grad's.
  void set_help_text(std::string text) { help_text_ = std::move(text); }

  // Parses argv[1..]. Returns false when --help (or -h) was given: the help was
  // printed on stdout and the tool should exit 0. Throws UsageError otherwise.
  bool parse(int argc, char** argv);
  // True when the option was given on the command line.
  bool given(const std::string& name) const;
  std::string help() const;
  const std::string& tool() const { return tool_; }

 private:
  struct Option {
    std::string name, metavar, help, default_text;
    std::vector<std::string> choices;
    std::function<void(const std::string&)> set;  // throws UsageError
    bool flag = false;
    bool seen = false;
  };
  Option& add(const std::string& name);
  std::string tool_, synopsis_, help_text_;
  std::vector<Option> options_;
};

// Rewrites an error message before it is printed (e.g. drops a library
// function's name that means nothing to the user); empty: the message as is.
using MessageFilter = std::function<std::string(std::string)>;

// Runs body() and maps the outcome to the exit status: UsageError -> 2 with
// "<tool>: <message> (see <tool> --help)", any other exception -> 1 with
// "<tool>: <message>"; newlines in messages become spaces (one line always).
int run_tool(const std::string& tool, const std::function<int()>& body, const MessageFilter& filter = {});

// Every tool's main(): parses argv with `args` (its options registered), then
// runs body(), both under run_tool's exit statuses; --help runs nothing, exit 0.
int parse_and_run(ArgParser& args, int argc, char** argv, const std::function<int()>& body,
                  const MessageFilter& filter = {});

// The whole main() of a tool with a Settings struct: add_options registers the
// options into it, then run(settings) does the work (under parse_and_run).
template <class Settings>
int tool_main(const char* tool, const char* synopsis, int argc, char** argv,
              void (*add_options)(ArgParser&, Settings*), int (*run)(const Settings&)) {
  Settings s;
  ArgParser args(tool, synopsis);
  add_options(args, &s);
  return parse_and_run(args, argc, argv, [&] { return run(s); });
}

}  // namespace examples
