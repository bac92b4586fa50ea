#pragma once
// nn::Sequential: layers of any module type applied in order, named "0", "1", …
// (so its parameters are "0.weight", "2.bias", and nested in a parent
// "features.0.weight"), as torch::nn::Sequential.
//
//   nn::Generator gen(0);
//   nn::Sequential<float> mlp{nn::Linear<float>(784, 256, gen), nn::ReLU<float>(),
//                             nn::Linear<float>(256, 10, gen)};
//   Var<float> scores = mlp(tape.borrow(batch));
//
// Use braces when layers draw from one Generator: the elements of a braced list
// are evaluated left to right, so the first Linear draws first with every
// compiler; the order of arguments in parentheses is unspecified (GCC goes
// right to left), which would give other weights elsewhere.
// Layers are moved in and owned on the heap: the references push_back returns,
// and the layers' Parameters, stay valid when the Sequential moves.
#include <cstddef>
#include <memory>
#include <type_traits>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Sequential : public Module<T> {
 public:
  Sequential();
  // Sequential{Linear(...), ReLU(), ...}: every argument a module, moved in
  // (braces: see above).
  template <class... Ms, class = std::enable_if_t<(sizeof...(Ms) > 0) && (std::is_base_of_v<Module<T>, Ms> && ...)>>
  explicit Sequential(Ms... layers) : Sequential() {
    (push_back(std::move(layers)), ...);
  }

  // Appends a layer named by its position; returns the layer as it now lives.
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module<T>, M>>>
  M& push_back(M layer) {
    return static_cast<M&>(push_back(std::unique_ptr<Module<T>>(std::make_unique<M>(std::move(layer)))));
  }
  Module<T>& push_back(std::unique_ptr<Module<T>> layer);

  // Each layer's forward on the previous one's output; an empty Sequential is
  // the identity (as PyTorch's nn.Sequential()).
  Var<T> forward(const Var<T>& x) override;

  std::size_t size() const { return this->child_count(); }
  bool empty() const { return size() == 0; }
  // Layer i; an Error naming the index and the size when i >= size().
  Module<T>& operator[](std::size_t i);
  const Module<T>& operator[](std::size_t i) const;
  // Layer i as its own type M; an Error when it is another type.
  template <class M>
  M& at(std::size_t i) {
    Module<T>& m = (*this)[i];
    if (M* p = dynamic_cast<M*>(&m)) return *p;
    fail_type(i, m);
  }

 private:
  [[noreturn]] void fail_type(std::size_t i, const Module<T>& m) const;
};

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace tapegrad::nn
