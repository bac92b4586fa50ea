#include <tapegrad/ops/shape.hpp>

#include <algorithm>

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xstorage.hpp>

namespace tapegrad {

namespace {

// The requested shape as written by the caller, -1 included, for error messages.
std::string request_str(const std::vector<std::ptrdiff_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// Resolves one -1 extent as NumPy does: it takes whatever the known extents leave.
template <class S>
Shape resolve_shape(const S& from, std::size_t size, const std::vector<std::ptrdiff_t>& shape) {
  Shape out(shape.size());
  std::size_t known = 1;
  std::ptrdiff_t inferred = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0)
        fail("reshape: more than one -1 in ", request_str(shape), " (reshaping ", shape_str(from), ")");
      inferred = static_cast<std::ptrdiff_t>(i);
    } else if (shape[i] < 0) {
      fail("reshape: negative extent ", shape[i], " in ", request_str(shape), " (reshaping ",
           shape_str(from), ")");
    } else {
      out[i] = static_cast<std::size_t>(shape[i]);
      known *= out[i];
    }
  }
  if (inferred >= 0) {
    // with a zero known extent any -1 fits (NumPy rejects this too)
    if (known == 0 || size % known != 0)
      fail("reshape: cannot infer -1 in ", request_str(shape), " for ", shape_str(from), " (", size,
           " elements)");
    out[static_cast<std::size_t>(inferred)] = size / known;
  } else if (known != size) {
    fail("reshape: cannot reshape ", shape_str(from), " (", size, " elements) into ", request_str(shape),
         " (", known, " elements)");
  }
  return out;
}

// Permutation applied by the backward of a transpose, stored in the record as
// int64 and expanded here without touching the heap for rank <= 8.
using Perm = xt::svector<std::size_t, 8>;

// What transpose's backward needs: the inverse permutation (any rank).
struct TransposeSaved {
  Slot<IndexTensor> inverse;
};

}  // namespace

template <class T>
Var<T> reshape(const Var<T>& x, const std::vector<std::ptrdiff_t>& shape) {
  Tape<T>& t = x.tape();
  t.check(x, "reshape");
  const Tensor<T>& X = t.value_of(x.id());
  const Shape out = resolve_shape(X.shape(), X.size(), shape);
  // dX = reshape(g, shape of X): the same elements in the same row-major order
  Record<T>& r = t.push("reshape", {x}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh)
      std::copy(r.grad.cbegin(), r.grad.cend(), dx->begin());
    else
      std::transform(r.grad.cbegin(), r.grad.cend(), dx->cbegin(), dx->begin(),
                     [](T g, T d) { return d + g; });
  });
  r.value.resize(out);
  std::copy(X.cbegin(), X.cend(), r.value.begin());
  return t.commit(r);
}

template <class T>
Var<T> transpose(const Var<T>& x, const std::vector<std::size_t>& perm) {
  Tape<T>& t = x.tape();
  t.check(x, "transpose");
  const Tensor<T>& X = t.value_of(x.id());
  const std::size_t rank = X.dimension();
  if (perm.size() != rank)
    fail("transpose: permutation ", shape_str(perm), " has ", perm.size(), " axes for rank-", rank,
         " input ", shape_str(X.shape()));
  std::vector<bool> seen(rank, false);
  for (std::size_t p : perm) {
    if (p >= rank || seen[p])
      fail("transpose: ", shape_str(perm), " is not a permutation of the axes of ", shape_str(X.shape()));
    seen[p] = true;
  }
  // out axis k is X's axis perm[k], so dX = transpose(g, perm⁻¹) with perm⁻¹[perm[k]] = k
  Record<T>& r = t.push("transpose", {x}, [](Tape<T>& t, Record<T>& r) {
    const IndexTensor& saved = r.buffer(r.template saved<TransposeSaved>().inverse);
    Perm inverse(saved.size());
    std::copy(saved.cbegin(), saved.cend(), inverse.begin());
    t.accumulate(r.inputs[0], xt::transpose(r.grad, inverse));
  });
  if (r.requires_grad) {
    const TransposeSaved& saved = r.save(TransposeSaved{r.template claim<IndexTensor>()});
    IndexTensor& inverse = r.buffer(saved.inverse);
    inverse.resize({rank});
    for (std::size_t k = 0; k < rank; ++k) inverse(perm[k]) = static_cast<std::int64_t>(k);
  }
  xt::noalias(r.value) = xt::transpose(X, perm);  // resizes in place: a reused buffer stays
  return t.commit(r);
}

template <class T>
Var<T> transpose(const Var<T>& x) {
  Tape<T>& t = x.tape();
  t.check(x, "transpose");
  const std::size_t rank = t.value_of(x.id()).dimension();
  std::vector<std::size_t> perm(rank);
  for (std::size_t k = 0; k < rank; ++k) perm[k] = rank - 1 - k;
  return transpose(x, perm);
}

#define TAPEGRAD_INSTANTIATE(T)                                                    \
  template Var<T> reshape(const Var<T>&, const std::vector<std::ptrdiff_t>&);      \
  template Var<T> transpose(const Var<T>&);                                        \
  template Var<T> transpose(const Var<T>&, const std::vector<std::size_t>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
