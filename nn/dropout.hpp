#pragma once
// nn::Dropout(p): inverted dropout (ops/dropout.hpp) in training mode, the
// identity in eval mode (its forward returns x itself). The module owns its
// generator, seeded at construction: each training forward draws one 64-bit
// seed from it for the op's mask, so the same seed gives the same sequence of
// masks, and two Dropout layers with different seeds drop independently.
#include <cstdint>

#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Dropout : public Module<T> {
 public:
  // p ∈ [0, 1) (an Error naming Dropout and p otherwise).
  Dropout(double p, std::uint64_t seed);
  // Seeded by one draw from a model's generator.
  Dropout(double p, Generator& gen) : Dropout(p, gen.next_u64()) {}

  Var<T> forward(const Var<T>& x) override;
  double p() const { return p_; }
  // Restarts the sequence of masks from `seed`, as a Dropout constructed with it
  // (torch.manual_seed for this layer alone): a training loop that reseeds every
  // epoch from (run seed, epoch) draws the same masks when resumed mid-run.
  void manual_seed(std::uint64_t seed) { gen_ = Generator(seed); }
  std::string extra_repr() const override;

 private:
  double p_;
  Generator gen_;
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace tapegrad::nn
