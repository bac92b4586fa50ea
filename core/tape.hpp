#pragma once
// The tape (a Wengert list): an append-only list of records in creation order,
// which is a topological order, so the reverse sweep is one backwards loop.
// Parameter and Var are in core/var.hpp, Record and the saved state in core/record.hpp.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/core/error.hpp>
#include <tapegrad/core/record.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/core/var.hpp>

namespace tapegrad {

template <class T>
class Tape {
 public:
  using BackwardFn = typename Record<T>::BackwardFn;
  using ReplayFn = typename Record<T>::ReplayFn;

  Tape() = default;
  Tape(const Tape&) = delete;  // Vars point at their tape: it must not move
  Tape& operator=(const Tape&) = delete;
  ~Tape();

  // Leaves.
  Var<T> watch(Parameter<T>& p);
  Var<T> constant(const Tensor<T>& t);
  // A constant leaf that refers to t instead of copying it (a data batch reused
  // every step): t must outlive the tape's records (until clear() or the tape's
  // end) and must not change while they are in use. Its value is read through
  // value()/value_of(), not record(id).value (which holds no copy).
  Var<T> borrow(const Tensor<T>& t);
  // A temporary would be destroyed before the records that read it: refused at
  // compile time (tests/core/test_record.cpp checks it does not compile).
  Var<T> borrow(const Tensor<T>&& t) = delete;
  // borrow() remembers t's data pointer, shape and a checksum of its bytes, and
  // backward is an Error if any of them changed (the gradients would use other
  // data than the forward did). The checksum reads t twice per step (at borrow
  // and at backward: about 18 µs for a 256×784 float batch, a fifth of a small
  // linear classifier's step); borrow_unchecked checks only the pointer and shape:
  // you promise not to modify t until backward (a hot training loop's batch).
  // Under NoGrad (evaluation) borrow computes no checksum either.
  Var<T> borrow_unchecked(const Tensor<T>& t);
  Var<T> borrow_unchecked(const Tensor<T>&& t) = delete;

  const Tensor<T>& value(const Var<T>& v) const;
  // dloss/dv from the last backward(); an Error if no gradient reached v. For
  // a watched leaf it is the Parameter's grad (accumulated over backward calls).
  const Tensor<T>& grad(const Var<T>& v) const;

  // Reverse sweep from a one-element loss (any shape of size 1), or from any
  // output with an explicit seed of its shape (a vector-Jacobian product:
  // parameters receive seed·d(output)/d(param)). Supported any number of times
  // without clear(): each sweep starts from fresh record gradients (those of
  // the previous sweep are forgotten, so tape.grad of an intermediate reflects
  // the last sweep only) and adds into the parameters' grads again, as PyTorch
  // does with retain_graph=True. Records the loss does not depend on, or that
  // depend on no watched parameter, are skipped: their backward never runs. A loss
  // that depends on no watched parameter at all is an Error (a silent no-op would
  // hide a model that trains nothing).
  void backward(const Var<T>& loss);
  void backward(const Var<T>& loss, const Tensor<T>& seed);

  // Drops all records (their buffers are kept for reuse). Vars recorded before
  // become stale: using them is an Error.
  void clear();
  std::size_t size() const { return size_; }
  bool grad_enabled() const { return grad_enabled_; }

  // Anomaly mode: the first op whose output, or whose backward's gradient,
  // holds NaN or Inf raises an Error naming the op, its record and input shapes.
  void set_anomaly_mode(bool on) { anomaly_ = on; }
  bool anomaly_mode() const { return anomaly_; }

  // Branch tracking for gradcheck: ops with kinks (relu, max, hinge) note which
  // side of each kink every element takes; two evaluations whose signatures
  // differ sit on different branches.
  void set_branch_tracking(bool on) {
    tracking_ = on;
    branch_hash_ = kHashSeed;
  }
  bool tracking_branches() const { return tracking_; }
  void note_branch(std::uint64_t choice) { branch_hash_ = (branch_hash_ ^ (choice + 1)) * kHashPrime; }
  std::uint64_t branch_signature() const { return branch_hash_; }

  // ---- for op authors -------------------------------------------------------
  // Appends a record for `op` with these inputs (all checked to belong to this
  // tape and generation); the caller fills record.value, then calls commit().
  // The span form serves ops with any number of inputs (concat). `replay` is
  // required: the op in double for the audit (Record::ReplayFn), written beside its
  // backward; nullptr only for a record the audit may not check (it reports it
  // inconclusive).
  // Validate shapes and arguments before push: a throw between push and commit
  // leaves an orphan record on the tape (harmless, nothing refers to it, but it
  // counts in size()).
  Record<T>& push(const char* op, std::initializer_list<Var<T>> inputs, BackwardFn backward, ReplayFn replay);
  Record<T>& push(const char* op, const Var<T>* inputs, std::size_t count, BackwardFn backward, ReplayFn replay);
  Var<T> commit(Record<T>& r);
  // Undoes push() of the last record, for an op whose single forward pass finds
  // bad input only after push (it then throws): no orphan record is left.
  void unpush(Record<T>& r);
  // Throws unless v is a live Var of this tape; `op` names the caller.
  void check(const Var<T>& v, const char* op) const;

