#pragma once
// The registry entries of ops/ (ops/registry.cpp, registry_shape.cpp,
// registry_nn.cpp); tapegrad::op_registry() (losses/registry.hpp) joins them with
// the losses'. Read core/op_registry.hpp for what an entry holds.
#include <string>
#include <vector>

#include <tapegrad/core/op_registry.hpp>

namespace tapegrad {

std::vector<OpEntry> elementwise_op_entries();  // elementwise, scalar forms, select, activations
std::vector<OpEntry> structure_op_entries();    // reductions, shape, join, gather, matmul, softmax
std::vector<OpEntry> network_op_entries();      // conv2d, pools, norms, dropout
// one_hot and mask: constants, no gradient.
std::vector<NonDifferentiableOp> ops_non_differentiable();

namespace registry_detail {

// An entry whose op is one generic captureless lambda, converted to its float and
// double function pointers.
template <class F>
OpEntry make_entry(std::string name, int arity, OpCaseGenerator cases, F f, std::string domain = "") {
  OpEntry e;
  e.name = std::move(name);
  e.arity = arity;
  e.cases = cases;
  e.f32 = f;
  e.f64 = f;
  e.domain = std::move(domain);
  return e;
}

// "(2, 3)" or "(2, 3) with (3)": the shapes of a case's inputs.
std::string shapes_label(const std::vector<Tensor<double>>& inputs);
OpCase make_case(std::vector<Tensor<double>> inputs, OpArgs args = {}, const std::string& note = "");

// Moves every element within `gap` of one of `points` to `gap` beyond it (away from
// a kink of clamp, relu, abs).
void keep_away(Tensor<double>& t, const std::vector<double>& points, double gap);

}  // namespace registry_detail
}  // namespace tapegrad
