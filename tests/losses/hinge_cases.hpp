#pragma once
// Shorthands shared by the hinge tests: the two kinds and options in one call
// (seeded labels: testing::random_labels in support/support.hpp).
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/losses/hinge.hpp>

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

}  // namespace tapegrad::testing
