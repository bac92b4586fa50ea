#pragma once
// Shorthands shared by the hinge tests: the two kinds, options in one call, and
// seeded labels.
#include <cstddef>
#include <cstdint>
#include <random>

#include "core/tensor.hpp"
#include "losses/hinge.hpp"

namespace tapegrad::testing {

inline constexpr HingeKind WW = HingeKind::weston_watkins;
inline constexpr HingeKind CS = HingeKind::crammer_singer;

inline HingeOptions opts(HingeKind kind, int p = 1, Reduction red = Reduction::mean, double margin = 1.0) {
  HingeOptions o;
  o.kind = kind;
  o.p = p;
  o.reduction = red;
  o.margin = margin;
  return o;
}

// N labels drawn uniformly from [0, C) by a seeded generator.
inline IndexTensor random_labels(std::size_t n, std::size_t c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  IndexTensor y = IndexTensor::from_shape({n});
  for (auto& v : y) v = static_cast<std::int64_t>(rng() % c);
  return y;
}

}  // namespace tapegrad::testing
