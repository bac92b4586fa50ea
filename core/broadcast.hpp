#pragma once
// NumPy broadcasting for the binary ops, and its adjoint: the gradient of a
// broadcast input is the output gradient summed over the axes it was stretched
// along (tinygrad's unbroadcast). One helper serves every binary op.
#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

// The broadcast shape of a and b under NumPy's rules, or an Error naming `op`.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

// Throws broadcast_shape's Error unless a and b broadcast; allocates nothing when
// they do (it runs on every binary op of every training step).
template <class SA, class SB>
void check_broadcastable(const char* op, const SA& a, const SB& b) {
  const std::size_t ra = a.size(), rb = b.size();
  for (std::size_t k = 1; k <= ra && k <= rb; ++k) {
    const std::size_t da = a[ra - k], db = b[rb - k];
    if (da != db && da != 1 && db != 1) broadcast_shape(op, to_shape(a), to_shape(b));
  }
}

// dst (+)= g summed down to dst's shape. dst's shape must broadcast to g's (else an
// Error naming "unbroadcast"); rank-0 dst sums everything, an empty g adds 0.
// fresh: dst holds nothing yet, so assign rather than add.
template <class T>
void unbroadcast_into(Tensor<T>& dst, const Tensor<T>& g, bool fresh);

extern template void unbroadcast_into<float>(Tensor<float>&, const Tensor<float>&, bool);
extern template void unbroadcast_into<double>(Tensor<double>&, const Tensor<double>&, bool);

}  // namespace tapegrad
