#pragma once
// Seeded mini-batches: each epoch visits every row exactly once in an order
// that depends only on (seed, epoch) — deterministic across runs and platforms
// (our own Fisher–Yates over std::mt19937_64, not std::shuffle, whose
// algorithm the standard leaves open), and resumable at any epoch without
// replaying earlier ones. The last partial batch is kept.
//
//   BatchIterator<float> it(data.train_images, data.train_labels, 64, seed);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     it.start_epoch(epoch);
//     while (it.next()) train_on(it.x(), it.y());
//   }
//
// Batches are copied contiguously into buffers the iterator keeps and reuses:
// one set shaped for full batches, one for the partial tail, so the steady
// state allocates nothing.
#include <cstdint>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

// The row order of one epoch: a permutation of [0, n) from (seed, epoch).
void epoch_order(std::uint64_t seed, std::uint64_t epoch, std::vector<std::size_t>& order);

template <class T>
class BatchIterator {
 public:
  // x holds one example per row along axis 0 (any rank >= 1); y one label per
  // row. Both are referenced, not copied: they must outlive the iterator.
  BatchIterator(const Tensor<T>& x, const IndexTensor& y, std::size_t batch_size, std::uint64_t seed,
                bool shuffle = true);
  BatchIterator(Tensor<T>&&, const IndexTensor&, std::size_t, std::uint64_t, bool = true) = delete;
  BatchIterator(const Tensor<T>&, IndexTensor&&, std::size_t, std::uint64_t, bool = true) = delete;

  // Rewinds to the start of `epoch`, in the order (seed, epoch) fixes (the
  // identity order when shuffle is off).
  void start_epoch(std::uint64_t epoch);
  // Copies the next batch into x()/y(); false once the epoch is exhausted.
  bool next();

  const Tensor<T>& x() const { return *current_x_; }
  const IndexTensor& y() const { return *current_y_; }
  // The dataset rows of the current batch, in batch order.
  const std::size_t* indices() const { return order_.data() + begin_; }
  std::size_t batch_rows() const { return rows_; }

  std::size_t num_batches() const { return (n_ + batch_size_ - 1) / batch_size_; }
  std::size_t batch_size() const { return batch_size_; }
  std::uint64_t epoch() const { return epoch_; }
  const std::vector<std::size_t>& order() const { return order_; }

 private:
  const Tensor<T>& data_x_;
  const IndexTensor& data_y_;
  std::size_t n_, row_len_, batch_size_;
  std::uint64_t seed_;
  bool shuffle_;
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> order_;
  std::size_t begin_ = 0, rows_ = 0, cursor_ = 0;
  Tensor<T> full_x_, tail_x_;
  IndexTensor full_y_, tail_y_;
  const Tensor<T>* current_x_;
  const IndexTensor* current_y_;
};

extern template class BatchIterator<float>;
extern template class BatchIterator<double>;

}  // namespace tapegrad
