#include <gmock/gmock.h>

#include <cmath>

#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/pool.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using ::testing::ElementsAre;
using testing::all_close;
using testing::error_of;

TEST(Conv2dModule, ParameterNamesShapesAndAccessors) {
  Generator g(1);
  Conv2d<float> conv(3, 8, {3, 5}, g, Conv2dOptions().stride(2).padding({1, 2}));
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  for (auto& [name, p] : conv.named_parameters()) {
    names.push_back(name);
    shapes.push_back(to_shape(p->value.shape()));
    EXPECT_EQ(p->name, name);
  }
  EXPECT_THAT(names, ElementsAre("weight", "bias"));
  EXPECT_THAT(shapes, ElementsAre(Shape{8, 3, 3, 5}, Shape{8}));  // (O, C, KH, KW): PyTorch's layout
  EXPECT_EQ(conv.in_channels(), 3u);
  EXPECT_EQ(conv.out_channels(), 8u);
  EXPECT_EQ(conv.kernel_size().w, 5);
  EXPECT_EQ(conv.kind(), "Conv2d");
  Conv2d<float> nobias(2, 4, 1, g, Conv2dOptions(), false);
  EXPECT_EQ(nobias.bias(), nullptr);
  EXPECT_EQ(nobias.parameters().size(), 1u);
}

TEST(Conv2dModule, ForwardEqualsTheOp) {
  Generator g(2);
  const Conv2dOptions o = Conv2dOptions().stride({2, 1}).padding(1).dilation({1, 2});
  Conv2d<double> conv(2, 3, 3, g, o);
  const Tensor<double> x = testing::random_tensor({2, 2, 7, 6}, 3);
  Tape<double> t;
  const Var<double> y = conv(t.constant(x));
  Tape<double> t2;
  const Var<double> ref = conv2d(t2.constant(x), t2.constant(conv.weight().value), t2.constant(conv.bias()->value), o);
  EXPECT_TRUE(all_close(y.value(), ref.value(), 0, 0));
  Conv2d<double> nobias(2, 3, 3, g, o, false);
  const Var<double> y2 = nobias(t.constant(x));
  EXPECT_TRUE(all_close(y2.value(), conv2d(t2.constant(x), t2.constant(nobias.weight().value), o).value(), 0, 0));
}

TEST(Conv2dModule, DefaultInitIsPyTorchsBoundOneOverRootFanIn) {
  Generator g(3);
  Conv2d<double> conv(16, 64, 3, g);  // fan_in = 16·3·3 = 144: bound 1/12
  const double bound = 1.0 / 12;
  const Tensor<double>& w = conv.weight().value;
  EXPECT_LT(xt::amax(w)(), bound);
  EXPECT_GE(xt::amin(w)(), -bound);
  EXPECT_GT(xt::amax(w)(), 0.99 * bound);
  EXPECT_LT(xt::amin(w)(), -0.99 * bound);
  EXPECT_NEAR(std::sqrt(xt::variance(w)()), bound / std::sqrt(3.0), 0.03 * bound / std::sqrt(3.0));
  EXPECT_LT(xt::amax(xt::abs(conv.bias()->value))(), bound);
  EXPECT_GT(xt::amax(xt::abs(conv.bias()->value))(), 0.8 * bound);
}

TEST(Conv2dModule, SameSeedSameBitsOtherSeedOtherBits) {
  Generator g1(7), g2(7), g3(8);
  Conv2d<float> a(3, 4, 3, g1), b(3, 4, 3, g2), c(3, 4, 3, g3);
  EXPECT_TRUE(same_bits(a.weight().value, b.weight().value));
  EXPECT_TRUE(same_bits(a.bias()->value, b.bias()->value));
  EXPECT_FALSE(same_bits(a.weight().value, c.weight().value));
  Conv2d<float> next(3, 4, 3, g1);  // draws after a's values
  EXPECT_FALSE(same_bits(a.weight().value, next.weight().value));
}

