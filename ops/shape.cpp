#include <tapegrad/ops/shape.hpp>

#include <algorithm>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xstorage.hpp>

#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace {

// The requested shape as written by the caller, -1 included, for error messages.
std::string request_str(const std::vector<std::ptrdiff_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// A shape on the stack up to rank 8: reshape, flatten, squeeze and unsqueeze
// allocate nothing per call (a training step's Flatten runs every step).
using SmallShape = xt::svector<std::size_t, 8>;

template <class S>
SmallShape small_shape(const S& s) {
  return SmallShape(s.begin(), s.end());
}

// Resolves one -1 extent as NumPy does: it takes whatever the known extents leave.
template <class S>
SmallShape resolve_shape(const S& from, std::size_t size, const std::vector<std::ptrdiff_t>& shape) {
  SmallShape out(shape.size());
  std::size_t known = 1, known_nonzero = 1;
  bool zero = false;
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
      // a product that wraps would pass as a small size (4 elements into {2^62 + 1, 4})
      if (out[i] != 0 && known_nonzero > static_cast<std::size_t>(-1) / out[i])
        fail("reshape: ", request_str(shape), " has more elements than fit in size_t (reshaping ", shape_str(from),
             ")");
      if (out[i] != 0) known_nonzero *= out[i];
      zero = zero || out[i] == 0;
    }
  }
  known = zero ? 0 : known_nonzero;
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

namespace {

// The same elements in the same row-major order under a new shape of equal size:
// reshape, flatten, squeeze and unsqueeze, each recorded under its own name.
// dX = g read in X's shape
template <class T>
Var<T> relabel(const char* op, Tape<T>& t, const Var<T>& x, const SmallShape& out) {
  const Tensor<T>& X = t.value_of(x.id());
  Record<T>& r = t.push(op, {x}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* dx = t.grad_buffer(r.inputs[0], fresh);
    if (!dx) return;
    if (fresh)
      std::copy(r.grad.cbegin(), r.grad.cend(), dx->begin());
    else
      std::transform(r.grad.cbegin(), r.grad.cend(), dx->cbegin(), dx->begin(),
                     [](T g, T d) { return d + g; });
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    return detail::replay_reshape(x[0], r.value.shape());  // reshape, flatten, squeeze, unsqueeze alike
  });
  r.value.resize(out);
  std::copy(X.cbegin(), X.cend(), r.value.begin());
  return t.commit(r);
}

template <class T>
Tape<T>& shape_tape(const char* op, const Var<T>& x) {
  Tape<T>& t = x.tape(op);
  t.check(x, op);
  return t;
}

// An axis in [-rank, rank) (or [-rank - 1, rank] for unsqueeze, `extra` = 1).
template <class S>
std::size_t axis_of(const char* op, std::ptrdiff_t axis, std::size_t rank, std::size_t extra, const S& shape) {
  const auto n = static_cast<std::ptrdiff_t>(rank + extra);
  if (n == 0) fail(op, ": axis ", axis, " is out of range for shape () (it has no axes)");
  if (axis < -n || axis >= n)
    fail(op, ": axis ", axis, " is out of range [", -n, ", ", n - 1, "] for shape ", shape_str(shape));
  return static_cast<std::size_t>(axis < 0 ? axis + n : axis);
}

}  // namespace

template <class T>
Var<T> reshape(const Var<T>& x, const std::vector<std::ptrdiff_t>& shape) {
  Tape<T>& t = shape_tape("reshape", x);
  const Tensor<T>& X = t.value_of(x.id());
  return relabel("reshape", t, x, resolve_shape(X.shape(), X.size(), shape));
}

template <class T>
Var<T> flatten(const Var<T>& x, std::ptrdiff_t start_axis) {
  Tape<T>& t = shape_tape("flatten", x);
  const SmallShape in = small_shape(t.value_of(x.id()).shape());
  if (in.empty()) {  // a scalar flattens to one element (as torch.flatten)
    if (start_axis != 0 && start_axis != -1) fail("flatten: axis ", start_axis, " is out of range for shape ()");
    return relabel("flatten", t, x, SmallShape{1});
  }
  const std::size_t ax = axis_of("flatten", start_axis, in.size(), 0, in);
  SmallShape out(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ax));
  std::size_t tail = 1;
  for (std::size_t k = ax; k < in.size(); ++k) tail *= in[k];
  out.push_back(tail);
  return relabel("flatten", t, x, out);
}

