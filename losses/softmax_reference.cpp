// Softmax cross-entropy as plain loops: the fused op's reference. Read this file for
// the math; the xsimd kernel (losses/softmax_rows.hpp) computes the same formulas in
// the same order and is tested against these loops.
//
// For row i with true class y, m = max_j s_j (subtracted so that every exponent is
// ≤ 0 and the sum is ≥ 1: nothing overflows, and log never sees 0):
//   z   = Σ_j exp(s_j − m)
//   L_i = w[y]·(log z − (s_y − m))                 (= w[y]·(log Σ_j exp(s_j) − s_y))
// then the mean (÷ divisor: N, or Σ_i w[y_i] with weights, as PyTorch), the sum, or
// the rows. With c_i = w[y]/divisor (1/divisor's part is 1 for sum and none):
//   ds_ij = g_i · (exp(s_j − m)·(c_i/z) − c_i·[j = y])   = g_i·c_i·(softmax_j − onehot_j)
// where g_i is the upstream gradient of the (reduced) loss.
#include <cmath>
#include <cstdint>
#include <limits>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include <tapegrad/losses/softmax_kernels.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace softmax_impl {

namespace {

template <class T>
T row_max(const T* s, std::size_t c) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t j = 0; j < c; ++j) m = s[j] > m ? s[j] : m;
  return m;
}

// z = Σ_j exp(s_j − m)
template <class T>
T sum_exp(const T* s, std::size_t c, T m) {
  T z = 0;
  for (std::size_t j = 0; j < c; ++j) z += std::exp(s[j] - m);
  return z;
}

}  // namespace

template <class T>
double reference_forward(const Problem<T>& pr, T* out) {
  double total = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* s = pr.s + i * pr.c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    const T m = row_max(s, pr.c);
    const T z = sum_exp(s, pr.c, m);
    const T wi = pr.w ? pr.w[y] : T(1);
    const T loss = wi * (std::log(z) - (s[y] - m));  // L_i = w[y]·(log z − (s_y − m))
    if (out) out[i] = loss;
    total += loss;
  }
  return total;
}

template <class T>
void reference_backward(const Problem<T>& pr, const T* up, bool per_row, bool fresh, T* g) {
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* s = pr.s + i * pr.c;
    T* ds = g + i * pr.c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    const T m = row_max(s, pr.c);  // the same m and z as forward
    const T z = sum_exp(s, pr.c, m);
    const T wi = pr.w ? pr.w[y] : T(1);
    const T ci = static_cast<T>(wi / pr.divisor);  // c_i = w[y]/divisor
    const T gi = per_row ? up[i] : up[0];
    for (std::size_t j = 0; j < pr.c; ++j) {
      T local = std::exp(s[j] - m) * (ci / z);  // c_i·softmax_j
      if (j == y) local -= ci;                  // − c_i·onehot_j
      const T d = gi * local;
      ds[j] = fresh ? d : ds[j] + d;
    }
  }
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
  template double reference_forward(const Problem<T>&, T*);       \
  template void reference_backward(const Problem<T>&, const T*, bool, bool, T*);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace softmax_impl

// The whole op: check, push the backward, forward, save, commit.
template <class T>
Var<T> softmax_cross_entropy_reference(const Var<T>& scores, const IndexTensor& labels, Reduction reduction,
                                       const Tensor<T>* weights) {
  static constexpr const char* kOp = "softmax_cross_entropy_reference";
  using softmax_impl::Saved;
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const auto [dims, divisor] = detail::check_softmax_inputs(kOp, s, labels, reduction, weights);

  Record<T>& r = t.push(kOp, {scores}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* g = t.grad_buffer(r.inputs[0], fresh);
    if (!g) return;
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const Tensor<T>& s = t.value_of(r.inputs[0]);
    const softmax_impl::Problem<T> pr{s.data(), s.shape()[0], s.shape()[1], r.buffer(sv.labels).data(),
                                      sv.weighted ? r.buffer(sv.weights).data() : nullptr, sv.divisor};
    softmax_impl::reference_backward(pr, r.grad.data(), sv.reduction == Reduction::none, fresh, g->data());
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    // the same loss in double from the saved reduction, labels and weights
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const Tensor<double> w = sv.weighted ? detail::replay_tensor(r.buffer(sv.weights)) : Tensor<double>();
    return softmax_cross_entropy_reference(x[0], r.buffer(sv.labels), sv.reduction, sv.weighted ? &w : nullptr);
  });
  T* out = nullptr;
  if (reduction == Reduction::none) {
    r.value.resize(std::array<std::size_t, 1>{dims.rows});
    out = r.value.data();
  } else {
    r.value.resize(std::array<std::size_t, 0>{});
  }
  const softmax_impl::Problem<T> pr{s.data(), dims.rows, dims.classes, labels.data(),
                                    weights ? weights->data() : nullptr, divisor};
  const double total = softmax_impl::reference_forward(pr, out);
  if (reduction != Reduction::none) *r.value.data() = static_cast<T>(total / divisor);
  if (r.requires_grad)
    r.save(Saved<T>{SoftmaxKernel::reference, reduction, divisor, weights != nullptr, Slot<Tensor<T>>{},
                    r.keep(labels), weights ? r.keep(*weights) : Slot<Tensor<T>>{}});
  return t.commit(r);
}

template Var<float> softmax_cross_entropy_reference(const Var<float>&, const IndexTensor&, Reduction,
                                                    const Tensor<float>*);
template Var<double> softmax_cross_entropy_reference(const Var<double>&, const IndexTensor&, Reduction,
                                                     const Tensor<double>*);

}  // namespace tapegrad
