#include <gmock/gmock.h>

#include <limits>
#include <string>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>

#include <tapegrad/ops/indexing.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::error_of;
using testing::gradcheck_passes;
using testing::iota;
using testing::random_tensor;
using testing::shaped;
using testing::weighted_sum;

TEST(Reshape, KeepsRowMajorOrder) {
  Tape<double> t;
  Var<double> x = t.constant(iota({2, 3}));
  Var<double> y = reshape(x, {3, 2});
  const Tensor<double> expected = {{0, 1}, {2, 3}, {4, 5}};
  EXPECT_TRUE(all_close(y.value(), expected, 0, 0));
}

TEST(Reshape, InfersOneMinusOne) {
  Tape<double> t;
  Var<double> x = t.constant(iota({2, 3, 4}));
  EXPECT_EQ(to_shape(reshape(x, {-1}).value().shape()), (Shape{24}));
  EXPECT_EQ(to_shape(reshape(x, {4, -1}).value().shape()), (Shape{4, 6}));
  EXPECT_EQ(to_shape(reshape(x, {2, -1, 3}).value().shape()), (Shape{2, 4, 3}));
  EXPECT_EQ(to_shape(reshape(x, {1, 1, -1, 1}).value().shape()), (Shape{1, 1, 24, 1}));
  // zero elements: the known extents decide, -1 takes 0
  Var<double> e = t.constant(Tensor<double>(xt::zeros<double>({0, 3})));
  EXPECT_EQ(to_shape(reshape(e, {3, -1}).value().shape()), (Shape{3, 0}));
  EXPECT_EQ(to_shape(reshape(e, {5, 0}).value().shape()), (Shape{5, 0}));
  // a single element to rank 0 and back
  Tensor<double> one = xt::zeros<double>({1, 1});
  one(0, 0) = 7.0;
  Var<double> s = reshape(t.constant(one), {});
  EXPECT_EQ(s.value().dimension(), 0u);
  EXPECT_EQ(s.value()(), 7.0);
}

TEST(Reshape, BackwardReshapesGradientBack) {
  Parameter<double> x(iota({2, 3}));
  Tape<double> t;
  Var<double> y = reshape(t.watch(x), {3, 2});
  t.backward(y, Tensor<double>{{10, 11}, {12, 13}, {14, 15}});
  EXPECT_TRUE(all_close(x.grad, Tensor<double>{{10, 11, 12}, {13, 14, 15}}, 0, 0));
}

TEST(Reshape, GradcheckThreeD) {
  const std::vector<std::vector<std::ptrdiff_t>> targets = {{4, -1}, {24}, {3, 2, 4}, {-1, 1, 2}};
  std::uint64_t seed = 30;
  for (const auto& target : targets) {
    // through `· 1.5` so the reshape's input gradient is an intermediate buffer
    auto f = [&target, s = seed](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(reshape(v[0] * 1.5, target) * 2.0, s);
    };
    EXPECT_TRUE(gradcheck_passes(f, {random_tensor({2, 3, 4}, seed + 1)}));
    seed += 2;
  }
}

TEST(Reshape, GradientAccumulatesAcrossUses) {
  // h reaches the loss twice through reshape: the second contribution adds
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    Var<double> h = v[0] * 0.5;
    return weighted_sum(reshape(h, {6, 2}), 1) + weighted_sum(reshape(h, {-1}), 2);
  };
  EXPECT_TRUE(gradcheck_passes(f, {random_tensor({3, 4}, 5)}));
}

