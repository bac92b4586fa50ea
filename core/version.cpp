#include <tapegrad/core/version.hpp>

#include <type_traits>

#include <xtensor/xarray.hpp>

namespace tapegrad {

// The library itself is compiled with the pin of version.hpp (the target's
// -include), whatever -march it is tuned for.
static_assert(std::is_same<xt::xarray<float>::allocator_type,
                           xsimd::aligned_allocator<float, TAPEGRAD_XTENSOR_ALIGNMENT>>::value,
              "xtensor's default allocator is not tapegrad's: core/version.hpp was not read first");

const char* version() noexcept { return TAPEGRAD_VERSION_STRING; }

}  // namespace tapegrad
