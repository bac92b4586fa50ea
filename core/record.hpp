#pragma once
// One op application on a tape, and the op's typed saved state (read
// docs/design.md, "Writing an op", before writing an op).
#include <array>
#include <cstdint>
#include <new>
#include <type_traits>
#include <vector>

#include <xtensor/xstorage.hpp>

#include <tapegrad/core/var.hpp>

namespace tapegrad {

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
  // The op again, in double, for the audit of a training step (core/audit.hpp):
  // re-records this record's op on a double tape from one Var per input (in the
  // record's input order, duplicates included) and returns its output, reading the
  // op's attributes (a slope, a stride, an axis's layout, labels, a dropout mask)
  // from this record's saved state. Written beside the backward at the op's push;
  // it must not touch anything outside the double tape (batch norm's running
  // statistics: the replay normalises with the batch's, as the record did).
  using ReplayFn = Var<double> (*)(const Record& r, Tape<double>& t, const Var<double>* inputs);

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
  ReplayFn replay = nullptr;  // nullptr: an op the audit cannot check (a test's op; leaves need none)
  Parameter<T>* param = nullptr;  // set for watched leaves
  const Tensor<T>* borrowed = nullptr;  // set for borrowed constants (Tape::borrow)
  bool requires_grad = false;
  bool grad_live = false;
  // A leaf as it was recorded (watch, borrow), which backward checks before it
  // changes anything: the parameter's version, or the borrowed tensor's checksum
  // (0 and unchecked for borrow_unchecked), its data pointer and shape.
  std::uint64_t leaf_stamp = 0;
  const void* leaf_data = nullptr;
  xt::svector<std::size_t, 4> leaf_shape;  // inline up to rank 4, its capacity kept
  bool leaf_checked = false;  // borrow: whether backward verifies its checksum
  bool reached = false;  // backward's pre-pass: the loss depends on this record

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

}  // namespace tapegrad
