#pragma once
// Shared by the check_hinge_gradient tests: tapegrad's own gradient of the hinge
// (the fused op on a tape), with respect to the scores or to W for scores = X·W.
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_check.hpp>
#include <tapegrad/ops/linalg.hpp>
#include "losses/hinge_cases.hpp"

namespace tapegrad::testing {

template <class T>
Tensor<T> hinge_gradient(const Tensor<T>& s, const IndexTensor& y, const HingeOptions& o,
                         const Tensor<T>* w = nullptr) {
  Tape<T> tape;
  Parameter<T> p(s, "scores");
  tape.backward(multiclass_hinge(tape.watch(p), y, o, w));
  return p.grad;
}

// dL/dW at scores = X·W.
inline Tensor<double> hinge_gradient_w(const Tensor<double>& x, const Tensor<double>& w, const IndexTensor& y,
                                       const HingeOptions& o) {
  Tape<double> tape;
  Parameter<double> p(w, "W");
  tape.backward(multiclass_hinge(matmul(tape.constant(x), tape.watch(p)), y, o));
  return p.grad;
}

inline bool has_cause(const HingeCheckReport& r, HingeCheckCause c) {
  for (const HingeCheckFinding& f : r.findings)
    if (f.cause == c) return true;
  return false;
}

}  // namespace tapegrad::testing
