#pragma once
// The full op registry: every differentiable op of ops/ and losses/ (the ops behind
// nn's layers included), built on each call from the entries beside the ops
// (ops/registry*.cpp) and the losses' (losses/registry.cpp). No global state: a
// caller that needs it often keeps the vector. Read core/op_registry.hpp for what an
// entry holds, docs/design.md "Registering an op" for how to add one.
#include <vector>

#include <tapegrad/core/op_registry.hpp>

namespace tapegrad {

std::vector<OpEntry> op_registry();

// The ops declared in ops/ and losses/ that return a Var but have no gradient
// (constants): one_hot, mask.
std::vector<NonDifferentiableOp> non_differentiable_ops();

// The losses' entries alone: the hinge in both kinds (fused, reference, composed and
// every forced kernel) and softmax cross-entropy (the same three, two kernels).
std::vector<OpEntry> loss_op_entries();

}  // namespace tapegrad
