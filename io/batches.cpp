#include <tapegrad/io/batches.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

namespace {

// splitmix64: spreads (seed, epoch) into well-separated generator seeds.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) by rejection: no modulo bias, same result everywhere
// (std::uniform_int_distribution's algorithm differs between standard libraries).
std::uint64_t below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % bound);
  std::uint64_t r;
  do r = rng();
  while (r >= limit);
  return r % bound;
}

Shape batch_shape(const Shape& data_shape, std::size_t rows) {
  Shape s = data_shape;
  s[0] = rows;
  return s;
}

}  // namespace

void epoch_order(std::uint64_t seed, std::uint64_t epoch, std::vector<std::size_t>& order) {
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::mt19937_64 rng(mix(seed ^ mix(epoch)));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[below(rng, i)]);
}

template <class T>
BatchIterator<T>::BatchIterator(const Tensor<T>& x, const IndexTensor& y, std::size_t batch_size,
                                std::uint64_t seed, bool shuffle)
    : data_x_(x), data_y_(y), batch_size_(batch_size), seed_(seed), shuffle_(shuffle) {
  if (x.dimension() < 1) fail("BatchIterator: x must have a row axis, got shape ", shape_str(x.shape()));
  if (y.dimension() != 1) fail("BatchIterator: y must be 1-D, got shape ", shape_str(y.shape()));
  if (x.shape(0) != y.size())
    fail("BatchIterator: x ", shape_str(x.shape()), " has ", x.shape(0), " rows but y has ", y.size(), " labels");
  if (batch_size == 0) fail("BatchIterator: batch_size must be > 0");
  n_ = x.shape(0);
  row_len_ = n_ ? x.size() / n_ : 0;
  order_.resize(n_);
  const Shape shape = to_shape(x.shape());
  const std::size_t full = std::min(batch_size, n_), tail = n_ % batch_size;
  full_x_ = Tensor<T>::from_shape(batch_shape(shape, full));
  full_y_ = IndexTensor::from_shape({full});
  tail_x_ = Tensor<T>::from_shape(batch_shape(shape, tail));
  tail_y_ = IndexTensor::from_shape({tail});
  current_x_ = &full_x_;
  current_y_ = &full_y_;
  start_epoch(0);
}

template <class T>
void BatchIterator<T>::start_epoch(std::uint64_t epoch) {
  epoch_ = epoch;
  if (shuffle_)
    epoch_order(seed_, epoch, order_);
  else
    std::iota(order_.begin(), order_.end(), std::size_t(0));
  cursor_ = begin_ = rows_ = 0;
}

template <class T>
bool BatchIterator<T>::next() {
  // The data may not change shape under us: the buffers were sized for it.
  if (data_x_.shape(0) != n_ || data_y_.size() != n_ || data_x_.size() != n_ * row_len_)
    fail("BatchIterator: the dataset changed shape to ", shape_str(data_x_.shape()), " / ",
         shape_str(data_y_.shape()), " after the iterator was built");
  if (cursor_ >= n_) return false;
  begin_ = cursor_;
  rows_ = std::min(batch_size_, n_ - cursor_);
  cursor_ += rows_;
  const bool full = rows_ == full_y_.size();
  Tensor<T>& bx = full ? full_x_ : tail_x_;
  IndexTensor& by = full ? full_y_ : tail_y_;
  const T* src = data_x_.data();
  T* dst = bx.data();
  for (std::size_t r = 0; r < rows_; ++r) {
    const std::size_t i = order_[begin_ + r];
    std::copy(src + i * row_len_, src + (i + 1) * row_len_, dst + r * row_len_);
    by(r) = data_y_(i);
  }
  current_x_ = &bx;
  current_y_ = &by;
  return true;
}

template class BatchIterator<float>;
template class BatchIterator<double>;

}  // namespace tapegrad
