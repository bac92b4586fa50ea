#pragma once
// Two kernels of the fused multiclass hinge for float scores on AVX-512 (internal to
// losses/hinge_fused.cpp; losses/hinge_dispatch.cpp says when each runs):
//  - small_avx512: rows of 1 to 16 classes, both kinds. One masked vector holds a
//    whole row, so a row costs a handful of instructions instead of two segment
//    loops with tails; the backward recomputes z from the scores.
//  - ww_bits_avx512: Weston–Watkins with p = 1, any width. The forward also saves
//    which terms violate (z > 0), one bit per score, and the backward reads those
//    bits instead of the scores (at 4096×1000: 0.5 MB instead of 16 MB). For p = 1
//    the bit is all the backward needs: ds_j = gi for a violating j.
// Both forwards check labels and finiteness in the same pass and return false on bad
// input. Every kernel computes z = (s_j − s_y) + Δ and tests z > 0 exactly as the
// reference (losses/hinge_reference.cpp) and the composed path do.
#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstdint>
#include <limits>

#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_kernels.hpp>
#include <tapegrad/losses/hinge_rows.hpp>

namespace tapegrad::hinge_avx512 {

using hinge_impl::Problem;
using hinge_impl::Upstream;
using hinge_rows::slope;
using hinge_rows::term;

constexpr std::size_t kSmallC = 16;  // classes that fit one vector

inline __mmask16 col_mask(std::size_t c) { return static_cast<__mmask16>((1u << c) - 1u); }

// The forward of the whole batch and the input checks in one pass: false when a
// label is outside [0, C) or a score is not finite (the caller then runs the full
// check, which throws the precise message). x − x is 0 for finite x, NaN otherwise.
// Without PerRow (no weights, a reduction) Weston–Watkins terms pile up in a vector
// and reach the double total every 16 rows, not through a horizontal sum per row;
// with it, each row's loss (times w[y_i]) goes into out when given.
template <int P, bool PerRow>
bool forward_small(const Problem<float>& pr, float* out, double& total) {
  const __mmask16 cols = col_mask(pr.c);
  const __m512 vd = _mm512_set1_ps(pr.delta), zero = _mm512_setzero_ps();
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 fin = zero, acc = zero;
  double sum = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const std::uint64_t y = static_cast<std::uint64_t>(pr.y[i]);
    if (y >= pr.c) return false;
    const float* row = pr.s + i * pr.c;
    const __m512 x = _mm512_maskz_loadu_ps(cols, row);
    fin = _mm512_add_ps(fin, _mm512_sub_ps(x, x));
    const __mmask16 wrong = static_cast<__mmask16>(cols & ~(1u << y));
    const float sy = row[y];
    float li;
    if (pr.kind == HingeKind::weston_watkins) {
      const __m512 z = _mm512_add_ps(_mm512_sub_ps(x, _mm512_set1_ps(sy)), vd);
      const __mmask16 viol = _mm512_mask_cmp_ps_mask(wrong, z, zero, _CMP_GT_OQ);
      const __m512 terms = P == 1 ? z : _mm512_mul_ps(z, z);
      if (!PerRow) {
        acc = _mm512_mask_add_ps(acc, viol, acc, terms);
        if (i % 16 == 15) {
          sum += _mm512_reduce_add_ps(acc);
          acc = zero;
        }
        continue;
      }
      li = _mm512_mask_reduce_add_ps(viol, terms);
    } else {
      const float m = _mm512_reduce_max_ps(_mm512_mask_blend_ps(wrong, ninf, x));
      li = term<P>((m - sy) + pr.delta);
    }
    if (PerRow && pr.w) li *= pr.w[y];
    if (PerRow && out) out[i] = li;
    sum += li;
  }
  total = sum + _mm512_reduce_add_ps(acc);
  return _mm512_cmp_ps_mask(fin, zero, _CMP_EQ_OQ) == 0xFFFF;
}