  // Unchecked (hot path of every backward): id must be a live record.
  const Tensor<T>& value_of(std::uint32_t id) const;
  // Checked: an Error unless id < size(). A watched leaf's value lives in its
  // Parameter (use value_of), not in record.value.
  const Record<T>& record(std::uint32_t id) const;
  bool needs_grad(std::uint32_t id) const { return records_[id].requires_grad; }

  // The gradient buffer of record `id`, shaped like its value, or nullptr when
  // nothing needs it. `fresh` is true when it holds no contribution yet: the
  // caller then assigns instead of adding (or uses gemm's beta = 0).
  Tensor<T>* grad_buffer(std::uint32_t id, bool& fresh);

  // For the audit (core/audit.hpp), after backward(): what record id's backward
  // alone adds to the gradient of each of its inputs, from the upstream gradient the
  // last sweep left in the record. out[k] is input k's share (an input given twice
  // gets the sum of both, in both places; empty for an input needing no gradient).
  // The backward runs on zeroed input buffers, which are then put back bit for bit
  // (values, liveness, the parameters' grad buffers themselves), so the sweep's
  // results and a training step after it are as if nothing ran. An Error unless id
  // is a record the last sweep reached with a backward.
  void backward_contribution(std::uint32_t id, std::vector<Tensor<T>>& out);

  // Adds g (an expression of exactly the input's shape, else an Error: a fresh
  // assignment would silently resize the buffer) into the gradient of record id.
  template <class E>
  void accumulate(std::uint32_t id, const E& g) {
    bool fresh = false;
    Tensor<T>* buf = grad_buffer(id, fresh);
    if (!buf) return;
    const auto& gs = g.shape();
    const auto& bs = buf->shape();
    if (!std::equal(gs.begin(), gs.end(), bs.begin(), bs.end()))
      fail_grad_shape(id, to_shape(gs));
    if (fresh)
      xt::noalias(*buf) = g;
    else
      xt::noalias(*buf) += g;
  }
  // Adds g into the gradient of record id after summing it over the axes along
  // which id's value was broadcast (the one unbroadcast of every binary op).
  void accumulate_unbroadcast(std::uint32_t id, const Tensor<T>& g);

 private:
  static constexpr std::uint64_t kHashSeed = 1469598103934665603ull;
  static constexpr std::uint64_t kHashPrime = 1099511628211ull;

  Record<T>& new_record(const char* op);
  [[noreturn]] void fail_grad_shape(std::uint32_t id, const Shape& got) const;
  [[noreturn]] void fail_no_parameter(std::uint32_t id) const;
  void check_anomaly_forward(const Record<T>& r) const;
  void check_anomaly_backward(const Record<T>& r) const;
  std::string input_shapes(const Record<T>& r) const;
  void start_sweep(const Var<T>& loss);
  Var<T> borrow_leaf(const Tensor<T>& t, bool checked);
  void check_leaves(std::uint32_t from);
  bool leaf_changed(const Record<T>& leaf) const;
  [[noreturn]] void fail_changed_leaf(const Record<T>& leaf, const Record<T>& user) const;
  void sweep(std::uint32_t from);

  std::deque<Record<T>> records_;  // a deque: pushing never moves a record
  detail::TapeToken* token_ = new detail::TapeToken;  // alive until ~Tape
  std::size_t size_ = 0;
  std::uint32_t generation_ = 1;
  bool grad_enabled_ = true;
  bool anomaly_ = false;
  bool tracking_ = false;
  std::uint64_t branch_hash_ = kHashSeed;

  template <class U>
  friend class NoGrad;
};

// Within a NoGrad scope the tape records values only: no record requires a
// gradient and ops save nothing for backward (evaluation, inference).
template <class T>
class NoGrad {
 public:
  explicit NoGrad(Tape<T>& t) : tape_(t), previous_(t.grad_enabled_) { t.grad_enabled_ = false; }
  ~NoGrad() { tape_.grad_enabled_ = previous_; }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  Tape<T>& tape_;
  bool previous_;
};

extern template class Tape<float>;
extern template class Tape<double>;

}  // namespace tapegrad
