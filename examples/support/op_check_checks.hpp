#pragma once
// op_check's checks of one registry entry (core/op_registry.hpp), each over every
// case the entry's generator makes:
//   gradcheck        central differences in double against backward with a random
//                    upstream gradient (L = sum(out * dout)), kink-aware;
//   accumulates      backward adds into a parameter gradient that already holds G0:
//                    the result is G0 + g;
//   nan_filled       an input's gradient buffer that holds NaN from a previous sweep
//                    (the tape reuses record buffers, and the op's first write to an
//                    input is `fresh`) is fully written: no NaN reaches the parameter;
//   fresh_accum      one input feeding the op twice gets 2g: the first consumer's
//                    fresh write and the second's accumulation agree;
//   float_double     float and double agree to float tolerance (on the same,
//                    float-representable inputs; a float-only kernel against its
//                    reference in double);
//   second_backward  a second backward over the same records gives the same gradient,
//                    bit for bit;
//   fused            (--fused) a fused op against its composed reference, or a forced
//                    kernel against the fused op's reference, by compare_gradients on
//                    kink- and tie-rich inputs.
// A check's result over the cases: fail if any case fails; else pass if any passes;
// else inconclusive if any compared nothing; else skip (it does not apply).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/op_registry.hpp>

namespace examples {

enum class CheckStatus { skip, inconclusive, pass, fail };
const char* status_name(CheckStatus s);  // "skip", "inconclusive", "pass", "fail"

struct CheckResult {
  CheckStatus status = CheckStatus::skip;
  double worst = 0;          // the worst element's error as a fraction of its tolerance (> 1 fails)
  std::size_t compared = 0;  // elements compared over all cases
  std::string detail;        // the failing case and what failed, or why it was skipped
  std::size_t inconclusive_cases = 0;  // cases that compared nothing (an empty input)
};

constexpr std::size_t kCheckCount = 7;
extern const std::array<const char*, kCheckCount> kCheckNames;
constexpr std::size_t kFusedCheck = 6;

struct OpReport {
  std::string op;
  std::size_t cases = 0;
  std::array<CheckResult, kCheckCount> checks;
};

struct OpCheckSettings {
  std::uint64_t seed = 0;
  bool fused = false;  // run the fused column
};

// Runs every check of `entry`; `registry` resolves its fused_reference and kernel_of.
OpReport check_op(const tapegrad::OpEntry& entry, const std::vector<tapegrad::OpEntry>& registry,
                  const OpCheckSettings& settings);

// Folds one case's result into the result over cases (the rule above).
void merge_result(CheckResult& into, const CheckResult& one, const std::string& case_label);

}  // namespace examples
