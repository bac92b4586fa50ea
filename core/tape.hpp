#pragma once
// The tape (a Wengert list): an append-only list of records in creation order,
// which is a topological order, so the reverse sweep is one backwards loop.
// Var is a small handle {tape, id, generation}; Parameter lives outside tapes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xnoalias.hpp>
#include <xtensor/xstorage.hpp>

#include <tapegrad/core/error.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

template <class T>
class Tape;

// A trainable tensor that outlives tapes: `tape.watch(p)` puts it on a tape as a
// leaf and `tape.backward(loss)` adds dloss/dvalue into `grad`.
template <class T>
struct Parameter {
  Tensor<T> value;
  Tensor<T> grad;
  std::string name;

  Parameter() = default;
  explicit Parameter(Tensor<T> v, std::string n = "")
      : value(std::move(v)), grad(xt::zeros<T>(value.shape())), name(std::move(n)) {}
  void zero_grad();
};

namespace detail {
// Whether a tape still exists: one per tape, shared by the tape and its Vars and
// freed by the last of them, so a Var that outlives its tape can say so instead of
// reading freed memory. The count is not atomic: a tape and its Vars are used by
// one thread at a time (docs/design.md, threads).
struct TapeToken {
  std::uint32_t refs = 1;
  bool alive = true;
};
inline void retain(TapeToken* t) {
  if (t) ++t->refs;
}
inline void release(TapeToken* t) {
  if (t && --t->refs == 0) delete t;
}
}  // namespace detail

// A handle to one record of one tape. Cheap to copy; checked on every use, so a
// Var from another tape, from before tape.clear() or from a destroyed tape is an
// Error, never UB.
template <class T>
class Var {
 public:
  using value_type = T;
  Var() = default;
  Var(const Var& o) : tape_(o.tape_), token_(o.token_), id_(o.id_), generation_(o.generation_) {
    detail::retain(token_);
  }
  Var(Var&& o) noexcept : tape_(o.tape_), token_(o.token_), id_(o.id_), generation_(o.generation_) {
    o.tape_ = nullptr;
    o.token_ = nullptr;
  }
  Var& operator=(const Var& o) {
    detail::retain(o.token_);
    detail::release(token_);
    tape_ = o.tape_;
    token_ = o.token_;
    id_ = o.id_;
    generation_ = o.generation_;
    return *this;
  }
  Var& operator=(Var&& o) noexcept {
    if (this != &o) {
      detail::release(token_);
      tape_ = o.tape_;
      token_ = o.token_;
      id_ = o.id_;
      generation_ = o.generation_;
      o.tape_ = nullptr;
      o.token_ = nullptr;
    }
    return *this;
  }
  ~Var() { detail::release(token_); }

  Tape<T>& tape() const;
  // The same, but an empty Var's Error starts with `op` (ops call this first).
  Tape<T>& tape(const char* op) const;
  const Tensor<T>& value() const;
  std::uint32_t id() const { return id_; }

 private:
  friend class Tape<T>;
  Var(Tape<T>* tape, detail::TapeToken* token, std::uint32_t id, std::uint32_t generation)
      : tape_(tape), token_(token), id_(id), generation_(generation) {
    detail::retain(token_);
  }
  Tape<T>* tape_ = nullptr;
  detail::TapeToken* token_ = nullptr;
  std::uint32_t id_ = 0;
  std::uint32_t generation_ = 0;
};

// ---- saved state ---------------------------------------------------------------
// What an op's backward needs beyond its inputs' values, the op declares as a small
// struct beside its forward, e.g. `struct GatherSaved { std::size_t outer, len_x,
// len_i, inner; Slot<IndexTensor> index; };`. The record stores it inline (no
// allocation) tagged with its type, and `r.saved<GatherSaved>()` checks the tag: a
// record reused after tape.clear() forgets its previous op's state, so no op can
// read another's. Tensors are named buffers of the record: a Slot field of the
// struct, bound in forward by `r.claim<IndexTensor>()` (or `r.keep(tensor)`, which
// also copies); the buffers keep their allocations across clear(), so a training
// loop stops allocating after its first step.

// A named buffer of one record (a field of an op's saved struct). Valid only on
// the record that claimed it, until that record is reused.
template <class B>
struct Slot {
  std::uint8_t at = 0xFF;
};

using Words = std::vector<std::uint64_t>;  // bit masks and positions

namespace detail {
template <class S>
inline constexpr char saved_tag = 0;  // its address identifies S
[[noreturn]] void fail_saved(const char* op, std::uint32_t id, const char* what);
}  // namespace detail

// One op application. Records are reused across tape.clear(), so their tensors
// keep their buffers and a training loop stops allocating after its first step.
template <class T>
struct Record {
  // A plain function pointer (a captureless lambda at the op's definition): no
  // std::function, no allocation per record. Everything backward needs is in the
  // record's saved state or in its inputs' values on the tape.
  using BackwardFn = void (*)(Tape<T>&, Record&);

