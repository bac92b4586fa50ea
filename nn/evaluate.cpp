#include <tapegrad/nn/evaluate.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace tapegrad::nn {

namespace {

// Puts every module of a model in eval mode and restores each one's mode after.
template <class T>
class EvalScope {
 public:
  explicit EvalScope(Module<T>& model) {
    for (auto& [name, m] : model.named_modules()) modes_.emplace_back(m, m->is_training());
    model.eval();
  }
  ~EvalScope() {
    // train() recurses, so restore parents first, then each child over it
    for (auto& [m, on] : modes_) m->train(on);
  }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  std::vector<std::pair<Module<T>*, bool>> modes_;
};

// Clears the tape when the evaluation ends, however it ends.
template <class T>
struct ClearAtEnd {
  Tape<T>& tape;
  ~ClearAtEnd() { tape.clear(); }
};

// Writes argmax of each row of scores into out[offset..]; returns C.
template <class T>
std::size_t argmax_rows(const char* who, const Tensor<T>& scores, std::size_t rows, std::size_t classes,
                        IndexTensor& out, std::size_t offset) {
  if (scores.dimension() != 2 || scores.shape()[0] != rows || scores.shape()[1] == 0)
    fail(who, ": the model's output for a block of ", rows, " rows has shape ", shape_str(scores.shape()),
         ", expected (", rows, ", C) with C >= 1");
  const std::size_t c = scores.shape()[1];
  if (classes != 0 && c != classes)
    fail(who, ": the model's output has ", c, " columns for rows from ", offset, " but ", classes, " before");
  const T* s = scores.data();
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = s + i * c;
    std::size_t best = 0;
    for (std::size_t j = 1; j < c && !std::isnan(row[best]); ++j)
      if (std::isnan(row[j]) || row[j] > row[best]) best = j;
    out(offset + i) = static_cast<std::int64_t>(best);
  }
  return c;
}

// predict's loop; returns the number of classes (0 when x has no rows).
template <class T>
std::size_t predict_into(const char* who, Module<T>& model, const Tensor<T>& x, Tape<T>& tape,
                         std::size_t batch_size, IndexTensor& out) {
  if (x.dimension() == 0) fail(who, ": x must have a row axis, got shape ()");
  if (batch_size == 0) fail(who, ": batch_size must be > 0");
  const std::size_t n = x.shape()[0];
  out = IndexTensor::from_shape({n});
  if (n == 0) return 0;
  const std::size_t row_size = x.size() / n;
  EvalScope<T> eval(model);
  NoGrad<T> no_grad(tape);
  ClearAtEnd<T> clear_at_end{tape};
  Tensor<T> block;  // rows of x when it takes more than one batch
  Shape block_shape = to_shape(x.shape());
  std::size_t classes = 0;
  for (std::size_t begin = 0; begin < n; begin += batch_size) {
    const std::size_t rows = std::min(batch_size, n - begin);
    tape.clear();
    const Tensor<T>* input = &x;
    if (rows != n) {
      block_shape[0] = rows;
      block.resize(block_shape);  // allocates for the first block and a shorter last one only
      std::memcpy(block.data(), x.data() + begin * row_size, rows * row_size * sizeof(T));
      input = &block;
    }
    const Var<T> scores = model.forward(tape.borrow(*input));
    classes = argmax_rows(who, tape.value(scores), rows, classes, out, begin);
  }
  return classes;
}

}  // namespace

template <class T>
IndexTensor predict(Module<T>& model, const Tensor<T>& x, Tape<T>& tape, std::size_t batch_size) {
  IndexTensor out;
  predict_into("predict", model, x, tape, batch_size, out);
  return out;
}

template <class T>
IndexTensor predict(Module<T>& model, const Tensor<T>& x, std::size_t batch_size) {
  Tape<T> tape;
  return predict(model, x, tape, batch_size);
}

template <class T>
double accuracy(Module<T>& model, const Tensor<T>& x, const IndexTensor& labels, Tape<T>& tape,
                std::size_t batch_size) {
  if (x.dimension() == 0) fail("accuracy: x must have a row axis, got shape ()");
  const std::size_t n = x.shape()[0];
  if (labels.dimension() != 1 || labels.shape()[0] != n)
    fail("accuracy: labels must be 1-D with one label per row of x ", shape_str(x.shape()), ", got shape ",
         shape_str(labels.shape()));
  if (n == 0) fail("accuracy: x ", shape_str(x.shape()), " has no rows");
  IndexTensor predicted;
  const std::size_t classes = predict_into("accuracy", model, x, tape, batch_size, predicted);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t y = labels(i);
    if (y < 0 || y >= static_cast<std::int64_t>(classes))
      fail("accuracy: label ", y, " at row ", i, " is outside [0, ", classes, ")");
    correct += predicted(i) == y;
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

template <class T>
double accuracy(Module<T>& model, const Tensor<T>& x, const IndexTensor& labels, std::size_t batch_size) {
  Tape<T> tape;
  return accuracy(model, x, labels, tape, batch_size);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                          \
  template IndexTensor predict(Module<T>&, const Tensor<T>&, std::size_t);                             \
  template IndexTensor predict(Module<T>&, const Tensor<T>&, Tape<T>&, std::size_t);                   \
  template double accuracy(Module<T>&, const Tensor<T>&, const IndexTensor&, std::size_t);             \
  template double accuracy(Module<T>&, const Tensor<T>&, const IndexTensor&, Tape<T>&, std::size_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
