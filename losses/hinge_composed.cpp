// The multiclass hinge composed only from public tape ops (TensorFlow's recipe):
// the reference the fused op is verified against. Nothing here is hand-derived:
// every gradient comes from the ops' own backward functions.
#include <cstdint>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/indexing.hpp>
#include <tapegrad/ops/reduce.hpp>

namespace tapegrad {

namespace {

constexpr const char* kOp = "multiclass_hinge_composed";

// w[y_i] as an (N) constant, selected by tape ops: Σ_j one_hot_ij · w_j.
template <class T>
Var<T> row_weights(Tape<T>& t, const Var<T>& hot, const Tensor<T>& weights) {
  Tensor<T> w_row = weights;
  w_row.reshape({std::size_t(1), weights.size()});
  return sum(hot * t.constant(w_row), 1);
}

// Row i's wrong classes j ≠ y_i in increasing order, (N, C − 1), for gather.
IndexTensor wrong_classes(const IndexTensor& labels, const detail::ClassDims& dims) {
  IndexTensor wrong = IndexTensor::from_shape({dims.rows, dims.classes - 1});
  std::int64_t* out = wrong.data();
  for (std::size_t i = 0; i < dims.rows; ++i) {
    const std::int64_t y = labels.data()[i];
    for (std::int64_t j = 0; j < static_cast<std::int64_t>(dims.classes); ++j)
      if (j != y) *out++ = j;
  }
  return wrong;
}

}  // namespace

template <class T>
Var<T> multiclass_hinge_composed(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                                 const Tensor<T>* weights) {
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  const detail::ClassDims dims = detail::check_class_inputs(kOp, s, labels, weights);
  detail::check_hinge_options(kOp, options, dims.rows);
  const T delta = static_cast<T>(options.margin);

  IndexTensor column = labels;  // (N, 1): gather's index has the scores' rank
  column.reshape({dims.rows, std::size_t(1)});
  const Var<T> true_score = gather(scores, 1, column);  // s_{i, y_i}, (N, 1)
  const Var<T> hot = one_hot(t, labels, dims.classes);

  Var<T> terms;  // the hinge terms of each row, before the power
  if (options.kind == HingeKind::weston_watkins) {
    // max(0, (s_j − s_y) + Δ) for every j, then the true class masked out (its term is Δ)
    terms = relu((scores - true_score) + delta) * (T(1) - hot);
  } else if (dims.classes <= 1) {
    // No wrong class, no loss: s − s_y is exactly 0 for finite scores and relu'(0) = 0.
    terms = relu(scores - true_score);
  } else {
    // Each row's wrong classes gathered, (N, C − 1): their max, whose backward splits
    // ties evenly (as the fused op), hinged. No shift is added to the scores, so
    // nothing overflows (a shift above the scores' spread was inf, and 0·inf NaN,
    // for float scores above 8.5e37).
    const Var<T> wrong_max = max(gather(scores, 1, wrong_classes(labels, dims)), 1, true);  // (N, 1)
    terms = relu((wrong_max - true_score) + delta);
  }
  if (options.p == 2) terms = square(terms);
  Var<T> rows = sum(terms, 1);  // (N)
  if (weights) rows = rows * row_weights(t, hot, *weights);

  switch (options.reduction) {
    case Reduction::mean: return mean(rows);
    case Reduction::sum: return sum(rows);
    default: return rows;
  }
}

template Var<float> multiclass_hinge_composed(const Var<float>&, const IndexTensor&, const HingeOptions&,
                                              const Tensor<float>*);
template Var<double> multiclass_hinge_composed(const Var<double>&, const IndexTensor&, const HingeOptions&,
                                               const Tensor<double>*);

}  // namespace tapegrad