TEST(Reshape, ErrorsNameOpAndShapes) {
  Tape<double> t;
  Var<double> x = t.constant(iota({2, 3}));
  EXPECT_EQ(error_of([&] { reshape(x, {4, 2}); }),
            "reshape: cannot reshape (2, 3) (6 elements) into (4, 2) (8 elements)");
  EXPECT_EQ(error_of([&] { reshape(x, {-1, -1}); }), "reshape: more than one -1 in (-1, -1) (reshaping (2, 3))");
  EXPECT_EQ(error_of([&] { reshape(x, {-2, -3}); }), "reshape: negative extent -2 in (-2, -3) (reshaping (2, 3))");
  EXPECT_EQ(error_of([&] { reshape(x, {4, -1}); }), "reshape: cannot infer -1 in (4, -1) for (2, 3) (6 elements)");
  Var<double> e = t.constant(Tensor<double>(xt::zeros<double>({0, 3})));
  EXPECT_THAT(error_of([&] { reshape(e, {0, -1}); }), HasSubstr("reshape: cannot infer -1 in (0, -1)"));
  EXPECT_EQ(t.size(), 2u);  // failed calls record nothing
}

TEST(Transpose, ReversesAxesOfAMatrix) {
  Tape<double> t;
  Var<double> y = transpose(t.constant(Tensor<double>{{1, 2, 3}, {4, 5, 6}}));
  EXPECT_TRUE(all_close(y.value(), Tensor<double>{{1, 4}, {2, 5}, {3, 6}}, 0, 0));
}

TEST(Transpose, PermutesAxesThreeD) {
  const Tensor<double> x = iota({2, 3, 4});
  Tape<double> t;
  Var<double> y = transpose(t.constant(x), {1, 2, 0});  // out axis k is x's axis perm[k]
  ASSERT_EQ(to_shape(y.value().shape()), (Shape{3, 4, 2}));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(y.value()(j, k, i), x(i, j, k));
  Var<double> r = transpose(t.constant(x));  // default: reversed axes
  ASSERT_EQ(to_shape(r.value().shape()), (Shape{4, 3, 2}));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(r.value()(k, j, i), x(i, j, k));
}

TEST(Transpose, BackwardAppliesInversePermutation) {
  // y(j, k, i) = x(i, j, k), so dx(i, j, k) = g(j, k, i)
  Parameter<double> x(random_tensor({2, 3, 4}, 1));
  const Tensor<double> g = random_tensor({3, 4, 2}, 2);
  Tape<double> t;
  t.backward(transpose(t.watch(x), {1, 2, 0}), g);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(x.grad(i, j, k), g(j, k, i));
}

TEST(Transpose, GradcheckThreeD) {
  const std::vector<std::vector<std::size_t>> perms = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}};
  std::uint64_t seed = 50;
  for (const auto& perm : perms) {
    auto f = [&perm, s = seed](Tape<double>&, const std::vector<Var<double>>& v) {
      return weighted_sum(transpose(v[0] * 1.5, perm) * 2.0, s);
    };
    EXPECT_TRUE(gradcheck_passes(f, {random_tensor({2, 3, 4}, seed + 1)})) << shape_str(perm);
    seed += 2;
  }
  auto reversed = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return weighted_sum(transpose(v[0]) + v[1], 3);  // the reversed view lines up with v[1]
  };
  EXPECT_TRUE(gradcheck_passes(reversed, {random_tensor({2, 3, 4}, 4), random_tensor({4, 3, 2}, 5)}));
}

TEST(Transpose, ZeroLengthAxis) {
  Tape<double> t;
  Var<double> y = transpose(t.constant(Tensor<double>(xt::zeros<double>({2, 0, 3}))), {2, 0, 1});
  EXPECT_EQ(to_shape(y.value().shape()), (Shape{3, 2, 0}));
  // the empty input has no element to check; the other input still must
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return weighted_sum(transpose(v[0], {1, 0, 2}), 6) + weighted_sum(transpose(v[1]), 7);
  };
  EXPECT_TRUE(gradcheck_passes(f, {Tensor<double>(xt::zeros<double>({2, 0, 3})), random_tensor({1, 3}, 8)}));
}

TEST(Transpose, ErrorsNamePermutationAndShape) {
  Tape<double> t;
  Var<double> x = t.constant(iota({2, 3, 4}));
  EXPECT_EQ(error_of([&] { transpose(x, {1, 0}); }),
            "transpose: permutation (1, 0) has 2 axes for rank-3 input (2, 3, 4)");
  EXPECT_EQ(error_of([&] { transpose(x, {0, 0, 1}); }),
            "transpose: (0, 0, 1) is not a permutation of the axes of (2, 3, 4)");
  EXPECT_EQ(error_of([&] { transpose(x, {0, 1, 3}); }),
            "transpose: (0, 1, 3) is not a permutation of the axes of (2, 3, 4)");
  EXPECT_EQ(t.size(), 1u);
}