template <class T>
Var<T> unsqueeze(const Var<T>& x, std::ptrdiff_t axis) {
  Tape<T>& t = shape_tape("unsqueeze", x);
  SmallShape out = small_shape(t.value_of(x.id()).shape());
  const std::size_t ax = axis_of("unsqueeze", axis, out.size(), 1, out);
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), 1);
  return relabel("unsqueeze", t, x, out);
}

template <class T>
Var<T> squeeze(const Var<T>& x) {
  Tape<T>& t = shape_tape("squeeze", x);
  SmallShape out;
  for (std::size_t d : t.value_of(x.id()).shape())
    if (d != 1) out.push_back(d);
  return relabel("squeeze", t, x, out);
}

template <class T>
Var<T> squeeze(const Var<T>& x, std::ptrdiff_t axis) {
  Tape<T>& t = shape_tape("squeeze", x);
  SmallShape out = small_shape(t.value_of(x.id()).shape());
  const std::size_t ax = axis_of("squeeze", axis, out.size(), 0, out);
  if (out[ax] != 1) fail("squeeze: axis ", axis, " of shape ", shape_str(out), " has extent ", out[ax], ", not 1");
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(ax));
  return relabel("squeeze", t, x, out);
}

template <class T>
Var<T> broadcast_to(const Var<T>& x, const Shape& shape) {
  static constexpr const char* kOp = "broadcast_to";
  Tape<T>& t = shape_tape(kOp, x);
  const Tensor<T>& X = t.value_of(x.id());
  const Shape in = to_shape(X.shape());
  // NumPy's rule, one way only: each of x's extents equals the target's or is 1
  bool ok = in.size() <= shape.size();
  for (std::size_t k = 1; ok && k <= in.size(); ++k) {
    const std::size_t d = in[in.size() - k], s = shape[shape.size() - k];
    ok = d == s || d == 1;
  }
  if (!ok) fail(kOp, ": cannot broadcast ", shape_str(in), " to ", shape_str(shape));
  checked_size(kOp, shape);
  // dX = g summed over the broadcast axes (the tape's one unbroadcast)
  Record<T>& r = t.push(kOp, {x}, [](Tape<T>& t, Record<T>& r) {
    t.accumulate_unbroadcast(r.inputs[0], r.grad);
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    return broadcast_to(x[0], to_shape(r.value.shape()));
  });
  r.value.resize(shape);
  xt::noalias(r.value) = xt::broadcast(X, shape);
  return t.commit(r);
}

template <class T>
Var<T> transpose(const Var<T>& x, const std::vector<std::size_t>& perm) {
  Tape<T>& t = shape_tape("transpose", x);
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
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    const IndexTensor& inverse = r.buffer(r.template saved<TransposeSaved>().inverse);
    std::vector<std::size_t> perm(inverse.size());  // perm[perm⁻¹[k]] = k
    for (std::size_t k = 0; k < inverse.size(); ++k) perm[static_cast<std::size_t>(inverse(k))] = k;
    return transpose(x[0], perm);
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
  Tape<T>& t = shape_tape("transpose", x);
  const std::size_t rank = t.value_of(x.id()).dimension();
  std::vector<std::size_t> perm(rank);
  for (std::size_t k = 0; k < rank; ++k) perm[k] = rank - 1 - k;
  return transpose(x, perm);
}

#define TAPEGRAD_INSTANTIATE(T)                                                    \
  template Var<T> reshape(const Var<T>&, const std::vector<std::ptrdiff_t>&);      \
  template Var<T> flatten(const Var<T>&, std::ptrdiff_t);                          \
  template Var<T> unsqueeze(const Var<T>&, std::ptrdiff_t);                        \
  template Var<T> squeeze(const Var<T>&);                                          \
  template Var<T> squeeze(const Var<T>&, std::ptrdiff_t);                          \
  template Var<T> broadcast_to(const Var<T>&, const Shape&);                       \
  template Var<T> transpose(const Var<T>&);                                        \
  template Var<T> transpose(const Var<T>&, const std::vector<std::size_t>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
