#pragma once
// Inverted dropout with a seeded mask: y = x·m, m_k = keep_k / (1 − p), so the
// kept elements are scaled by 1/(1 − p) and E[y] = x; backward dx = g·m (the
// same mask). Element k (row-major) is kept iff dropout_uniform(seed, k) >= p,
// so the mask is a pure function of (seed, k, p): the same seed gives the same
// mask on every machine, and nothing here holds random state (nn::Dropout owns
// a generator and draws a fresh seed per training step).
//
// p ∈ [0, 1); any other p (NaN included) is an Error naming dropout and p.
// p = 0 is the identity: x itself is returned and nothing is recorded. The
// scale is static_cast<T>(1 / (1 − p)) computed in double. A dropped element is
// x·0, so a NaN or Inf input stays NaN there (as PyTorch's x·mask).
// Under NoGrad the value is computed and no mask is saved.
#include <cstddef>
#include <cstdint>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

template <class T> Var<T> dropout(const Var<T>& x, double p, std::uint64_t seed);

// The op's uniform draw for element k: the k-th output of SplitMix64 started at
// seed (mix(seed + (k + 1)·0x9E3779B97F4A7C15)), its top 53 bits times 2⁻⁵³, in [0, 1).
double dropout_uniform(std::uint64_t seed, std::size_t k);

}  // namespace tapegrad
