// Which kernel multiclass_hinge runs: the one place that knows. Every kernel
// computes the reference's values and gradients exactly (tests/losses/
// test_hinge_rows.cpp, test_hinge_cs_argmax.cpp, test_hinge_avx512.cpp); they differ
// in speed and in what they save.
//
//   scores  ISA       classes  kind, p          kernel           saves for backward
//   float   AVX-512   1..16    any              small_avx512     nothing (recomputes)
//   float   AVX-512   > 16     WW, p = 1        ww_bits_avx512   1 bit per score
//   any     any       any      CS (otherwise)   cs_argmax        2 words per row
//   any     any       any      WW (otherwise)   rows             nothing (recomputes)
//
// The reference kernel runs only when forced (HingeOptions::kernel): it is the
// readable loop, not a fast one. Weights, the reduction and the row count do not
// change the choice; every kernel handles them all.
#include <cstdint>
#include <type_traits>

#include <tapegrad/core/error.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_kernels.hpp>

namespace tapegrad {

namespace {

constexpr std::size_t kSmallClasses = 16;  // float classes that fit one AVX-512 vector

#if defined(__AVX512F__)
constexpr bool kAvx512 = true;
#else
constexpr bool kAvx512 = false;
#endif

}  // namespace

const char* hinge_kernel_name(HingeKernel kernel) {
  switch (kernel) {
    case HingeKernel::automatic: return "automatic";
    case HingeKernel::reference: return "reference";
    case HingeKernel::rows: return "rows";
    case HingeKernel::small_avx512: return "small_avx512";
    case HingeKernel::ww_bits_avx512: return "ww_bits_avx512";
    case HingeKernel::cs_argmax: return "cs_argmax";
  }
  return "unknown";
}

template <class T>
const char* hinge_kernel_unavailable(HingeKernel kernel, std::size_t classes, const HingeOptions& o) {
  const bool avx512_float = kAvx512 && std::is_same_v<T, float>;
  switch (kernel) {
    case HingeKernel::automatic:
    case HingeKernel::reference:
    case HingeKernel::rows: return nullptr;
    case HingeKernel::small_avx512:
      if (!avx512_float) return kAvx512 ? "it needs float scores" : "it needs AVX-512 (not compiled in)";
      return classes >= 1 && classes <= kSmallClasses ? nullptr : "it needs 1 to 16 classes";
    case HingeKernel::ww_bits_avx512:
      if (!avx512_float) return kAvx512 ? "it needs float scores" : "it needs AVX-512 (not compiled in)";
      return o.kind == HingeKind::weston_watkins && o.p == 1 ? nullptr : "it computes Weston–Watkins with p = 1 only";
    case HingeKernel::cs_argmax:
      return o.kind == HingeKind::crammer_singer ? nullptr : "it computes Crammer–Singer only";
  }
  return "it is not a kernel";
}

template <class T>
HingeKernel hinge_kernel_for(std::size_t classes, const HingeOptions& o) {
  const int forced = static_cast<int>(o.kernel);
  if (forced < 0 || forced > static_cast<int>(HingeKernel::cs_argmax))
    fail("multiclass_hinge: unknown hinge kernel ", forced);
  if (o.kernel != HingeKernel::automatic) {
    if (const char* why = hinge_kernel_unavailable<T>(o.kernel, classes, o))
      fail("multiclass_hinge: kernel ", hinge_kernel_name(o.kernel), " cannot run for ",
           std::is_same_v<T, float> ? "float" : "double", " scores with ", classes, " classes, ",
           o.kind == HingeKind::weston_watkins ? "weston_watkins" : "crammer_singer", ", p = ", o.p, ": ", why);
    return o.kernel;
  }
  if (kAvx512 && std::is_same_v<T, float>) {
    if (classes >= 1 && classes <= kSmallClasses) return HingeKernel::small_avx512;
    if (o.kind == HingeKind::weston_watkins && o.p == 1) return HingeKernel::ww_bits_avx512;
  }
  return o.kind == HingeKind::crammer_singer ? HingeKernel::cs_argmax : HingeKernel::rows;
}

namespace hinge_impl {

std::size_t saved_words(HingeKernel kernel, std::size_t n, std::size_t c) {
  if (kernel == HingeKernel::ww_bits_avx512) return n * mask_words(c);  // a row's bits in whole 64-bit words
  if (kernel == HingeKernel::cs_argmax) return 2 * n;                     // first maximum, tie count
  return 0;
}

}  // namespace hinge_impl

template HingeKernel hinge_kernel_for<float>(std::size_t, const HingeOptions&);
template HingeKernel hinge_kernel_for<double>(std::size_t, const HingeOptions&);
template const char* hinge_kernel_unavailable<float>(HingeKernel, std::size_t, const HingeOptions&);
template const char* hinge_kernel_unavailable<double>(HingeKernel, std::size_t, const HingeOptions&);

}  // namespace tapegrad
