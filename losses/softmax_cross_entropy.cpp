// Softmax cross-entropy: the fused op's flow (check, kernel, push, forward, save,
// commit) and the composed op. Both subtract each row's maximum m before
// exponentiating: log Σ_j exp(s_j) = m + log Σ_j exp(s_j − m), where every exponent
// is ≤ 0 and the sum is ≥ 1, so nothing overflows or underflows to log(0) — the loss
// stays finite at s = 1e4 in float. The math, as plain loops, is in
// losses/softmax_reference.cpp; the fused op's kernel in losses/softmax_rows.hpp.
#include <array>
#include <cmath>
#include <cstdint>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include <tapegrad/losses/softmax_kernels.hpp>
#include <tapegrad/losses/softmax_rows.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/indexing.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

const char* softmax_kernel_name(SoftmaxKernel kernel) {
  switch (kernel) {
    case SoftmaxKernel::automatic: return "automatic";
    case SoftmaxKernel::reference: return "reference";
    case SoftmaxKernel::rows: return "rows";
  }
  return "unknown";
}

// One kernel is fast for every dtype and width; the reference runs when forced.
template <class T>
SoftmaxKernel softmax_kernel_for(std::size_t, SoftmaxKernel forced) {
  const int k = static_cast<int>(forced);
  if (k < 0 || k > static_cast<int>(SoftmaxKernel::rows))
    fail("softmax_cross_entropy: unknown softmax kernel ", k);
  return forced == SoftmaxKernel::automatic ? SoftmaxKernel::rows : forced;
}

template <class T>
Var<T> softmax_cross_entropy(const Var<T>& scores, const IndexTensor& labels, Reduction reduction,
                             const Tensor<T>* weights, SoftmaxKernel forced) {
  static constexpr const char* kOp = "softmax_cross_entropy";
  using softmax_impl::Saved;
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const auto [dims, divisor] = detail::check_softmax_inputs(kOp, s, labels, reduction, weights);
  const SoftmaxKernel kernel = softmax_kernel_for<T>(dims.classes, forced);
  const softmax_impl::Problem<T> pr{s.data(), dims.rows, dims.classes, labels.data(),
                                    weights ? weights->data() : nullptr, divisor};

  // ds_i = upstream_i · c_i·(softmax(s_i) − onehot(y_i)): rows saved c_i·(…) in forward
  Record<T>& r = t.push(kOp, {scores}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* g = t.grad_buffer(r.inputs[0], fresh);
    if (!g) return;
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const bool per_row = sv.reduction == Reduction::none;
    const Tensor<T>& s = t.value_of(r.inputs[0]);
    switch (sv.kernel) {
      case SoftmaxKernel::rows:
        softmax_rows::rows_backward(r.buffer(sv.local).data(), s.shape()[0], s.shape()[1], r.grad.data(), per_row,
                                    fresh, g->data());
        return;
      case SoftmaxKernel::reference: {
        const softmax_impl::Problem<T> pr{s.data(), s.shape()[0], s.shape()[1], r.buffer(sv.labels).data(),
                                          sv.weighted ? r.buffer(sv.weights).data() : nullptr, sv.divisor};
        softmax_impl::reference_backward(pr, r.grad.data(), per_row, fresh, g->data());
        return;
      }
      case SoftmaxKernel::automatic: break;
    }
    fail("softmax_cross_entropy: no backward for kernel ", softmax_kernel_name(sv.kernel));
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    // the same loss in double from the saved reduction, labels and weights
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const Tensor<double> w = sv.weighted ? detail::replay_tensor(r.buffer(sv.weights)) : Tensor<double>();
    return softmax_cross_entropy(x[0], r.buffer(sv.labels), sv.reduction, sv.weighted ? &w : nullptr);
  });
  T* out = nullptr;
  if (reduction == Reduction::none) {
    r.value.resize(std::array<std::size_t, 1>{dims.rows});
    out = r.value.data();
  } else {
    r.value.resize(std::array<std::size_t, 0>{});
  }
  double total = 0;
  if (kernel == SoftmaxKernel::reference) {
    total = softmax_impl::reference_forward(pr, out);
    if (r.requires_grad)
      r.save(Saved<T>{kernel, reduction, divisor, weights != nullptr, Slot<Tensor<T>>{}, r.keep(labels),
                      weights ? r.keep(*weights) : Slot<Tensor<T>>{}});
  } else {
    Slot<Tensor<T>> local{};
    T* local_data = nullptr;
    if (r.requires_grad) {  // the local gradient, in the record's reused buffer
      local = r.template claim<Tensor<T>>();
      Tensor<T>& l = r.buffer(local);
      l.resize(s.shape());  // keeps the allocation when the size is unchanged
      local_data = l.data();
    }
    total = softmax_rows::rows_forward(pr, out, local_data);
    if (r.requires_grad)  // the labels and weights for the replay (the backward reads only local)
      r.save(Saved<T>{kernel, reduction, divisor, weights != nullptr, local, r.keep(labels),
                      weights ? r.keep(*weights) : Slot<Tensor<T>>{}});
  }
  if (reduction != Reduction::none) *r.value.data() = static_cast<T>(total / divisor);
  return t.commit(r);
}

// The composed op, from public ops only. The row maximum is a constant shift:
// the loss does not depend on it (lse(s − m) + m − (s_y − m) − m), so treating it
// as a constant is exact, and no gradient flows through a term that would cancel.
template <class T>
Var<T> softmax_cross_entropy_composed(const Var<T>& scores, const IndexTensor& labels, Reduction reduction,
                                      const Tensor<T>* weights) {
  static constexpr const char* kOp = "softmax_cross_entropy_composed";
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const auto [dims, divisor] = detail::check_softmax_inputs(kOp, s, labels, reduction, weights);

  Tensor<T> m = Tensor<T>::from_shape({dims.rows, std::size_t(1)});
  for (std::size_t i = 0; i < dims.rows; ++i) m(i, 0) = softmax_rows::row_max(s.data() + i * dims.classes, dims.classes);
  IndexTensor column = labels;
  column.reshape({dims.rows, std::size_t(1)});

  const Var<T> shifted = scores - t.constant(m);
  const Var<T> lse = log(sum(exp(shifted), 1, true));                // (N, 1)
  Var<T> rows = sum(lse - gather(shifted, 1, column), 1);            // (N)
  if (weights) {
    Tensor<T> w_row = *weights;
    w_row.reshape({std::size_t(1), dims.classes});
    rows = rows * sum(one_hot(t, labels, dims.classes) * t.constant(w_row), 1);  // · w[y_i]
  }
  switch (reduction) {
    case Reduction::mean: return weights ? sum(rows) / static_cast<T>(divisor) : mean(rows);
    case Reduction::sum: return sum(rows);
    default: return rows;
  }
}

#define TAPEGRAD_INSTANTIATE(T)                                                                      \
  template Var<T> softmax_cross_entropy(const Var<T>&, const IndexTensor&, Reduction, const Tensor<T>*,   \
                                        SoftmaxKernel);                                               \
  template SoftmaxKernel softmax_kernel_for<T>(std::size_t, SoftmaxKernel);                          \
  template Var<T> softmax_cross_entropy_composed(const Var<T>&, const IndexTensor&, Reduction,       \
                                                 const Tensor<T>*);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
