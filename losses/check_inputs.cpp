#include <tapegrad/losses/check_inputs.hpp>

#include <array>
#include <cmath>

#include <xsimd/xsimd.hpp>

#include <tapegrad/core/error.hpp>

namespace tapegrad::detail {

namespace {

// One branch-free SIMD pass: x − x is 0 for a finite x and NaN for ±inf or NaN,
// and a NaN survives the sum. The location is searched for only on failure.
template <class T>
bool all_finite(const T* p, std::size_t n) {
  using B = xsimd::batch<T>;
  B acc(T(0));
  std::size_t k = 0;
  for (; k + B::size <= n; k += B::size) {
    const B x = B::load_unaligned(p + k);
    acc += x - x;
  }
  alignas(64) std::array<T, B::size> lanes;
  acc.store_aligned(lanes.data());
  T total = 0;
  for (T v : lanes) total += v;
  for (; k < n; ++k) total += p[k] - p[k];
  return total == T(0);
}

}  // namespace

template <class T>
ClassDims check_class_inputs(const char* op, const Tensor<T>& scores, const IndexTensor& labels,
                             const Tensor<T>* weights) {
  if (scores.dimension() != 2)
    fail(op, ": scores must be 2-D (N, C), got shape ", shape_str(scores.shape()));
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  if (labels.dimension() != 1 || labels.shape()[0] != n)
    fail(op, ": labels must be 1-D with one label per row of scores ", shape_str(scores.shape()),
         ", got shape ", shape_str(labels.shape()));
  const std::int64_t* y = labels.data();
  for (std::size_t i = 0; i < n; ++i)
    if (y[i] < 0 || static_cast<std::size_t>(y[i]) >= c)
      fail(op, ": label ", y[i], " at row ", i, " is outside [0, ", c, ")");
  if (weights) {
    if (weights->dimension() != 1 || weights->shape()[0] != c)
      fail(op, ": weights must have one entry per class, shape (", c, "), got shape ",
           shape_str(weights->shape()));
    const T* w = weights->data();
    if (!all_finite(w, c))
      for (std::size_t j = 0; j < c; ++j)
        if (!std::isfinite(w[j])) fail(op, ": non-finite weight ", w[j], " for class ", j);
  }
  const T* s = scores.data();
  if (!all_finite(s, n * c))
    for (std::size_t k = 0; k < n * c; ++k)
      if (!std::isfinite(s[k]))
        fail(op, ": non-finite score ", s[k], " at row ", k / c, ", column ", k % c);
  return {n, c};
}

void check_hinge_options(const char* op, const HingeOptions& options, std::size_t rows) {
  if (options.p != 1 && options.p != 2) fail(op, ": p must be 1 or 2, got ", options.p);
  if (!std::isfinite(options.margin)) fail(op, ": margin must be finite, got ", options.margin);
  if (options.kind != HingeKind::weston_watkins && options.kind != HingeKind::crammer_singer)
    fail(op, ": unknown hinge kind ", static_cast<int>(options.kind));
  if (options.reduction != Reduction::mean && options.reduction != Reduction::sum &&
      options.reduction != Reduction::none)
    fail(op, ": unknown reduction ", static_cast<int>(options.reduction));
  if (options.reduction == Reduction::mean && rows == 0)
    fail(op, ": the mean over 0 rows is undefined (use Reduction::sum or Reduction::none)");
}

template <class T>
ClassDims check_hinge_inputs(const char* op, const Tensor<T>& scores, const IndexTensor& labels,
                             const HingeOptions& options, const Tensor<T>* weights) {
  const ClassDims dims = check_class_inputs(op, scores, labels, weights);
  check_hinge_options(op, options, dims.rows);
  return dims;
}

template <class T>
bool hinge_arguments_ok(const Tensor<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                        const Tensor<T>* weights) {
  if (scores.dimension() != 2 || labels.dimension() != 1 || labels.shape()[0] != scores.shape()[0]) return false;
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  if (weights && (weights->dimension() != 1 || weights->shape()[0] != c || !all_finite(weights->data(), c)))
    return false;
  const bool kind_ok = options.kind == HingeKind::weston_watkins || options.kind == HingeKind::crammer_singer;
  const bool reduction_ok = options.reduction == Reduction::mean || options.reduction == Reduction::sum ||
                            options.reduction == Reduction::none;
  return (options.p == 1 || options.p == 2) && std::isfinite(options.margin) && kind_ok && reduction_ok &&
         !(options.reduction == Reduction::mean && n == 0);
}

template <class T>
double weighted_row_count(const char* op, const IndexTensor& labels, const Tensor<T>* weights) {
  const std::size_t n = labels.size();
  if (!weights) {
    if (n == 0) fail(op, ": the mean over 0 rows is undefined (use Reduction::sum or Reduction::none)");
    return static_cast<double>(n);
  }
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += static_cast<double>((*weights)(labels.data()[i]));
  if (total == 0)
    fail(op, ": the weighted mean is undefined: the weights of the ", n,
         " labels sum to 0 (use Reduction::sum or Reduction::none)");
  return total;
}

template <class T>
SoftmaxDims check_softmax_inputs(const char* op, const Tensor<T>& scores, const IndexTensor& labels,
                                 Reduction reduction, const Tensor<T>* weights) {
  const ClassDims dims = check_class_inputs(op, scores, labels, weights);
  if (reduction != Reduction::mean && reduction != Reduction::sum && reduction != Reduction::none)
    fail(op, ": unknown reduction ", static_cast<int>(reduction));
  return {dims, reduction == Reduction::mean ? weighted_row_count(op, labels, weights) : 1.0};
}

template ClassDims check_class_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&,
                                             const Tensor<float>*);
template ClassDims check_class_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&,
                                              const Tensor<double>*);
template ClassDims check_hinge_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&,
                                             const HingeOptions&, const Tensor<float>*);
template ClassDims check_hinge_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&,
                                              const HingeOptions&, const Tensor<double>*);
template bool hinge_arguments_ok<float>(const Tensor<float>&, const IndexTensor&, const HingeOptions&,
                                        const Tensor<float>*);
template bool hinge_arguments_ok<double>(const Tensor<double>&, const IndexTensor&, const HingeOptions&,
                                         const Tensor<double>*);
template SoftmaxDims check_softmax_inputs<float>(const char*, const Tensor<float>&, const IndexTensor&, Reduction,
                                                 const Tensor<float>*);
template SoftmaxDims check_softmax_inputs<double>(const char*, const Tensor<double>&, const IndexTensor&, Reduction,
                                                  const Tensor<double>*);
template double weighted_row_count<float>(const char*, const IndexTensor&, const Tensor<float>*);
template double weighted_row_count<double>(const char*, const IndexTensor&, const Tensor<double>*);

}  // namespace tapegrad::detail