  static constexpr std::size_t kSavedBytes = 128;  // inline room for an op's saved struct
  static constexpr std::size_t kSavedAlign = 16;
  static constexpr std::size_t kTensorSlots = 4, kIndexSlots = 2, kWordSlots = 1;

  const char* op = "";
  std::uint32_t id = 0;  // position on the tape
  Tensor<T> value;
  Tensor<T> grad;  // dloss/dvalue, valid during a sweep when grad_live
  // Backward's temporary (a gradient before it is summed over broadcast axes, a
  // tie count): written before it is read within one backward, never state.
  Tensor<T> scratch;
  // Input ids: up to four inline, more (concat) on the heap, kept across clear().
  xt::svector<std::uint32_t, 4> inputs;
  std::uint32_t n_inputs = 0;
  BackwardFn backward = nullptr;
  Parameter<T>* param = nullptr;  // set for watched leaves
  const Tensor<T>* borrowed = nullptr;  // set for borrowed constants (Tape::borrow)
  bool requires_grad = false;
  bool grad_live = false;

  // Stores the op's saved struct s (trivially copyable, at most kSavedBytes);
  // whatever the record saved before is gone.
  template <class S>
  S& save(const S& s) {
    static_assert(std::is_trivially_copyable_v<S> && std::is_trivially_destructible_v<S>,
                  "saved state must be trivially copyable: tensors go in Slot fields");
    static_assert(sizeof(S) <= kSavedBytes, "saved state is larger than Record::kSavedBytes");
    static_assert(alignof(S) <= kSavedAlign, "saved state is over-aligned for Record::kSavedAlign");
    saved_type_ = &detail::saved_tag<S>;
    return *::new (static_cast<void*>(saved_bytes_)) S(s);
  }
  // The struct saved by this record's op; an Error if it saved none or another type.
  template <class S>
  const S& saved() const {
    if (saved_type_ != &detail::saved_tag<S>) detail::fail_saved(op, id, "no saved state of the type read");
    return *std::launder(reinterpret_cast<const S*>(saved_bytes_));
  }
  bool has_saved() const { return saved_type_ != nullptr; }

  // A buffer of this record for the op's saved struct (its contents are whatever
  // the op writes; resize keeps the allocation when the size is unchanged).
  template <class B>
  Slot<B> claim() {
    std::uint8_t& used = used_of<B>();
    if (used == slots_of<B>().size()) detail::fail_saved(op, id, "more buffers claimed than a record holds");
    return Slot<B>{used++};
  }
  // claim() and copy b into it (labels, weights, a permutation).
  template <class B>
  Slot<B> keep(const B& b) {
    const Slot<B> s = claim<B>();
    buffer(s) = b;
    return s;
  }
  template <class B>
  B& buffer(Slot<B> s) {
    if (s.at >= used_of<B>()) detail::fail_saved(op, id, "a buffer this record's op did not claim");
    return slots_of<B>()[s.at];
  }
  template <class B>
  const B& buffer(Slot<B> s) const {
    return const_cast<Record*>(this)->buffer(s);
  }

  // For Tape::new_record: the record starts its next life with nothing saved.
  void forget_saved() {
    saved_type_ = nullptr;
    tensors_used_ = indices_used_ = words_used_ = 0;
  }

 private:
  template <class B>
  auto& slots_of() {
    if constexpr (std::is_same_v<B, Tensor<T>>) return tensors_;
    else if constexpr (std::is_same_v<B, IndexTensor>) return indices_;
    else {
      static_assert(std::is_same_v<B, Words>, "a record's buffers are Tensor<T>, IndexTensor or Words");
      return words_;
    }
  }
  template <class B>
  std::uint8_t& used_of() {
    if constexpr (std::is_same_v<B, Tensor<T>>) return tensors_used_;
    else if constexpr (std::is_same_v<B, IndexTensor>) return indices_used_;
    else return words_used_;
  }

  alignas(kSavedAlign) unsigned char saved_bytes_[kSavedBytes];
  const void* saved_type_ = nullptr;
  std::uint8_t tensors_used_ = 0, indices_used_ = 0, words_used_ = 0;
  std::array<Tensor<T>, kTensorSlots> tensors_;
  std::array<IndexTensor, kIndexSlots> indices_;
  std::array<Words, kWordSlots> words_;
};

template <class T>
class Tape {
 public:
  using BackwardFn = typename Record<T>::BackwardFn;

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
  // compile time (tests/core/test_tape_saved.cpp checks it does not compile).
  Var<T> borrow(const Tensor<T>&& t) = delete;

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
  // The span form serves ops with any number of inputs (concat).
  // Validate shapes and arguments before push: a throw between push and commit
  // leaves an orphan record on the tape (harmless, nothing refers to it, but it
  // counts in size()).
  Record<T>& push(const char* op, std::initializer_list<Var<T>> inputs, BackwardFn backward);
  Record<T>& push(const char* op, const Var<T>* inputs, std::size_t count, BackwardFn backward);
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

extern template struct Parameter<float>;
extern template struct Parameter<double>;
extern template class Var<float>;
extern template class Var<double>;
extern template class Tape<float>;
extern template class Tape<double>;

}  // namespace tapegrad