// The mirror of forward_small: the same z, the same z > 0; written (Fresh) or added into g.
template <int P, bool Fresh>
void backward_small(const Problem<float>& pr, const Upstream<float>& u, float* g) {
  const std::size_t c = pr.c;
  const float delta = pr.delta;
  const __mmask16 cols = col_mask(c);
  const __m512 vd = _mm512_set1_ps(delta), zero = _mm512_setzero_ps();
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  // Adding into g: a row's masked load would overlap the previous rows' masked
  // stores within 64 bytes and wait for them (no store forwarding between masked
  // accesses: ~70% of the time went there). So rows are loaded `ahead` rows early,
  // past every store whose 64-byte span can reach them, into a small ring.
  const std::size_t ahead = Fresh ? 0 : (kSmallC + c - 1) / c - 1, ring_size = ahead + 1;
  __m512 ring[kSmallC];
  if (!Fresh)
    for (std::size_t r = 0; r < ahead && r < pr.n; ++r) ring[r] = _mm512_maskz_loadu_ps(cols, g + r * c);
  std::size_t slot = 0, next = ahead;  // ring slots of row i and of row i + ahead
  for (std::size_t i = 0; i < pr.n; ++i) {
    const float* row = pr.s + i * c;
    float* grow = g + i * c;
    if (!Fresh && i + ahead < pr.n) ring[next] = _mm512_maskz_loadu_ps(cols, grow + ahead * c);
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    const float sy = row[y];
    float gi = u.row(i);
    if (pr.w) gi *= pr.w[y];
    const __m512 x = _mm512_maskz_loadu_ps(cols, row);
    const __mmask16 wrong = static_cast<__mmask16>(cols & ~(1u << y));
    __m512 d;
    float dy;
    if (pr.kind == HingeKind::weston_watkins) {
      const __m512 z = _mm512_add_ps(_mm512_sub_ps(x, _mm512_set1_ps(sy)), vd);
      const __mmask16 viol = _mm512_mask_cmp_ps_mask(wrong, z, zero, _CMP_GT_OQ);
      if (P == 1) {  // Σ_j ds_j = gi · (number of violations)
        d = _mm512_maskz_mov_ps(viol, _mm512_set1_ps(gi));
        dy = -gi * static_cast<float>(__builtin_popcount(viol));
      } else {
        d = _mm512_maskz_mul_ps(viol, _mm512_add_ps(z, z), _mm512_set1_ps(gi));
        dy = -_mm512_reduce_add_ps(d);
      }
    } else {
      const float m = _mm512_reduce_max_ps(_mm512_mask_blend_ps(wrong, ninf, x));
      const float dz = slope<P>((m - sy) + delta) * gi;
      d = zero;
      if (dz != 0.0f) {  // split evenly among the tied maxima
        const __mmask16 ties = _mm512_mask_cmp_ps_mask(wrong, x, _mm512_set1_ps(m), _CMP_EQ_OQ);
        d = _mm512_maskz_mov_ps(ties, _mm512_set1_ps(dz / static_cast<float>(__builtin_popcount(ties))));
      }
      dy = -dz;
    }
    // lane y (0 so far) takes dy before the one store: a scalar grow[y] update
    // right after the vector store would stall on store forwarding every row
    d = _mm512_mask_mov_ps(d, static_cast<__mmask16>(1u << y), _mm512_set1_ps(dy));
    if (!Fresh) {
      d = _mm512_add_ps(d, ring[slot]);
      slot = slot + 1 == ring_size ? 0 : slot + 1;
      next = next + 1 == ring_size ? 0 : next + 1;
    }
    _mm512_mask_storeu_ps(grow, cols, d);
  }
}

using hinge_impl::mask_words;  // words of violation bits per row

// Wide rows stream from memory: prefetching 4 KB ahead of the loads gains ~7%
// at 4096×1000 (prefetches past the end are harmless).
constexpr std::size_t kAhead = 1024;