TEST(Conv2dModule, ToStringAsPyTorch) {
  Generator g(4);
  EXPECT_EQ(Conv2d<float>(1, 32, 3, g, Conv2dOptions().padding(1)).to_string(),
            "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(Conv2d<float>(2, 4, {3, 1}, g, Conv2dOptions().stride(2).dilation({2, 1}), false).to_string(),
            "Conv2d(2, 4, kernel_size=(3, 1), stride=(2, 2), dilation=(2, 1), bias=False)");
}

TEST(Conv2dModule, ErrorsNameTheLayer) {
  Generator g(5);
  EXPECT_EQ(error_of([&] { Conv2d<float>(0, 4, 3, g); }),
            "Conv2d: in_channels and out_channels must be positive, got 0 and 4");
  EXPECT_EQ(error_of([&] { Conv2d<float>(std::size_t(-1), 4, 3, g); }),
            "Conv2d: in_channels 18446744073709551615 or out_channels 4 is 2^62 or more (a negative size converted "
            "to size_t?)");
  EXPECT_EQ(error_of([&] { Conv2d<float>(1 << 20, 1 << 20, 1 << 20, g); }),
            "Conv2d: shape (1048576, 1048576, 1048576, 1048576) has more elements than fit in size_t");
  // 2^62 elements fit in size_t but not in memory (checked_size's 2^60 limit).
  EXPECT_EQ(error_of([&] { Conv2d<double>(1 << 30, 1 << 30, 2, g); }),
            "Conv2d: shape (1073741824, 1073741824, 2, 2) has 4611686018427387904 elements, more than memory can "
            "hold (2^60 or more)");
  EXPECT_EQ(error_of([&] { Conv2d<float>(1, 4, {3, 0}, g); }), "Conv2d: kernel size must be positive, got (3, 0)");
  EXPECT_EQ(error_of([&] { Conv2d<float>(1, 4, 3, g, Conv2dOptions().stride(0)); }),
            "Conv2d: stride must be positive, got (0, 0)");
  EXPECT_EQ(error_of([&] { Conv2d<float>(1, 4, 3, g, Conv2dOptions().padding(-1)); }),
            "Conv2d: padding must be non-negative, got (-1, -1)");
  Conv2d<float> conv(2, 4, 3, g);
  Tape<float> t;
  EXPECT_EQ(error_of([&] { conv(t.constant(Tensor<float>::from_shape({1, 3, 5, 5}))); }),
            "Conv2d(2 -> 4, kernel (3, 3)): expected an input of shape (N, 2, H, W), got (1, 3, 5, 5)");
  EXPECT_EQ(error_of([&] { conv(t.constant(Tensor<float>::from_shape({2, 5, 5}))); }),
            "Conv2d(2 -> 4, kernel (3, 3)): expected an input of shape (N, 2, H, W), got (2, 5, 5)");
  EXPECT_EQ(t.size(), 2u);  // the constants only
}

TEST(Conv2dModule, InsideSequentialNamesTrainsAndGradchecks) {
  Generator g(6);
  Sequential<double> net{Conv2d<double>(1, 3, 3, g, Conv2dOptions().padding(1)), ReLU<double>(),
                         MaxPool2d<double>(2), Conv2d<double>(3, 2, {2, 1}, g), AvgPool2d<double>(1),
                         Flatten<double>(), Linear<double>(12, 2, g)};
  std::vector<std::string> names;
  for (auto& [name, p] : net.named_parameters()) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"));
  EXPECT_EQ(net.to_string(),
            "Sequential(\n  (0): Conv2d(1, 3, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n  (1): ReLU\n"
            "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
            "  (3): Conv2d(3, 2, kernel_size=(2, 1), stride=(1, 1))\n"
            "  (4): AvgPool2d(kernel_size=1, stride=1, padding=0)\n  (5): Flatten(start_axis=1)\n"
            "  (6): Linear(in=12, out=2, bias=true)\n)");
  const Tensor<double> x = testing::random_tensor({2, 1, 6, 6}, 7);  // (2, 3, 3, 3), (2, 2, 2, 3), (2, 12)
  Tape<double> t;
  EXPECT_EQ(net(t.constant(x)).value().shape(), (Tensor<double>::shape_type{2, 2}));
  EXPECT_EQ(parameter_gradcheck(net, x), "");
}

}  // namespace
}  // namespace tapegrad::nn_test
