#include <tapegrad/core/tape.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/core/broadcast.hpp>
#include <tapegrad/core/checksum.hpp>

namespace tapegrad {

namespace {
// The flat index of the first NaN or Inf, or t.size() when all are finite.
template <class T>
std::size_t first_nonfinite(const Tensor<T>& t) {
  const T* p = t.data();
  for (std::size_t k = 0; k < t.size(); ++k)
    if (!std::isfinite(p[k])) return k;
  return t.size();
}
template <class S>
void set_leaf_shape(xt::svector<std::size_t, 4>& to, const S& shape) {
  to.resize(shape.size());  // keeps its capacity: no allocation once warm
  std::copy(shape.begin(), shape.end(), to.begin());
}

}  // namespace

template <class T>
Tape<T>::~Tape() {
  token_->alive = false;
  detail::release(token_);
}

template <class T>
void Tape<T>::check(const Var<T>& v, const char* op) const {
  if (&v.tape(op) != this) fail(op, ": Var #", v.id_, " belongs to another tape");  // empty, dead: v.tape says
  if (v.generation_ != generation_ || v.id_ >= size_)
    fail(op, ": stale Var #", v.id_, " (recorded before tape.clear())");
}

template <class T>
Record<T>& Tape<T>::new_record(const char* op) {
  if (size_ == records_.size()) records_.emplace_back();
  Record<T>& r = records_[size_];
  r.op = op;
  r.id = static_cast<std::uint32_t>(size_);
  r.n_inputs = 0;
  r.inputs.resize(0);
  r.backward = nullptr;
  r.replay = nullptr;
  r.param = nullptr;
  r.borrowed = nullptr;
  r.requires_grad = false;
  r.grad_live = false;
  r.leaf_checked = false;
  r.forget_saved();
  ++size_;
  return r;
}

template <class T>
Var<T> Tape<T>::watch(Parameter<T>& p) {
  if (anomaly_) {
    const std::size_t k = first_nonfinite(p.value);
    if (k < p.value.size())
      fail("anomaly: watch of parameter '", p.name, "' ", shape_str(p.value.shape()),
           ": element ", k, " is ", p.value.data()[k]);
  }
  Record<T>& r = new_record("watch");
  r.param = &p;
  r.requires_grad = grad_enabled_;
  r.leaf_stamp = p.version();
  r.leaf_data = p.value.data();
  set_leaf_shape(r.leaf_shape, p.value.shape());
  return Var<T>(this, token_, static_cast<std::uint32_t>(size_ - 1), generation_);
}

template <class T>
Var<T> Tape<T>::constant(const Tensor<T>& t) {
  Record<T>& r = new_record("constant");
  r.value.resize(t.shape());  // keeps the buffer when the size is unchanged
  std::copy(t.data(), t.data() + t.size(), r.value.data());
  return commit(r);
}

template <class T>
Var<T> Tape<T>::borrow(const Tensor<T>& t) {
  return borrow_leaf(t, true);
}

template <class T>
Var<T> Tape<T>::borrow_unchecked(const Tensor<T>& t) {
  return borrow_leaf(t, false);
}

template <class T>
Var<T> Tape<T>::borrow_leaf(const Tensor<T>& t, bool checked) {
  if (anomaly_) {
    const std::size_t k = first_nonfinite(t);
    if (k < t.size())
      fail("anomaly: borrowed constant ", shape_str(t.shape()), ": element ", k, " is ", t.data()[k]);
  }
  Record<T>& r = new_record("borrow");
  r.borrowed = &t;
  r.leaf_checked = checked && grad_enabled_;  // under NoGrad no backward will read it
  r.leaf_stamp = r.leaf_checked ? detail::bytes_checksum(t.data(), t.size() * sizeof(T)) : 0;
  r.leaf_data = t.data();
  set_leaf_shape(r.leaf_shape, t.shape());
  return Var<T>(this, token_, static_cast<std::uint32_t>(size_ - 1), generation_);
}

template <class T>
Record<T>& Tape<T>::push(const char* op, std::initializer_list<Var<T>> inputs, BackwardFn backward,
                         ReplayFn replay) {
  return push(op, inputs.begin(), inputs.size(), backward, replay);
}

template <class T>
Record<T>& Tape<T>::push(const char* op, const Var<T>* inputs, std::size_t count, BackwardFn backward,
                         ReplayFn replay) {
  if (count > std::numeric_limits<std::uint32_t>::max()) fail(op, ": ", count, " inputs are too many for one record");
  bool any = false;
  for (std::size_t k = 0; k < count; ++k) {
    check(inputs[k], op);
    any = any || records_[inputs[k].id_].requires_grad;
  }
  Record<T>& r = new_record(op);
  r.inputs.resize(count);  // keeps its capacity: no allocation once warm
  for (std::size_t k = 0; k < count; ++k) r.inputs[k] = inputs[k].id_;
  r.n_inputs = static_cast<std::uint32_t>(count);
  r.requires_grad = grad_enabled_ && any;
  r.backward = r.requires_grad ? backward : nullptr;
  r.replay = replay;
  return r;
}

template <class T>
Var<T> Tape<T>::commit(Record<T>& r) {
  if (anomaly_) check_anomaly_forward(r);
  return Var<T>(this, token_, r.id, generation_);
}

template <class T>
void Tape<T>::unpush(Record<T>& r) {
  if (r.id + 1 != size_) fail("unpush: record #", r.id, " (", r.op, ") is not the last of ", size_);
  --size_;
}

template <class T>
const Tensor<T>& Tape<T>::value_of(std::uint32_t id) const {
  const Record<T>& r = records_[id];
  return r.param ? r.param->value : r.borrowed ? *r.borrowed : r.value;
}

template <class T>
const Record<T>& Tape<T>::record(std::uint32_t id) const {
  if (id >= size_) fail("tape.record: id ", id, " is outside the tape's ", size_, " records");
  return records_[id];
}

template <class T>
void Tape<T>::fail_no_parameter(std::uint32_t id) const {
  fail("backward: the output (record #", id, ", ", records_[id].op,
       ") depends on no watched parameter (only constants, or recorded under NoGrad): no gradient would reach "
       "anything");
}

template <class T>
void Tape<T>::fail_grad_shape(std::uint32_t id, const Shape& got) const {
  const Record<T>& r = records_[id];
  fail("accumulate: gradient of shape ", shape_str(got), " for record #", id, " (", r.op,
       ") whose value has shape ", shape_str(value_of(id).shape()));
}

template <class T>
const Tensor<T>& Tape<T>::value(const Var<T>& v) const {
  check(v, "tape.value");
  return value_of(v.id_);
}

template <class T>
const Tensor<T>& Tape<T>::grad(const Var<T>& v) const {
  check(v, "tape.grad");
  const Record<T>& r = records_[v.id_];
  if (r.param) return r.param->grad;
  if (!r.grad_live)
    fail("tape.grad: no gradient reached Var #", v.id_, " (", r.op, ") in the last backward()");
  return r.grad;
}

template <class T>
Tensor<T>* Tape<T>::grad_buffer(std::uint32_t id, bool& fresh) {
  Record<T>& r = records_[id];
  if (!r.requires_grad) return nullptr;
  if (r.param) {  // a leaf's gradient buffer is its parameter's grad: no copy
    Parameter<T>& p = *r.param;
    if (p.grad.shape() != p.value.shape()) p.zero_grad();
    r.grad_live = true;
    fresh = false;
    return &p.grad;
  }
  fresh = !r.grad_live;
  if (fresh) {
    const Tensor<T>& v = r.value;
    if (r.grad.shape() != v.shape()) r.grad.resize(v.shape());
    r.grad_live = true;
  }
  return &r.grad;
}

template <class T>
void Tape<T>::accumulate_unbroadcast(std::uint32_t id, const Tensor<T>& g) {
  bool fresh = false;
  Tensor<T>* buf = grad_buffer(id, fresh);
  if (!buf) return;
  unbroadcast_into(*buf, g, fresh);
}

// Forgets every record gradient of the previous sweep, including those of
// records after this loss, so tape.grad never returns a stale gradient.
template <class T>
void Tape<T>::start_sweep(const Var<T>&) {
  for (std::size_t i = 0; i < size_; ++i) records_[i].grad_live = false;
}

template <class T>
void Tape<T>::backward(const Var<T>& loss) {
  check(loss, "backward");
  const Tensor<T>& v = value_of(loss.id_);
  if (v.size() != 1)
    fail("backward: loss must be a scalar (one element), got shape ", shape_str(v.shape()),
         "; pass a seed of that shape for a non-scalar output");
  if (!records_[loss.id_].requires_grad) fail_no_parameter(loss.id_);
  check_leaves(loss.id_);
  start_sweep(loss);
  bool fresh = false;
  Tensor<T>* g = grad_buffer(loss.id_, fresh);
  if (fresh)
    g->fill(T(1));
  else
    *g += T(1);
  sweep(loss.id_);
}

template <class T>
void Tape<T>::backward(const Var<T>& loss, const Tensor<T>& seed) {
  check(loss, "backward");
  const Tensor<T>& v = value_of(loss.id_);
  if (seed.shape() != v.shape())
    fail("backward: seed shape ", shape_str(seed.shape()), " differs from output shape ",
         shape_str(v.shape()));
  if (!records_[loss.id_].requires_grad) fail_no_parameter(loss.id_);
  check_leaves(loss.id_);
  start_sweep(loss);
  accumulate(loss.id_, seed);
  sweep(loss.id_);
}

template <class T>
void Tape<T>::sweep(std::uint32_t from) {
  for (std::int64_t i = from; i >= 0; --i) {
    Record<T>& r = records_[static_cast<std::size_t>(i)];
    if (!r.grad_live || !r.backward) continue;  // no parameter depends on it
    r.backward(*this, r);
    if (anomaly_) check_anomaly_backward(r);
  }
}

template <class T>
void Tape<T>::clear() {
  size_ = 0;
  ++generation_;
}

template <class T>
std::string Tape<T>::input_shapes(const Record<T>& r) const {
  std::string s;
  for (std::size_t k = 0; k < r.n_inputs; ++k) {
    if (k) s += ", ";
    s += shape_str(value_of(r.inputs[k]).shape());
  }
  return "[" + s + "]";
}

template <class T>
void Tape<T>::check_anomaly_forward(const Record<T>& r) const {
  const std::size_t k = first_nonfinite(r.value);
  if (k < r.value.size())
    fail("anomaly: op '", r.op, "' (record #", r.id, ", inputs ", input_shapes(r),
         ") produced a NaN or Inf value: element ", k, " of ", shape_str(r.value.shape()), " is ",
         r.value.data()[k]);
}

template <class T>
void Tape<T>::check_anomaly_backward(const Record<T>& r) const {
  for (std::size_t k = 0; k < r.n_inputs; ++k) {
    const Record<T>& in = records_[r.inputs[k]];
    if (!in.grad_live) continue;
    const Tensor<T>& g = in.param ? in.param->grad : in.grad;
    const std::size_t e = first_nonfinite(g);
    if (e < g.size())
      fail("anomaly: backward of op '", r.op, "' (record #", r.id, ", inputs ",
           input_shapes(r), ") produced a NaN or Inf gradient: element ", e, " of input ", k,
           " (record #", in.id, ", ", in.op, ") is ", g.data()[e]);
  }
}

template class Tape<float>;
template class Tape<double>;

}  // namespace tapegrad
