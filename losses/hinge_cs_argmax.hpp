#pragma once
// The fused multiclass hinge's Crammer–Singer kernel, cs_argmax (any dtype and
// width): the forward saves where each row's maximum first occurs and how many
// wrong classes tie, two words per row, so the backward touches only those entries
// and the true class (and reads a row again only for ties). The forward checks
// labels and finiteness in the same pass and returns false on bad input. Built on
// the segment loops of losses/hinge_rows.hpp; internal to losses/hinge_fused.cpp.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <tapegrad/losses/hinge_kernels.hpp>
#include <tapegrad/losses/hinge_rows.hpp>

namespace tapegrad::hinge_cs_argmax {

using hinge_impl::Problem;
using hinge_impl::Upstream;
using namespace hinge_rows;  // Batch, lane_sum, max_of, tie_scan, cs_spread, term, slope

// Crammer–Singer that remembers each row's maximum: saved[2i] = first, where the
// largest wrong-class score m first occurs, and saved[2i + 1] = how many wrong
// classes equal it. Row losses into out (when given), Σ_i into total, and the input
// checks ride along (the row is still in L1 for the tie scan). False on a label
// outside [0, C) or a non-finite score.
template <int P, class T>
bool forward_cs_saved(const Problem<T>& pr, T* out, std::uint64_t* saved, double& total) {
  Batch<T> fin(T(0));
  double sum = 0;
  for (std::size_t i = 0; i < pr.n; ++i) {
    const std::uint64_t y = static_cast<std::uint64_t>(pr.y[i]);
    if (y >= pr.c) return false;
    const T* row = pr.s + i * pr.c;
    const T sy = row[y];
    fin += Batch<T>(sy - sy);
    const T m = max_of<true>(row, y + 1, pr.c,
                             max_of<true>(row, 0, y, -std::numeric_limits<T>::infinity(), &fin), &fin);
    std::size_t first = pr.c;
    const std::size_t ties = tie_scan(row, 0, y, m, pr.c, first) + tie_scan(row, y + 1, pr.c, m, pr.c, first);
    saved[2 * i] = first;
    saved[2 * i + 1] = ties;
    T li = term<P>((m - sy) + pr.delta);
    if (pr.w) li *= pr.w[y];
    if (out) out[i] = li;
    sum += li;
  }
  total = sum;
  return lane_sum(fin) == T(0);
}

// The mirror of forward_cs_saved: dz = gi · slope((m − s_y) + Δ) with m = s[first],
// split evenly among the ties, −dz to the true class; written (Fresh) or added into g.
template <int P, bool Fresh, class T>
void backward_cs_saved(const Problem<T>& pr, const Upstream<T>& u, const std::uint64_t* saved, T* g) {
  for (std::size_t i = 0; i < pr.n; ++i) {
    const T* row = pr.s + i * pr.c;
    T* grow = g + i * pr.c;
    if (Fresh) std::fill(grow, grow + pr.c, T(0));
    const std::size_t first = static_cast<std::size_t>(saved[2 * i]), ties = static_cast<std::size_t>(saved[2 * i + 1]);
    if (ties == 0) continue;  // C = 1: no wrong class, no loss
    const std::size_t y = static_cast<std::size_t>(pr.y[i]);
    T gi = u.row(i);
    if (pr.w) gi *= pr.w[y];
    const T m = row[first];
    const T dz = slope<P>((m - row[y]) + pr.delta) * gi;
    if (dz != T(0)) {
      if (ties == 1) {
        grow[first] += dz;
      } else {
        const T share = dz / static_cast<T>(ties);
        cs_spread<false>(row, grow, 0, y, m, share);
        cs_spread<false>(row, grow, y + 1, pr.c, m, share);
      }
    }
    grow[y] = Fresh ? -dz : grow[y] + -dz;
  }
}

// ---- entry points (p and fresh as template arguments) ----------------------------

template <class T>
bool forward(const Problem<T>& pr, T* out, std::uint64_t* saved, double& total) {
  return pr.p == 1 ? forward_cs_saved<1>(pr, out, saved, total) : forward_cs_saved<2>(pr, out, saved, total);
}
template <class T>
void backward(const Problem<T>& pr, const Upstream<T>& u, const std::uint64_t* saved, bool fresh, T* g) {
  if (pr.p == 1)
    fresh ? backward_cs_saved<1, true>(pr, u, saved, g) : backward_cs_saved<1, false>(pr, u, saved, g);
  else
    fresh ? backward_cs_saved<2, true>(pr, u, saved, g) : backward_cs_saved<2, false>(pr, u, saved, g);
}

}  // namespace tapegrad::hinge_cs_argmax
