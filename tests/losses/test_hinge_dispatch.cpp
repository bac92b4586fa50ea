// hinge_kernel_for (losses/hinge_dispatch.cpp): the dispatch table, forced kernels,
// the kernel the record saves, and the Errors for a kernel that cannot run. The
// table's AVX-512 rows hold where the library is built with AVX-512; elsewhere
// those kernels are unavailable and the test says so.
#include <gmock/gmock.h>

#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_kernels.hpp>
#include "losses/hinge_cases.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::CS;
using testing::opts;
using testing::WW;

#if defined(__AVX512F__)
constexpr bool kAvx512 = true;
#else
constexpr bool kAvx512 = false;
#endif

constexpr HingeKernel kAll[] = {HingeKernel::reference, HingeKernel::rows, HingeKernel::small_avx512,
                                HingeKernel::ww_bits_avx512, HingeKernel::cs_argmax};

TEST(HingeDispatch, AutomaticPicksTheTablesKernel) {
  for (std::size_t c : {std::size_t(1), std::size_t(10), std::size_t(16), std::size_t(17), std::size_t(1000)})
    for (int p : {1, 2}) {
      const bool small = kAvx512 && c <= 16;
      EXPECT_EQ(hinge_kernel_for<float>(c, opts(WW, p)),
                small ? HingeKernel::small_avx512
                      : kAvx512 && p == 1 ? HingeKernel::ww_bits_avx512 : HingeKernel::rows)
          << c;
      EXPECT_EQ(hinge_kernel_for<float>(c, opts(CS, p)), small ? HingeKernel::small_avx512 : HingeKernel::cs_argmax)
          << c;
      EXPECT_EQ(hinge_kernel_for<double>(c, opts(WW, p)), HingeKernel::rows) << c;
      EXPECT_EQ(hinge_kernel_for<double>(c, opts(CS, p)), HingeKernel::cs_argmax) << c;
    }
  // C = 0 (an empty batch) takes the portable kernels
  EXPECT_EQ(hinge_kernel_for<float>(0, opts(CS)), HingeKernel::cs_argmax);
  EXPECT_EQ(hinge_kernel_for<float>(0, opts(WW, 2)), HingeKernel::rows);
}

TEST(HingeDispatch, WeightsAndReductionsDoNotChangeTheChoice) {
  for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
    EXPECT_EQ(hinge_kernel_for<float>(300, opts(WW, 1, red)), hinge_kernel_for<float>(300, opts(WW)));
  // and the op records the kernel dispatch named, with or without weights
  const Tensor<float> s = xt::cast<float>(testing::random_tensor({4, 40}, 1));
  const IndexTensor y = testing::random_labels(4, 40, 2);
  const Tensor<float> w = xt::ones<float>({40});
  for (const Tensor<float>* wp : {static_cast<const Tensor<float>*>(nullptr), &w}) {
    Parameter<float> p(s);
    Tape<float> t;
    const Var<float> v = multiclass_hinge(t.watch(p), y, opts(WW, 1, Reduction::none), wp);
    EXPECT_EQ(t.record(v.id()).saved<hinge_impl::Saved<float>>().kernel, hinge_kernel_for<float>(40, opts(WW)));
  }
}

TEST(HingeDispatch, EveryKernelThatCanRunCanBeForcedAndIsRecorded) {
  std::size_t forced = 0;
  for (HingeKernel k : kAll)
    for (std::size_t c : {std::size_t(3), std::size_t(40)})
      for (HingeKind kind : {WW, CS})
        for (int p : {1, 2}) {
          HingeOptions o = opts(kind, p);
          o.kernel = k;
          if (hinge_kernel_unavailable<float>(k, c, o)) continue;
          EXPECT_EQ(hinge_kernel_for<float>(c, o), k);
          Parameter<float> param(xt::cast<float>(testing::random_tensor({5, c}, c)));
          Tape<float> t;
          const Var<float> v = multiclass_hinge(t.watch(param), testing::random_labels(5, c, 3), o);
          EXPECT_EQ(t.record(v.id()).saved<hinge_impl::Saved<float>>().kernel, k) << hinge_kernel_name(k);
          ++forced;
        }
  // reference and rows: 8 settings each; cs_argmax: 4; with AVX-512, small (C = 3): 4, bits (WW, p = 1): 2
  EXPECT_EQ(forced, kAvx512 ? 26u : 20u);
}

TEST(HingeDispatch, AKernelThatCannotRunIsAnErrorNamingItBeforeAnythingIsRecorded) {
  const auto error = [](auto zero, std::size_t c, HingeOptions o) {
    using T = decltype(zero);
    Tape<T> t;
    const Var<T> s = t.constant(Tensor<T>(xt::zeros<T>(Shape{2, c})));
    const std::string e = testing::error_of([&] { multiclass_hinge(s, IndexTensor{0, 1}, o); });
    EXPECT_EQ(t.size(), 1u) << e;
    return e;
  };
  HingeOptions o = opts(WW, 2);
  o.kernel = HingeKernel::cs_argmax;
  EXPECT_EQ(error(0.0f, 40, o),
            "multiclass_hinge: kernel cs_argmax cannot run for float scores with 40 classes, weston_watkins, "
            "p = 2: it computes Crammer–Singer only");
  o.kernel = HingeKernel::ww_bits_avx512;
  EXPECT_THAT(error(0.0f, 40, o), HasSubstr(kAvx512 ? "kernel ww_bits_avx512 cannot run for float scores with 40 "
                                                      "classes, weston_watkins, p = 2: it computes Weston–Watkins "
                                                      "with p = 1 only"
                                                    : "it needs AVX-512 (not compiled in)"));
  o = opts(CS);
  o.kernel = HingeKernel::small_avx512;
  EXPECT_THAT(error(0.0, 3, o), HasSubstr("multiclass_hinge: kernel small_avx512 cannot run for double scores"));
  EXPECT_THAT(error(0.0f, 17, o), HasSubstr(kAvx512 ? "with 17 classes, crammer_singer, p = 1: it needs 1 to 16 "
                                                      "classes"
                                                    : "it needs AVX-512"));
  o.kernel = static_cast<HingeKernel>(9);
  EXPECT_EQ(error(0.0, 3, o), "multiclass_hinge: unknown hinge kernel 9");
  // the shape and option checks come first
  o.p = 3;
  EXPECT_EQ(error(0.0, 3, o), "multiclass_hinge: p must be 1 or 2, got 3");
}

TEST(HingeDispatch, KernelNames) {
  EXPECT_STREQ(hinge_kernel_name(HingeKernel::automatic), "automatic");
  EXPECT_STREQ(hinge_kernel_name(HingeKernel::reference), "reference");
  EXPECT_STREQ(hinge_kernel_name(HingeKernel::rows), "rows");
  EXPECT_STREQ(hinge_kernel_name(HingeKernel::small_avx512), "small_avx512");
  EXPECT_STREQ(hinge_kernel_name(HingeKernel::ww_bits_avx512), "ww_bits_avx512");
  EXPECT_STREQ(hinge_kernel_name(HingeKernel::cs_argmax), "cs_argmax");
  EXPECT_STREQ(hinge_kernel_name(static_cast<HingeKernel>(42)), "unknown");
  EXPECT_EQ(hinge_kernel_unavailable<double>(HingeKernel::automatic, 0, {}), nullptr);
}

}  // namespace
}  // namespace tapegrad
