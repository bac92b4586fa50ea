#include "support/cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>

#include "support/json.hpp"

namespace examples {

namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

[[noreturn]] void usage(const std::string& message) { throw UsageError(message); }

}  // namespace

ArgParser::ArgParser(std::string tool, std::string synopsis)
    : tool_(std::move(tool)), synopsis_(std::move(synopsis)) {}

ArgParser::Option& ArgParser::add(const std::string& name) {
  options_.emplace_back();
  options_.back().name = name;
  return options_.back();
}

void ArgParser::add_flag(const std::string& name, bool* target, const std::string& help) {
  Option& o = add(name);
  o.flag = true;
  o.help = help;
  o.set = [target](const std::string&) { *target = true; };
}

void ArgParser::add_string(const std::string& name, std::string* target, const std::string& metavar,
                           const std::string& help, std::vector<std::string> choices) {
  Option& o = add(name);
  o.help = help;
  o.default_text = *target;
  o.choices = std::move(choices);
  o.metavar = metavar;
  if (!o.choices.empty()) {
    o.metavar.clear();
    for (const std::string& c : o.choices) o.metavar += (o.metavar.empty() ? "" : "|") + c;
  }
  const std::vector<std::string> allowed = o.choices;
  o.set = [target, name, allowed](const std::string& v) {
    if (!allowed.empty()) {
      bool ok = false;
      for (const std::string& c : allowed) ok = ok || c == v;
      if (!ok) {
        std::string list;
        for (std::size_t k = 0; k < allowed.size(); ++k)
          list += (k == 0 ? "" : k + 1 == allowed.size() ? " or " : ", ") + allowed[k];
        usage(name + " must be " + list + ", not '" + v + "'");
      }
    }
    *target = v;
  };
}

void ArgParser::add_int(const std::string& name, std::int64_t* target, const std::string& help, std::int64_t min,
                        std::int64_t max) {
  Option& o = add(name);
  o.help = help;
  o.metavar = "N";
  o.default_text = std::to_string(*target);
  o.set = [target, name, min, max](const std::string& v) {
    errno = 0;
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || v.empty())
      usage(name + " must be an integer, not '" + v + "'");
    if (x < min || x > max)
      usage(name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], not " + v);
    *target = x;
  };
}

void ArgParser::add_double(const std::string& name, double* target, const std::string& help, double min,
                           double max) {
  Option& o = add(name);
  o.help = help;
  o.metavar = "X";
  o.default_text = format_number(*target);
  o.set = [target, name, min, max](const std::string& v) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (*end != '\0' || v.empty() || !std::isfinite(x))
      usage(name + " must be a finite number, not '" + v + "'");
    if (x < min || x > max)
      usage(name + " must be in [" + format_number(min) + ", " + format_number(max) + "], not " + v);
    *target = x;
  };
}

bool ArgParser::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    const std::size_t eq = arg.find('=');
    const bool inline_value = arg.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    Option* opt = nullptr;
    for (Option& o : options_)
      if (o.name == arg) opt = &o;
    if (!opt) {
      if (arg.rfind("-", 0) == 0) usage("unknown option '" + arg + "'");
      usage("unexpected argument '" + arg + "'");
    }
    if (opt->seen) usage("option " + arg + " given twice");
    opt->seen = true;
    if (opt->flag) {
      if (inline_value) usage("option " + arg + " takes no value");
      opt->set("");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) usage("option " + arg + " needs a value");
      value = argv[++i];
    }
    if (value.empty()) usage("option " + arg + " has an empty value");
    opt->set(value);
  }
  return true;
}

bool ArgParser::given(const std::string& name) const {
  for (const Option& o : options_)
    if (o.name == name) return o.seen;
  return false;
}

std::string ArgParser::help() const {
  if (!help_text_.empty()) return help_text_;
  std::ostringstream os;
  os << "usage: " << tool_ << " [options]\n\n" << synopsis_ << "\n\noptions:\n";
  for (const Option& o : options_) {
    std::string left = "  " + o.name + (o.metavar.empty() ? "" : " " + o.metavar);
    if (left.size() < 30)
      left.resize(30, ' ');
    else
      left += "\n" + std::string(30, ' ');
    os << left << o.help;
    if (!o.flag && !o.default_text.empty()) os << " (default " << o.default_text << ")";
    os << "\n";
  }
  os << "  --help                      this text\n\n"
     << "Exit status: 0 success, 1 bad data or failure, 2 bad usage.\n";
  return os.str();
}

int run_tool(const std::string& tool, const std::function<int()>& body, const MessageFilter& filter) {
  // The one stderr line's text: filtered first, so a filter sees the message whole.
  const auto text = [&filter](const std::string& message) { return one_line(filter ? filter(message) : message); };
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", tool.c_str(), text(e.what()).c_str(), tool.c_str());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: %s\n", tool.c_str(), text("out of memory").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool.c_str(), text(e.what()).c_str());
  }
  return 1;
}

int parse_and_run(ArgParser& args, int argc, char** argv, const std::function<int()>& body,
                  const MessageFilter& filter) {
  return run_tool(args.tool(), [&] { return args.parse(argc, argv) ? body() : 0; }, filter);
}

}  // namespace examples
