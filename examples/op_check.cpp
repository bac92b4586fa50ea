// op_check: every registered op (tapegrad::op_registry(), losses/registry.hpp) under
// one gradient harness, in double: gradcheck against central differences with a
// random upstream gradient (L = sum(out * dout)), kink-aware; contract checks
// (backward adds into an existing gradient; an input gradient buffer holding NaN
// from a previous sweep is fully written; fresh and accumulating writes agree; float
// agrees with double to float tolerance; a second backward gives the same result);
// with --fused, every fused op against its composed reference and every forced
// kernel against the fused op's reference, by compare_gradients on kink- and
// tie-rich inputs. examples/support/op_check_checks.hpp says what each check does.
//
//   op_check                        # every op; the coverage table on stdout
//   op_check --op relu,multiclass_hinge --fused --json report.json --csv report.csv
//
// Exit status: 0 every check passed or was skipped, 1 a check failed or was
// inconclusive (or a file could not be written), 2 bad usage (an unknown op is
// named). --json and --csv files are written whole or not at all.
#include <cstdio>
#include <string>
#include <vector>

#include <tapegrad/losses/registry.hpp>
#include "support/cli.hpp"
#include "support/json.hpp"
#include "support/op_check_checks.hpp"
#include "support/op_check_report.hpp"

using namespace tapegrad;

namespace {

struct Settings {
  std::string ops, json, csv;
  std::int64_t seed = 0;
  bool fused = false, list = false;
};

const char* const kSynopsis =
    "Checks the gradient of every registered op (or those --op names, comma-separated:\n"
    "an entry's name, or a function's name for all its entries) in double: gradcheck\n"
    "against central differences with a random upstream gradient, kink-aware; backward\n"
    "adds into an existing gradient; a gradient buffer pre-filled with NaN is fully\n"
    "written; fresh and accumulating writes agree; float agrees with double; a second\n"
    "backward gives the same result. --fused also compares each fused op with its\n"
    "composed reference (and each forced kernel with the fused op's reference) on kink-\n"
    "and tie-rich inputs. Prints a coverage table (op x check: pass, FAIL, skip,\n"
    "inconcl; the worst error as a fraction of its tolerance). Exit status: 0 all\n"
    "passed, 1 a check failed or was inconclusive, 2 bad usage.";

void add_options(examples::ArgParser& args, Settings* s) {
  args.add_string("--op", &s->ops, "NAMES", "only these ops (comma-separated; see --list)");
  args.add_flag("--fused", &s->fused, "also compare fused ops and kernels with their references");
  args.add_flag("--list", &s->list, "list the registered ops and exit");
  args.add_int("--seed", &s->seed, "seed of the generated inputs and upstream gradients", 0, 1ll << 40);
  args.add_string("--json", &s->json, "FILE", "write the results as JSON");
  args.add_string("--csv", &s->csv, "FILE", "write the results as CSV (op, check, status, worst, ...)");
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = s.find(',', start);
    const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The entries --op names, in registry order; an unknown name is a usage error.
std::vector<const OpEntry*> select(const std::vector<OpEntry>& registry, const std::string& names) {
  std::vector<const OpEntry*> out;
  if (names.empty()) {
    for (const OpEntry& e : registry) out.push_back(&e);
    return out;
  }
  const std::vector<std::string> wanted = split(names);
  if (wanted.empty()) throw examples::UsageError("--op needs at least one op name");
  for (const std::string& w : wanted) {
    bool found = false;
    for (const OpEntry& e : registry) found = found || e.name == w || e.function_name() == w;
    if (!found) {
      for (const NonDifferentiableOp& n : non_differentiable_ops())
        if (n.name == w) throw examples::UsageError("op '" + w + "' has no gradient to check: " + n.why);
      throw examples::UsageError("unknown op '" + w + "' (op_check --list names them)");
    }
  }
  for (const OpEntry& e : registry)
    for (const std::string& w : wanted)
      if (e.name == w || e.function_name() == w) {
        out.push_back(&e);
        break;
      }
  return out;
}

void print(const std::string& text) {
  if (std::fputs(text.c_str(), stdout) < 0 || std::fflush(stdout) != 0)
    throw std::runtime_error("cannot write to stdout");
}

std::string listing(const std::vector<OpEntry>& registry) {
  std::string out;
  for (const OpEntry& e : registry) {
    out += e.name + "  arity " + (e.arity < 0 ? std::string("any") : std::to_string(e.arity));
    if (!e.f64) out += ", float only";
    if (e.kinks) out += ", kinks";
    if (e.ties) out += ", ties";
    if (!e.fused_reference.empty()) out += ", reference " + e.fused_reference;
    if (!e.kernel_of.empty()) out += ", kernel of " + e.kernel_of;
    if (!e.unavailable.empty()) out += ", unavailable: " + e.unavailable;
    if (!e.domain.empty()) out += "; " + e.domain;
    out += "\n";
  }
  for (const NonDifferentiableOp& n : non_differentiable_ops())
    out += n.name + "  not differentiable: " + n.why + "\n";
  return out;
}

int run(const Settings& s) {
  const std::vector<OpEntry> registry = op_registry();
  if (s.list) {
    print(listing(registry));
    return 0;
  }
  const std::vector<const OpEntry*> chosen = select(registry, s.ops);
  examples::OpCheckSettings settings;
  settings.seed = static_cast<std::uint64_t>(s.seed);
  settings.fused = s.fused;
  std::vector<examples::OpReport> reports;
  for (const OpEntry* e : chosen) reports.push_back(examples::check_op(*e, registry, settings));
  print(examples::coverage_table(reports, s.fused));
  // the whole text first, then one atomic write each: a reader sees all or nothing
  if (!s.json.empty()) examples::write_file_atomic(s.json, examples::coverage_json(reports, settings));
  if (!s.csv.empty()) examples::write_file_atomic(s.csv, examples::coverage_csv(reports, s.fused));
  return examples::coverage_passed(reports) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::tool_main<Settings>("op_check", kSynopsis, argc, argv, add_options, run);
}
