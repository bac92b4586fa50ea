#include <tapegrad/core/record.hpp>

namespace tapegrad::detail {

void fail_saved(const char* op, std::uint32_t id, const char* what) {
  fail(op, ": record #", id, " holds ", what, " (saved state is typed per op; a reused record forgets it)");
}

}  // namespace tapegrad::detail
