#pragma once
// What the nn tests share (tests/nn/*, tests/io/test_module_state.cpp): a user
// module with children held by reference, a nested Sequential and a buffer; a
// central-difference check of a module's parameter gradients; bitwise tensor
// equality.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/sequential.hpp>
#include "support/support.hpp"

namespace tapegrad::nn_test {

using namespace tapegrad::nn;

// fc1 (3 -> 4), ReLU, features = Sequential{Linear(4 -> 2), Tanh}; a buffer
// "steps" (2) that forward does not read. Children are references to what the
// module owns on the heap, so a moved Net keeps them.
template <class T>
struct Net : Module<T> {
  Linear<T>& fc1;
  Sequential<T>& features;
  Tensor<T>& steps;

  explicit Net(Generator& g, std::size_t hidden = 4)
      : Module<T>("Net"),
        fc1(this->register_module("fc1", Linear<T>(3, hidden, g))),
        features(this->register_module("features", Sequential<T>{Linear<T>(hidden, 2, g), Tanh<T>()})),
        steps(this->register_buffer("steps", Tensor<T>{T(0), T(0)})) {}

  Var<T> forward(const Var<T>& x) override { return features(relu(fc1(x))); }
};

inline bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
inline bool same_bits(const Tensor<double>& a, const Tensor<double>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// Checks dL/dθ of L = weighted_sum(model(x)) for every parameter element θ
// against central differences (double precision). Returns the worst failure,
// or "" when every element passes |a − n| <= atol + rtol·|n|.
inline std::string parameter_gradcheck(Module<double>& model, const Tensor<double>& x, double h = 1e-6,
                                       double atol = 1e-7, double rtol = 1e-5) {
  auto loss = [&](bool backward) {
    Tape<double> t;
    const Var<double> l = testing::weighted_sum(model(t.constant(x)), 99);
    if (backward) t.backward(l);
    return l.value().data()[0];
  };
  model.zero_grad();
  loss(true);
  for (auto& [name, p] : model.named_parameters()) {
    for (std::size_t k = 0; k < p->value.size(); ++k) {
      double& v = p->value.data()[k];
      const double v0 = v;
      v = v0 + h;
      const double up = loss(false);
      v = v0 - h;
      const double down = loss(false);
      v = v0;
      const double numeric = (up - down) / (2 * h), analytic = p->grad.data()[k];
      if (!(std::abs(analytic - numeric) <= atol + rtol * std::abs(numeric)))
        return name + "[" + std::to_string(k) + "]: analytic " + std::to_string(analytic) + ", numeric " +
               std::to_string(numeric);
    }
  }
  return "";
}

}  // namespace tapegrad::nn_test
