// The fused multiclass hinge: the math of the reference (losses/hinge_reference.cpp)
// run by the fast kernel that hinge_kernel_for picks (losses/hinge_dispatch.cpp).
// This file is only the op's flow: cheap checks, the kernel, push, the kernel's
// forward (which also checks labels and finiteness), save, commit; the backward runs
// the mirror of the kernel the forward ran, named in the saved state.
#include <cstdint>
#include <type_traits>

#include <tapegrad/losses/check_inputs.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_avx512.hpp>
#include <tapegrad/losses/hinge_cs_argmax.hpp>
#include <tapegrad/losses/hinge_kernels.hpp>
#include <tapegrad/losses/hinge_rows.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace {

constexpr const char* kOp = "multiclass_hinge";

using hinge_impl::Problem;
using hinge_impl::Saved;
using hinge_impl::Upstream;

[[noreturn]] void no_such_kernel(HingeKernel kernel) {
  fail(kOp, ": kernel ", hinge_kernel_name(kernel), " is not built for these scores");  // dispatch rules it out
}

// Row losses L_i · w[y_i] into out (when not null), Σ_i into total, what the kernel's
// backward needs into bits. False when the kernel's own pass finds a label outside
// [0, C) or a non-finite score (the reference kernel runs on checked inputs).
template <class T>
bool forward(HingeKernel kernel, const Problem<T>& pr, T* out, std::uint64_t* bits, double& total) {
  switch (kernel) {
    case HingeKernel::reference: total = hinge_impl::reference_forward(pr, out); return true;
    case HingeKernel::rows: return hinge_rows::rows_forward(pr, out, total);
    case HingeKernel::cs_argmax: return hinge_cs_argmax::forward(pr, out, bits, total);
    case HingeKernel::small_avx512:
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) return hinge_avx512::small_forward(pr, out, total);
#endif
      break;
    case HingeKernel::ww_bits_avx512:
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) return hinge_avx512::ww_bits_forward(pr, out, bits, total);
#endif
      break;
    case HingeKernel::automatic: break;
  }
  no_such_kernel(kernel);
}

// ds for every score, written (fresh) or added into g, by the mirror of `kernel`'s forward.
template <class T>
void backward(HingeKernel kernel, const Problem<T>& pr, const Upstream<T>& u, const std::uint64_t* bits, bool fresh,
              T* g) {
  switch (kernel) {
    case HingeKernel::reference: return hinge_impl::reference_backward(pr, u, fresh, g);
    case HingeKernel::rows: return hinge_rows::rows_backward(pr, u, fresh, g);
    case HingeKernel::cs_argmax: return hinge_cs_argmax::backward(pr, u, bits, fresh, g);
    case HingeKernel::small_avx512:
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) return hinge_avx512::small_backward(pr, u, fresh, g);
#endif
      break;
    case HingeKernel::ww_bits_avx512:
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float>) return hinge_avx512::ww_bits_backward(pr, u, bits, fresh, g);
#endif
      break;
    case HingeKernel::automatic: break;
  }
  no_such_kernel(kernel);
}

}  // namespace

template <class T>
Var<T> multiclass_hinge(const Var<T>& scores, const IndexTensor& labels, const HingeOptions& options,
                        const Tensor<T>* weights) {
  Tape<T>& t = scores.tape(kOp);
  t.check(scores, kOp);
  const Tensor<T>& s = t.value(scores);
  // 1. the O(C) checks: shapes, options, weights; if one fails, the full check throws
  //    the first problem (in the reference's order)
  if (!detail::hinge_arguments_ok(s, labels, options, weights))
    detail::check_hinge_inputs(kOp, s, labels, options, weights);
  const std::size_t n = s.shape()[0], c = s.shape()[1];
  // 2. the kernel (a forced one that cannot run here is an Error); only the reference
  //    needs the O(N·C) checks first, the others make them in their forward pass
  const HingeKernel kernel = hinge_kernel_for<T>(c, options);
  if (!hinge_impl::checks_in_forward(kernel)) detail::check_hinge_inputs(kOp, s, labels, options, weights);
  const Problem<T> pr{s.data(), n, c, labels.data(), options.kind, options.p, static_cast<T>(options.margin),
                      weights ? weights->data() : nullptr};

  // 3. push. ds_j = g_i·slope(z_j) for each violating wrong class j (Crammer–Singer:
  //    split evenly among tied maxima), ds_y = −Σ_j ds_j; g_i = upstream_i·w[y_i] (·1/N)
  Record<T>& r = t.push(kOp, {scores}, [](Tape<T>& t, Record<T>& r) {
    bool fresh = false;
    Tensor<T>* g = t.grad_buffer(r.inputs[0], fresh);
    if (!g) return;
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const std::uint64_t* bits = hinge_impl::saves_bits(sv.kernel) ? r.buffer(sv.bits).data() : nullptr;
    backward(sv.kernel, hinge_impl::saved_problem(t.value_of(r.inputs[0]), r, sv), hinge_impl::saved_upstream(r, sv),
             bits, fresh, g->data());
  }, [](const Record<T>& r, Tape<double>&, const Var<double>* x) {
    // the same loss in double from the saved options, labels and weights (any kernel)
    const Saved<T>& sv = r.template saved<Saved<T>>();
    const Tensor<double> w = sv.weighted ? detail::replay_tensor(r.buffer(sv.weights)) : Tensor<double>();
    return multiclass_hinge(x[0], r.buffer(sv.labels), hinge_impl::saved_options(sv), sv.weighted ? &w : nullptr);
  });

  // 4. the kernel's forward, which writes what its backward needs into the record's
  //    bits; on bad input the record is taken back and the full check names the value
  T* out = hinge_impl::shape_value(r, options.reduction, n);
  Slot<Words> bits{};
  std::uint64_t* bit_data = nullptr;
  if (hinge_impl::saves_bits(kernel)) {
    bits = r.template claim<Words>();
    Words& b = r.buffer(bits);
    b.resize(hinge_impl::saved_words(kernel, n, c));  // keeps the allocation when the size is unchanged
    bit_data = b.data();
  }
  double total = 0;
  if (!forward(kernel, pr, out, bit_data, total)) {
    t.unpush(r);
    detail::check_hinge_inputs(kOp, s, labels, options, weights);  // throws the precise message
    fail(kOp, ": the single-pass check and the full check disagree");
  }
  hinge_impl::reduce(r, options.reduction, total, n);

  // 5. save: the kernel, the options, copies of the labels and weights
  if (r.requires_grad)
    r.save(Saved<T>{kernel, options.kind, options.p, options.reduction, pr.delta,
                    hinge_impl::upstream_scale<T>(options.reduction, n), weights != nullptr, r.keep(labels),
                    weights ? r.keep(*weights) : Slot<Tensor<T>>{}, bits});
  if (t.tracking_branches()) hinge_impl::note_branches(t, pr);
  return t.commit(r);
}

template Var<float> multiclass_hinge(const Var<float>&, const IndexTensor&, const HingeOptions&,
                                     const Tensor<float>*);
template Var<double> multiclass_hinge(const Var<double>&, const IndexTensor&, const HingeOptions&,
                                      const Tensor<double>*);

}  // namespace tapegrad
