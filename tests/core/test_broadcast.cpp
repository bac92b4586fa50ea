#include <tapegrad/core/broadcast.hpp>

#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::iota;
using testing::shaped;

// The obvious reference: every element of g, at multi-index i, adds into dst at
// i with leading axes dropped and size-1 axes pinned to 0.
Tensor<double> reference_unbroadcast(const Tensor<double>& g, const Shape& dst_shape) {
  Tensor<double> out = xt::zeros<double>(dst_shape);
  const std::size_t rank = g.dimension(), lead = rank - dst_shape.size();
  for (std::size_t flat = 0; flat < g.size(); ++flat) {
    std::size_t rest = flat, dst_flat = 0, dst_stride = 1;
    for (std::size_t k = rank; k-- > 0;) {
      const std::size_t i = rest % g.shape()[k];
      rest /= g.shape()[k];
      if (k >= lead) {
        const std::size_t d = dst_shape[k - lead];
        dst_flat += (d == 1 ? 0 : i) * dst_stride;
        dst_stride *= d;
      }
    }
    out.data()[dst_flat] += g.data()[flat];
  }
  return out;
}

TEST(BroadcastShape, FollowsNumpyRules) {
  EXPECT_EQ(broadcast_shape("op", {2, 3}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shape("op", {3, 1}, {1, 4}), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shape("op", {4}, {2, 3, 4}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shape("op", {2, 3, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shape("op", {5, 1, 3}, {4, 1}), (Shape{5, 4, 3}));
  EXPECT_EQ(broadcast_shape("op", {}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shape("op", {2, 3}, {}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shape("op", {}, {}), (Shape{}));
  // a size-1 axis stretches to 0, as in NumPy: np.zeros((0,3)) + np.zeros((1,3)) is (0, 3)
  EXPECT_EQ(broadcast_shape("op", {0, 3}, {1, 3}), (Shape{0, 3}));
  EXPECT_EQ(broadcast_shape("op", {1}, {0}), (Shape{0}));
  EXPECT_EQ(broadcast_shape("op", {0, 3}, {3}), (Shape{0, 3}));
}

TEST(BroadcastShape, ErrorNamesOpAndBothShapes) {
  try {
    broadcast_shape("mul", {2, 3}, {3, 2});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "mul: shapes (2, 3) and (3, 2) cannot be broadcast together");
  }
  EXPECT_THROW(broadcast_shape("add", {0}, {2}), Error);  // 0 is not 1: no stretching
  EXPECT_THROW(broadcast_shape("add", {4}, {2, 3}), Error);
  EXPECT_THROW(broadcast_shape("add", {2, 1, 3}, {4, 2}), Error);
  try {
    broadcast_shape("div", {3}, {0, 5});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("div: shapes (3) and (0, 5)"));
  }
}

TEST(Unbroadcast, EqualShapesCopyWhenFreshAndAddOtherwise) {
  const Tensor<double> g = iota({2, 3}, 1);
  Tensor<double> dst = xt::ones<double>(Shape{2, 3}) * 1e9;  // garbage a fresh write must not keep
  unbroadcast_into(dst, g, /*fresh=*/true);
  EXPECT_TRUE(all_close(dst, g, 0, 0));
  unbroadcast_into(dst, g, /*fresh=*/false);
  EXPECT_TRUE(all_close(dst, Tensor<double>(2.0 * g), 0, 0));
}

TEST(Unbroadcast, SumsOverSizeOneAndLeadingAxesExactly) {
  const Tensor<double> g = iota({3, 4}, 1);  // rows 1..4, 5..8, 9..12
  Tensor<double> rows = xt::zeros<double>(Shape{3, 1});
  unbroadcast_into(rows, g, true);
  EXPECT_TRUE(all_close(rows, shaped({3, 1}, {10, 26, 42}), 0, 0));
  Tensor<double> cols = xt::zeros<double>(Shape{1, 4});
  unbroadcast_into(cols, g, true);
  EXPECT_TRUE(all_close(cols, Tensor<double>{{15.0, 18.0, 21.0, 24.0}}, 0, 0));
  Tensor<double> lead = xt::zeros<double>(Shape{4});
  unbroadcast_into(lead, g, true);
  EXPECT_TRUE(all_close(lead, Tensor<double>{15.0, 18.0, 21.0, 24.0}, 0, 0));
}

TEST(Unbroadcast, MatchesReferenceOnManyShapes) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 4, 5}, {3, 1, 5}}, {{2, 3, 4, 5}, {1, 1, 1, 1}}, {{2, 3, 4, 5}, {2, 1, 4, 1}},
      {{2, 3, 4, 5}, {5}},       {{2, 3, 4, 5}, {4, 1}},       {{2, 3, 4, 5}, {1, 3, 4, 5}},
      {{3, 1, 4}, {1, 1, 4}},    {{6}, {1}},                   {{1, 7}, {7}},
      {{2, 1}, {1}},             {{2, 3, 1}, {3, 1}}};
  for (const auto& [gs, ds] : cases) {
    const Tensor<double> g = iota(gs, 1);
    const Tensor<double> expected = reference_unbroadcast(g, ds);
    Tensor<double> fresh(ds);
    fresh.fill(-77);
    unbroadcast_into(fresh, g, true);
    EXPECT_TRUE(all_close(fresh, expected, 0, 0)) << shape_str(gs) << " -> " << shape_str(ds);
    // accumulating adds exactly the same sums onto what is there
    Tensor<double> acc = iota(ds, 100);
    const Tensor<double> before = acc;
    unbroadcast_into(acc, g, false);
    EXPECT_TRUE(all_close(acc, Tensor<double>(before + expected), 0, 0)) << shape_str(gs) << " -> " << shape_str(ds);
  }
}

