#pragma once
// op_check's outputs: the coverage table (op × check) on stdout, and the same
// results as JSON and CSV (each written atomically by the caller).
#include <string>
#include <vector>

#include "support/op_check_checks.hpp"

namespace examples {

// One row per op: each cell "pass 0.031" (the worst error as a fraction of its
// tolerance), "FAIL 3.2", "skip" or "inconcl"; the fused column only with --fused.
// Then the failing cells' details, and a count line.
std::string coverage_table(const std::vector<OpReport>& reports, bool fused);
std::string coverage_json(const std::vector<OpReport>& reports, const OpCheckSettings& settings);
// op,check,status,worst,compared,detail: one row per op and check (fields quoted
// when they hold a comma, a quote or a newline).
std::string coverage_csv(const std::vector<OpReport>& reports, bool fused);
// Whether the run passed: no check failed and none was inconclusive.
bool coverage_passed(const std::vector<OpReport>& reports);

}  // namespace examples
