#include "support/op_check_report.hpp"

#include <cmath>
#include <cstdio>

#include "support/json.hpp"

namespace examples {

namespace {

std::size_t columns(bool fused) { return fused ? kCheckCount : kCheckCount - 1; }

std::string cell(const CheckResult& c) {
  char buf[32];
  switch (c.status) {
    case CheckStatus::skip: return "skip";
    case CheckStatus::inconclusive: return "inconcl";
    case CheckStatus::pass: std::snprintf(buf, sizeof buf, "pass %.2g", c.worst); return buf;
    case CheckStatus::fail:
      if (std::isinf(c.worst)) return "FAIL inf";
      std::snprintf(buf, sizeof buf, "FAIL %.2g", c.worst);
      return buf;
  }
  return "?";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

}  // namespace

std::string coverage_table(const std::vector<OpReport>& reports, bool fused) {
  std::size_t w = 2;
  for (const auto& r : reports) w = std::max(w, r.op.size());
  std::string out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-*s %5s", static_cast<int>(w), "op", "cases");
  out += buf;
  for (std::size_t k = 0; k < columns(fused); ++k) {
    std::snprintf(buf, sizeof buf, " %-15s", kCheckNames[k]);
    out += buf;
  }
  while (out.back() == ' ') out.pop_back();
  out += "\n";
  std::string details;
  std::size_t counts[4] = {0, 0, 0, 0};
  for (const auto& r : reports) {
    std::snprintf(buf, sizeof buf, "%-*s %5zu", static_cast<int>(w), r.op.c_str(), r.cases);
    out += buf;
    for (std::size_t k = 0; k < columns(fused); ++k) {
      const CheckResult& c = r.checks[k];
      std::snprintf(buf, sizeof buf, " %-15s", cell(c).c_str());
      out += buf;
      ++counts[static_cast<int>(c.status)];
      if (c.status == CheckStatus::fail || c.status == CheckStatus::inconclusive)
        details += "  " + r.op + " " + kCheckNames[k] + " " + status_name(c.status) + ": " + c.detail + "\n";
    }
    // trailing blanks of the last column
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  std::snprintf(buf, sizeof buf, "%zu ops: ", reports.size());
  out += std::string("\n") + buf;
  std::snprintf(buf, sizeof buf, "%zu pass, %zu fail, %zu inconclusive, %zu skip\n", counts[2], counts[3], counts[1],
                counts[0]);
  out += buf;
  if (!details.empty()) out += details;
  return out;
}

std::string coverage_json(const std::vector<OpReport>& reports, const OpCheckSettings& settings) {
  JsonObject root;
  root.set("tool", "op_check");
  root.set("seed", static_cast<std::uint64_t>(settings.seed));
  root.set("fused", settings.fused);
  root.set("passed", coverage_passed(reports));
  JsonObject ops;
  for (const auto& r : reports) {
    JsonObject op;
    op.set("cases", static_cast<std::uint64_t>(r.cases));
    for (std::size_t k = 0; k < columns(settings.fused); ++k) {
      const CheckResult& c = r.checks[k];
      JsonObject o;
      o.set("status", status_name(c.status));
      o.set("worst", c.worst);  // null when infinite
      o.set("compared", static_cast<std::uint64_t>(c.compared));
      o.set("detail", c.detail);
      op.set(kCheckNames[k], o);
    }
    ops.set(r.op, op);
  }
  root.set("ops", ops);
  return root.dump() + "\n";
}

std::string coverage_csv(const std::vector<OpReport>& reports, bool fused) {
  std::string out = "op,check,status,worst,compared,detail\n";
  for (const auto& r : reports)
    for (std::size_t k = 0; k < columns(fused); ++k) {
      const CheckResult& c = r.checks[k];
      out += csv_field(r.op) + "," + kCheckNames[k] + "," + status_name(c.status) + "," +
             (std::isinf(c.worst) ? std::string("inf") : format_number(c.worst)) + "," + std::to_string(c.compared) +
             "," + csv_field(c.detail) + "\n";
    }
  return out;
}

bool coverage_passed(const std::vector<OpReport>& reports) {
  for (const auto& r : reports)
    for (const auto& c : r.checks)
      if (c.status == CheckStatus::fail || c.status == CheckStatus::inconclusive) return false;
  return true;
}

}  // namespace examples