TEST(Unbroadcast, RankZeroTargetSumsEverything) {
  const Tensor<double> g = iota({2, 3}, 1);
  Tensor<double> s = 5.0;  // rank 0
  ASSERT_EQ(s.dimension(), 0u);
  unbroadcast_into(s, g, true);
  EXPECT_EQ(s(), 21.0);
  unbroadcast_into(s, g, false);
  EXPECT_EQ(s(), 42.0);
  // rank 0 onto rank 0 is the equal-shape path
  Tensor<double> g0 = 2.5;
  unbroadcast_into(s, g0, false);
  EXPECT_EQ(s(), 44.5);
  unbroadcast_into(s, g0, true);
  EXPECT_EQ(s(), 2.5);
  // a rank-1 g of one element onto rank 0
  unbroadcast_into(s, Tensor<double>{7.0}, true);
  EXPECT_EQ(s(), 7.0);
}

TEST(Unbroadcast, EmptyGradientGivesZerosOrLeavesDstAlone) {
  const Tensor<double> g = xt::zeros<double>(Shape{0, 3});
  Tensor<double> dst = {{1.0, 2.0, 3.0}};
  unbroadcast_into(dst, g, false);  // nothing to add
  EXPECT_TRUE(all_close(dst, Tensor<double>{{1.0, 2.0, 3.0}}, 0, 0));
  unbroadcast_into(dst, g, true);  // a fresh sum over zero rows is 0
  EXPECT_TRUE(all_close(dst, Tensor<double>{{0.0, 0.0, 0.0}}, 0, 0));
  Tensor<double> s = 9.0;
  unbroadcast_into(s, g, true);
  EXPECT_EQ(s(), 0.0);
  Tensor<double> same = xt::zeros<double>(Shape{0, 3});
  unbroadcast_into(same, g, true);
  EXPECT_EQ(same.size(), 0u);
}

TEST(Unbroadcast, RejectsTargetsThatDoNotBroadcastToTheGradient) {
  const Tensor<double> g = iota({3, 4}, 1);
  Tensor<double> wrong_extent = xt::zeros<double>(Shape{2, 1});
  try {
    unbroadcast_into(wrong_extent, g, true);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unbroadcast: gradient of shape (3, 4) cannot be summed down to (2, 1)");
  }
  Tensor<double> higher_rank = xt::zeros<double>(Shape{1, 3, 4});
  EXPECT_THROW(unbroadcast_into(higher_rank, g, true), Error);
  Tensor<double> scalar_g = 1.0;
  Tensor<double> vec = xt::zeros<double>(Shape{1});
  EXPECT_THROW(unbroadcast_into(vec, scalar_g, true), Error);
}

TEST(Unbroadcast, FloatInstantiationSumsToo) {
  const Tensor<float> g = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
  Tensor<float> dst = xt::zeros<float>(Shape{1, 3});
  unbroadcast_into(dst, g, true);
  EXPECT_TRUE(all_close(dst, Tensor<float>{{5.f, 7.f, 9.f}}, 0, 0));
}

}  // namespace
}  // namespace tapegrad
