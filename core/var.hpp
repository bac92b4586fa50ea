#pragma once
// The handles that live outside tapes: Parameter, a trainable tensor a tape
// watches, and Var, a small handle {tape, liveness token, id, generation} to one
// record of one tape.
#include <cstdint>
#include <string>
#include <utility>

#include <tapegrad/core/error.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

template <class T>
class Tape;

// A trainable tensor that outlives tapes: `tape.watch(p)` puts it on a tape as a
// leaf and `tape.backward(loss)` adds dloss/dvalue into `grad`.
//
// Its version counts the changes of `value` (PyTorch's version counter): every
// library function that changes a parameter's value bumps it (optimizer steps,
// load_checkpoint, load_state, the nn::init overloads taking a Parameter), and so
// do set_value() and mark_modified(). `tape.watch(p)` remembers the version (and
// value's data pointer and shape), and backward is an Error if they changed since:
// its gradients would be computed with values the forward did not use. A write
// through value.data(), an iterator or xt::noalias(p.value) that keeps the buffer
// cannot be seen: call mark_modified() after it (a plain `p.value = ...`, which
// xtensor carries out by swapping in a new buffer, is seen by its data pointer).
template <class T>
struct Parameter {
  Tensor<T> value;
  Tensor<T> grad;
  std::string name;

  Parameter() = default;
  explicit Parameter(Tensor<T> v, std::string n = "")
      : value(std::move(v)), grad(xt::zeros<T>(value.shape())), name(std::move(n)) {}
  void zero_grad();

  std::uint64_t version() const { return version_; }
  // Says value has been changed in place (a tape that recorded it before can no
  // longer run backward through it).
  void mark_modified() { ++version_; }
  // value = v, marked modified.
  void set_value(Tensor<T> v) {
    value = std::move(v);
    mark_modified();
  }

 private:
  std::uint64_t version_ = 0;
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

extern template struct Parameter<float>;
extern template struct Parameter<double>;
extern template class Var<float>;
extern template class Var<double>;

}  // namespace tapegrad
