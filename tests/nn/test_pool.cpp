#include <gmock/gmock.h>

#include <tapegrad/nn/pool.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using testing::all_close;
using testing::error_of;

TEST(PoolModules, ForwardEqualsTheOpAndHoldNoParameters) {
  const Tensor<double> x = testing::random_tensor({2, 3, 7, 6}, 1);
  Tape<double> t;
  const Var<double> v = t.constant(x);
  MaxPool2d<double> mp({3, 2}, {{2, 1}}, {1, 0});
  AvgPool2d<double> ap(3, 2, 1);
  EXPECT_TRUE(all_close(mp(v).value(), max_pool2d(v, {3, 2}, {{2, 1}}, {1, 0}).value(), 0, 0));
  EXPECT_TRUE(all_close(ap(v).value(), avg_pool2d(v, 3, 2, 1).value(), 0, 0));
  EXPECT_TRUE(mp.named_parameters().empty());
  EXPECT_TRUE(ap.named_parameters().empty());
  MaxPool2d<double> square(2);  // the stride defaults to the kernel
  EXPECT_EQ(square.stride().h, 2);
  EXPECT_EQ(square.stride().w, 2);
  EXPECT_TRUE(all_close(square(v).value(), max_pool2d(v, 2, 2).value(), 0, 0));
}

TEST(PoolModules, ToStringAsPyTorch) {
  EXPECT_EQ(MaxPool2d<float>(2).to_string(), "MaxPool2d(kernel_size=2, stride=2, padding=0)");
  EXPECT_EQ(MaxPool2d<float>({3, 2}, 1, {1, 0}).to_string(),
            "MaxPool2d(kernel_size=(3, 2), stride=1, padding=(1, 0))");
  EXPECT_EQ(AvgPool2d<float>(3, 2, 1).to_string(), "AvgPool2d(kernel_size=3, stride=2, padding=1)");
}

TEST(PoolModules, ConstructorErrorsNameTheLayer) {
  EXPECT_EQ(error_of([] { MaxPool2d<float>(0); }), "MaxPool2d: kernel size must be positive, got (0, 0)");
  EXPECT_EQ(error_of([] { MaxPool2d<float>(2, {{1, 0}}); }), "MaxPool2d: stride must be positive, got (1, 0)");
  EXPECT_EQ(error_of([] { AvgPool2d<float>(3, 1, 2); }), "AvgPool2d: padding (2, 2) must be at most half the kernel (3, 3)");
  EXPECT_EQ(error_of([] { AvgPool2d<float>(3, 1, -1); }), "AvgPool2d: padding must be non-negative, got (-1, -1)");
  MaxPool2d<float> mp(2);
  Tape<float> t;
  EXPECT_EQ(error_of([&] { mp(t.constant(Tensor<float>::from_shape({3, 4, 4}))); }),
            "max_pool2d: expected x of shape (N, C, H, W), got (3, 4, 4)");
}

TEST(PoolModules, InsideSequentialWithGradients) {
  Sequential<double> net{MaxPool2d<double>(2, 1), AvgPool2d<double>(2)};
  const Tensor<double> x = testing::random_tensor({1, 2, 5, 5}, 2);
  auto f = [&](Tape<double>&, const std::vector<Var<double>>& v) { return testing::weighted_sum(net(v[0]), 3); };
  EXPECT_TRUE(testing::gradcheck_passes(f, {x}));
  Tape<double> t;
  EXPECT_EQ(net(t.constant(x)).value().shape(), (Tensor<double>::shape_type{1, 2, 2, 2}));
}

}  // namespace
}  // namespace tapegrad::nn_test
