#pragma once
// SIMD helpers shared by the fused losses' row kernels.
#include <array>

#include <xsimd/xsimd.hpp>

namespace tapegrad::detail {

template <class T>
using Batch = xsimd::batch<T>;

// The sum of a batch's lanes, in lane order (xsimd::hadd trips a GCC 12
// -Wuninitialized false positive inside the AVX-512 intrinsics).
template <class T>
T lane_sum(const Batch<T>& b) {
  alignas(64) std::array<T, Batch<T>::size> lanes;
  b.store_aligned(lanes.data());
  T total = 0;
  for (T v : lanes) total += v;
  return total;
}

}  // namespace tapegrad::detail