// Weston–Watkins, p = 1, rows wider than one vector: row losses into out[i] (when
// given, times w[y_i] when weights are given), Σ_i into total, the violation bits
// into bits, and the input checks, in one pass. False on bad input, as above.
// Each 64-column block builds its mask word in a register and alternates two
// accumulators, so no chain of dependent adds or stores limits the pass.
inline bool forward_ww1_masked(const Problem<float>& pr, float* out, std::uint64_t* bits, double& total) {
  const std::size_t c = pr.c;
  const float* w = pr.w;
  const std::size_t words = mask_words(c);
  const __m512 vd = _mm512_set1_ps(pr.delta), zero = _mm512_setzero_ps();
  __m512 fin0 = zero, fin1 = zero;
  double sum = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const std::uint64_t y = static_cast<std::uint64_t>(pr.y[i]);
    if (y >= c) return false;
    const float* row = pr.s + i * c;
    const __m512 vsy = _mm512_set1_ps(row[y]);
    __m512 acc0 = zero, acc1 = zero;
    // columns [j, j + 16) under `cols`: adds the violating z into acc, returns their bits
    const auto chunk = [&](std::size_t j, __mmask16 cols, __m512& acc, __m512& fin) {
      _mm_prefetch(reinterpret_cast<const char*>(row + j + kAhead), _MM_HINT_T0);
      const __m512 x = _mm512_maskz_loadu_ps(cols, row + j);
      fin = _mm512_add_ps(fin, _mm512_sub_ps(x, x));
      const __m512 z = _mm512_add_ps(_mm512_sub_ps(x, vsy), vd);
      const unsigned not_y = y - j < 16 ? ~(1u << (y - j)) : ~0u;  // the true class never violates
      const __mmask16 viol = static_cast<__mmask16>(_mm512_mask_cmp_ps_mask(cols, z, zero, _CMP_GT_OQ) & not_y);
      acc = _mm512_mask_add_ps(acc, viol, acc, z);
      return static_cast<std::uint64_t>(viol);
    };
    std::uint64_t* brow = bits + i * words;
    std::size_t j = 0;
    for (; j + 64 <= c; j += 64)
      brow[j / 64] = chunk(j, 0xFFFF, acc0, fin0) | chunk(j + 16, 0xFFFF, acc1, fin1) << 16 |
                     chunk(j + 32, 0xFFFF, acc0, fin0) << 32 | chunk(j + 48, 0xFFFF, acc1, fin1) << 48;
    if (j < c) {
      std::uint64_t word = 0;
      for (std::size_t k = 0; j + k < c; k += 16)
        word |= chunk(j + k, c - j - k >= 16 ? __mmask16(0xFFFF) : col_mask(c - j - k), acc0, fin0) << k;
      brow[j / 64] = word;
    }
    float li = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (w) li *= w[y];
    if (out) out[i] = li;
    sum += li;
  }
  total = sum;
  return _mm512_cmp_ps_mask(_mm512_add_ps(fin0, fin1), zero, _CMP_EQ_OQ) == 0xFFFF;
}

// The mirror of forward_ww1_masked: ds_j = gi for each violating bit, ds_y = −gi·count.
template <bool Fresh>
void backward_ww1_masked(const Problem<float>& pr, const Upstream<float>& u, const std::uint64_t* bits, float* g) {
  const std::size_t c = pr.c;
  const std::size_t words = mask_words(c);
  for (std::size_t i = 0; i < pr.n; ++i) {
    const std::uint64_t* brow = bits + i * words;
    float* grow = g + i * c;
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    float gi = u.row(i);
    if (pr.w) gi *= pr.w[y];
    std::size_t count = 0;
    for (std::size_t k = 0; k < words; ++k) count += static_cast<std::size_t>(__builtin_popcountll(brow[k]));
    const __m512 vgi = _mm512_set1_ps(gi), vdy = _mm512_set1_ps(-gi * static_cast<float>(count));
    // dy rides in lane y of its chunk's store (no scalar read-modify-write after it)
    for (std::size_t j = 0; j < c; j += 16) {
      const __mmask16 viol = static_cast<__mmask16>(brow[j / 64] >> (j % 64));
      __m512 d = _mm512_maskz_mov_ps(viol, vgi);
      if (y - j < 16) d = _mm512_mask_mov_ps(d, static_cast<__mmask16>(1u << (y - j)), vdy);
      if (c - j >= 16) {
        _mm512_storeu_ps(grow + j, Fresh ? d : _mm512_add_ps(_mm512_loadu_ps(grow + j), d));
      } else {
        const __mmask16 cols = col_mask(c - j);
        _mm512_mask_storeu_ps(grow + j, cols, Fresh ? d : _mm512_add_ps(_mm512_maskz_loadu_ps(cols, grow + j), d));
      }
    }
  }
}

// ---- entry points (p and fresh as template arguments) ----------------------------

inline bool small_forward(const Problem<float>& pr, float* out, double& total) {
  const bool per_row = out || pr.w;
  if (pr.p == 1) return per_row ? forward_small<1, true>(pr, out, total) : forward_small<1, false>(pr, out, total);
  return per_row ? forward_small<2, true>(pr, out, total) : forward_small<2, false>(pr, out, total);
}
inline void small_backward(const Problem<float>& pr, const Upstream<float>& u, bool fresh, float* g) {
  if (pr.p == 1)
    fresh ? backward_small<1, true>(pr, u, g) : backward_small<1, false>(pr, u, g);
  else
    fresh ? backward_small<2, true>(pr, u, g) : backward_small<2, false>(pr, u, g);
}
inline bool ww_bits_forward(const Problem<float>& pr, float* out, std::uint64_t* bits, double& total) {
  return forward_ww1_masked(pr, out, bits, total);
}
inline void ww_bits_backward(const Problem<float>& pr, const Upstream<float>& u, const std::uint64_t* bits, bool fresh,
                             float* g) {
  fresh ? backward_ww1_masked<true>(pr, u, bits, g) : backward_ww1_masked<false>(pr, u, bits, g);
}

}  // namespace tapegrad::hinge_avx512
#endif
