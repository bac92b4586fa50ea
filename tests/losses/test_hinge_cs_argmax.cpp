// The Crammer–Singer kernel that saves each row's first maximum and tie count
// (losses/hinge_cs_argmax.hpp), forced through multiclass_hinge: the reference op's
// values and gradients exactly, float and double, widths 1..129, every option
// (tests/losses/hinge_exactness.hpp), the reference's side of every kink, and what it
// saves (bad input: test_hinge_rows.cpp, which runs both checking forwards).
#include <gmock/gmock.h>

#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_kernels.hpp>
#include "losses/hinge_cases.hpp"
#include "losses/hinge_exactness.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::expect_kernel_matches_reference;

// widths 1..129 × 2 p × 2 margins × 3 reductions × weights × accumulating
TEST(HingeCsArgmax, EqualsTheReferenceExactlyInFloat) {
  EXPECT_EQ(expect_kernel_matches_reference<float>(HingeKernel::cs_argmax), 129u * 48);
}
TEST(HingeCsArgmax, EqualsTheReferenceExactlyInDouble) {
  EXPECT_EQ(expect_kernel_matches_reference<double>(HingeKernel::cs_argmax), 129u * 48);
}
TEST(HingeCsArgmax, TakesTheReferencesSideOfEveryKink) {
  EXPECT_EQ(testing::expect_same_sides_of_kinks<float>(HingeKernel::cs_argmax), 129u * 3);
  EXPECT_EQ(testing::expect_same_sides_of_kinks<double>(HingeKernel::cs_argmax), 129u * 3);
}

TEST(HingeCsArgmax, SavesTheFirstMaximumAndTheTieCountOfEachRow) {
  // row 0: the wrong classes' maximum 3 first at column 1, tied at column 2; row 1:
  // one maximum, at column 3; then a single class: no wrong class (first = C, no ties)
  const Tensor<double> s = {{1, 3, 3, 0}, {5, 1, 2, 4}};
  HingeOptions o = testing::opts(testing::CS);
  o.kernel = HingeKernel::cs_argmax;
  Parameter<double> p(s);
  Tape<double> t;
  const Var<double> v = multiclass_hinge(t.watch(p), IndexTensor{0, 0}, o);
  const Record<double>& r = t.record(v.id());
  const auto& sv = r.saved<hinge_impl::Saved<double>>();
  EXPECT_EQ(sv.kernel, HingeKernel::cs_argmax);
  EXPECT_EQ(r.buffer(sv.bits), (Words{1, 2, 3, 1}));
  t.backward(v);  // row 0: z = 3, dz = 1/2 (the mean) split in halves; row 1: z = 0, the kink
  EXPECT_TRUE(testing::all_close(p.grad, Tensor<double>{{-0.5, 0.25, 0.25, 0}, {0, 0, 0, 0}}, 0, 0));
  Parameter<double> one(testing::nested<double, 2>({{2.0}}));
  const Var<double> v1 = multiclass_hinge(t.watch(one), IndexTensor{0}, o);
  const Record<double>& r1 = t.record(v1.id());
  EXPECT_EQ(r1.buffer(r1.saved<hinge_impl::Saved<double>>().bits), (Words{1, 0}));
}

}  // namespace
}  // namespace tapegrad
