// Tape::backward_contribution, for the audit of a training step (core/audit.hpp):
// one record's backward alone, with every gradient it touches put back.
#include <tapegrad/core/tape.hpp>

#include <algorithm>

#include <xtensor/xbuilder.hpp>

namespace tapegrad {

// Each distinct input's gradient is set aside and zeroed, the record's backward
// runs alone, its writes are read off and the set-aside gradients are copied back
// into the same buffers (a parameter's grad keeps its allocation, so an optimizer
// holding it sees nothing move).
template <class T>
void Tape<T>::backward_contribution(std::uint32_t id, std::vector<Tensor<T>>& out) {
  if (id >= size_) fail("backward_contribution: id ", id, " is outside the tape's ", size_, " records");
  Record<T>& r = records_[id];
  if (!r.backward || !r.grad_live)
    fail("backward_contribution: record #", id, " (", r.op, ") has no backward the last sweep ran");
  struct Kept {
    std::uint32_t id;
    bool live;
    Tensor<T> grad;
  };
  std::vector<Kept> kept;
  const auto buffer_of = [this](Record<T>& in) -> Tensor<T>& { return in.param ? in.param->grad : in.grad; };
  for (std::size_t k = 0; k < r.n_inputs; ++k) {
    Record<T>& in = records_[r.inputs[k]];
    if (!in.requires_grad) continue;
    if (std::any_of(kept.begin(), kept.end(), [&](const Kept& e) { return e.id == in.id; })) continue;
    Tensor<T>& g = buffer_of(in);
    kept.push_back(Kept{in.id, in.grad_live, g});
    if (in.param) {
      if (g.shape() != in.param->value.shape()) g = xt::zeros<T>(in.param->value.shape());
      std::fill(g.begin(), g.end(), T(0));  // a parameter's buffer is never fresh: backward adds
    } else {
      in.grad_live = false;  // fresh: backward assigns
    }
  }
  r.backward(*this, r);
  out.assign(r.n_inputs, Tensor<T>());
  for (std::size_t k = 0; k < r.n_inputs; ++k) {
    Record<T>& in = records_[r.inputs[k]];
    if (!in.requires_grad) continue;
    const Tensor<T>& g = buffer_of(in);
    out[k] = in.grad_live ? g : Tensor<T>(xt::zeros<T>(value_of(in.id).shape()));
  }
  for (Kept& e : kept) {
    Record<T>& in = records_[e.id];
    Tensor<T>& g = buffer_of(in);
    if (g.shape() == e.grad.shape())
      std::copy(e.grad.begin(), e.grad.end(), g.begin());
    else
      g = e.grad;
    in.grad_live = e.live;
  }
}

#define TAPEGRAD_TAPE_CONTRIBUTION(T) \
  template void Tape<T>::backward_contribution(std::uint32_t, std::vector<Tensor<T>>&);
TAPEGRAD_TAPE_CONTRIBUTION(float)
TAPEGRAD_TAPE_CONTRIBUTION(double)
#undef TAPEGRAD_TAPE_CONTRIBUTION

}  // namespace tapegrad