// ---- flatten, unsqueeze, squeeze, broadcast_to ----

TEST(ShapeViews, FlattenUnsqueezeSqueezeShapes) {
  Tape<double> t;
  Var<double> x = t.constant(testing::iota({2, 1, 3, 1}));
  EXPECT_EQ(flatten(x).value().shape(), (std::vector<std::size_t>{6}));
  EXPECT_EQ(flatten(x, 1).value().shape(), (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(flatten(x, -1).value().shape(), (std::vector<std::size_t>{2, 1, 3, 1}));
  EXPECT_EQ(flatten(t.constant(Tensor<double>(4.0))).value(), (Tensor<double>{4.0}));  // a scalar gives (1)
  EXPECT_EQ(unsqueeze(x, 0).value().shape(), (std::vector<std::size_t>{1, 2, 1, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -1).value().shape(), (std::vector<std::size_t>{2, 1, 3, 1, 1}));
  EXPECT_EQ(unsqueeze(x, 4).value().shape(), (std::vector<std::size_t>{2, 1, 3, 1, 1}));
  EXPECT_EQ(squeeze(x).value().shape(), (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(squeeze(x, -1).value().shape(), (std::vector<std::size_t>{2, 1, 3}));
  EXPECT_EQ(squeeze(x, 1).value().shape(), (std::vector<std::size_t>{2, 3, 1}));
  const Tensor<double> flat = flatten(x).value();
  EXPECT_TRUE(std::equal(flat.begin(), flat.end(), x.value().begin()));
  EXPECT_STREQ(t.record(squeeze(x).id()).op, "squeeze");
}

TEST(ShapeViews, BroadcastToValuesAndGradient) {
  Parameter<double> p(shaped({2, 1}, {1, 2}));
  Tape<double> t;
  Var<double> y = broadcast_to(t.watch(p), Shape{3, 2, 4});
  EXPECT_EQ(y.value().shape(), (std::vector<std::size_t>{3, 2, 4}));
  EXPECT_EQ(y.value()(2, 1, 3), 2.0);
  EXPECT_EQ(y.value()(0, 0, 0), 1.0);
  t.backward(y, testing::iota({3, 2, 4}));
  // column sums of iota over the 3 leading blocks and 4 columns
  EXPECT_EQ(p.grad, shaped({2, 1}, {0 + 1 + 2 + 3 + 8 + 9 + 10 + 11 + 16 + 17 + 18 + 19,
                                    4 + 5 + 6 + 7 + 12 + 13 + 14 + 15 + 20 + 21 + 22 + 23}));
}

TEST(ShapeViews, Gradcheck) {
  GradcheckOptions o;
  o.contract_output = true;
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return broadcast_to(squeeze(unsqueeze(flatten(v[0], 1), 0), 0), Shape{2, 2, 6}) * 1.5;
  };
  const GradcheckReport rep = gradcheck(f, {testing::random_tensor({2, 3, 2}, 4)}, o);
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_EQ(rep.checked, 12u);
}

TEST(ShapeViews, ErrorsNameTheOpAndShape) {
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>(xt::zeros<double>({2, 3})));
  EXPECT_EQ(testing::error_of([&] { squeeze(x, 0); }), "squeeze: axis 0 of shape (2, 3) has extent 2, not 1");
  EXPECT_EQ(testing::error_of([&] { unsqueeze(x, 3); }), "unsqueeze: axis 3 is out of range [-3, 2] for shape (2, 3)");
  EXPECT_EQ(testing::error_of([&] { flatten(x, 2); }), "flatten: axis 2 is out of range [-2, 1] for shape (2, 3)");
  EXPECT_EQ(testing::error_of([&] { broadcast_to(x, Shape{3, 3}); }), "broadcast_to: cannot broadcast (2, 3) to (3, 3)");
  EXPECT_EQ(testing::error_of([&] { broadcast_to(x, Shape{3}); }), "broadcast_to: cannot broadcast (2, 3) to (3)");
  // hostile axes: the most negative ptrdiff_t, and a scalar, which has no axes
  constexpr std::ptrdiff_t kMin = std::numeric_limits<std::ptrdiff_t>::min();
  EXPECT_EQ(testing::error_of([&] { unsqueeze(x, kMin); }),
            "unsqueeze: axis -9223372036854775808 is out of range [-3, 2] for shape (2, 3)");
  EXPECT_EQ(testing::error_of([&] { flatten(x, kMin); }),
            "flatten: axis -9223372036854775808 is out of range [-2, 1] for shape (2, 3)");
  EXPECT_EQ(testing::error_of([&] { reshape(x, {kMin}); }),
            "reshape: negative extent -9223372036854775808 in (-9223372036854775808) (reshaping (2, 3))");
  const Var<double> s = t.constant(Tensor<double>(xt::xarray<double>::from_shape({})));
  EXPECT_EQ(testing::error_of([&] { squeeze(s, 0); }), "squeeze: axis 0 is out of range for shape () (it has no axes)");
  EXPECT_EQ(testing::error_of([&] { flatten(s, 1); }), "flatten: axis 1 is out of range for shape ()");
  EXPECT_EQ(to_shape(slice(x, 1, kMin, std::numeric_limits<std::ptrdiff_t>::max()).value().shape()), (Shape{2, 3}));
  EXPECT_EQ(testing::error_of([&] { slice(x, kMin, 0, 1); }),
            "slice: axis -9223372036854775808 is out of range for shape (2, 3)");
}

TEST(ShapeOverflow, ProductsThatWrapAreErrors) {
  // 4 elements into {2^62 + 1, 4}: the product wraps to 4 in 64 bits
  Tape<double> t;
  Var<double> x = t.constant(Tensor<double>{1.0, 2.0, 3.0, 4.0});
  const std::ptrdiff_t big = (std::ptrdiff_t(1) << 62) + 1;
  EXPECT_EQ(testing::error_of([&] { reshape(x, {big, 4}); }),
            "reshape: (4611686018427387905, 4) has more elements than fit in size_t (reshaping (4))");
  EXPECT_EQ(testing::error_of([&] { reshape(x, {0, big, 4}); }),
            "reshape: (0, 4611686018427387905, 4) has more elements than fit in size_t (reshaping (4))");
  EXPECT_EQ(testing::error_of([&] { broadcast_to(t.constant(Tensor<double>{1.0}), Shape{std::size_t(1) << 62, 8}); }),
            "broadcast_to: shape (4611686018427387904, 8) has more elements than fit in size_t");
  const IndexTensor labels = {0, 1};
  EXPECT_EQ(testing::error_of([&] { one_hot(t, labels, std::size_t(1) << 63); }),
            "one_hot: shape (2, 9223372036854775808) has more elements than fit in size_t");
  // A count that fits in size_t but whose bytes do not: the allocator would wrap
  // 2^62 floats (2^64 bytes) to an empty buffer and the op would write past it.
  EXPECT_EQ(testing::error_of([&] { one_hot(t, IndexTensor{0}, std::size_t(1) << 62); }),
            "one_hot: shape (1, 4611686018427387904) has 4611686018427387904 elements, more than memory can hold "
            "(2^60 or more)");
  EXPECT_EQ(testing::error_of([&] { broadcast_to(t.constant(Tensor<double>{1.0}), Shape{std::size_t(1) << 60}); }),
            "broadcast_to: shape (1152921504606846976) has 1152921504606846976 elements, more than memory can hold "
            "(2^60 or more)");
  EXPECT_EQ(t.size(), 3u);  // x and the two constants broadcast: the failed calls recorded nothing
}

}  // namespace
}  // namespace tapegrad
