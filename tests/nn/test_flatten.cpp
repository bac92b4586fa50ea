#include <gmock/gmock.h>

#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduce.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using testing::all_close;
using testing::error_of;

TEST(Flatten, KeepsTheBatchAxisByDefault) {
  Tape<double> t;
  const Tensor<double> x = testing::iota({2, 3, 4});
  const Var<double> y = Flatten<double>()(t.constant(x));
  EXPECT_EQ(to_shape(y.value().shape()), (Shape{2, 12}));
  EXPECT_TRUE(std::equal(x.begin(), x.end(), y.value().begin()));  // row-major order kept
  EXPECT_EQ(to_shape(Flatten<double>(0)(t.constant(x)).value().shape()), (Shape{24}));
  EXPECT_EQ(to_shape(Flatten<double>(2)(t.constant(x)).value().shape()), (Shape{2, 3, 4}));
  EXPECT_EQ(to_shape(Flatten<double>(-2)(t.constant(x)).value().shape()), (Shape{2, 12}));
}

TEST(Flatten, GradientIsReshapedBack) {
  Parameter<double> p(testing::iota({2, 2, 2}));
  Tape<double> t;
  t.backward(Flatten<double>()(t.watch(p)), Tensor<double>{{1, 2, 3, 4}, {5, 6, 7, 8}});
  EXPECT_TRUE(all_close(p.grad, testing::shaped({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), 0, 0));
}

TEST(Flatten, FeedsALinearLayerAndNamesItsAxis) {
  Generator g(0);
  Sequential<float> s{Flatten<float>(), Linear<float>(6, 2, g)};
  Tape<float> t;
  EXPECT_EQ(to_shape(s(t.constant(Tensor<float>::from_shape({5, 2, 3}))).value().shape()), (Shape{5, 2}));
  EXPECT_EQ(Flatten<float>(3).to_string(), "Flatten(start_axis=3)");
  EXPECT_EQ(Flatten<float>(3).start_axis(), 3);
  EXPECT_THAT(error_of([&] { Flatten<float>(3)(t.constant(Tensor<float>::from_shape({2, 3}))); }),
              ::testing::StartsWith("flatten: axis 3 is out of range"));
}

// Unflatten splits one axis (torch.nn.Unflatten): (N, 784) -> (N, 1, 28, 28) for
// a convolution; row-major order is kept, the gradient is reshaped back, and the
// sizes must multiply to the axis's length.
TEST(Unflatten, SplitsOneAxisAndReshapesTheGradientBack) {
  Parameter<double> p(testing::iota({2, 6}));
  Tape<double> t;
  const Var<double> y = Unflatten<double>(1, {1, 2, 3})(t.watch(p));
  EXPECT_EQ(to_shape(y.value().shape()), (Shape{2, 1, 2, 3}));
  EXPECT_TRUE(std::equal(p.value.begin(), p.value.end(), y.value().begin()));
  EXPECT_EQ(to_shape(Unflatten<double>(-1, {3, 2})(t.watch(p)).value().shape()), (Shape{2, 3, 2}));
  EXPECT_EQ(to_shape(Unflatten<double>(0, {2, 1})(t.watch(p)).value().shape()), (Shape{2, 1, 6}));
  t.backward(sum(y * t.constant(testing::iota({2, 1, 2, 3}))));
  EXPECT_TRUE(all_close(p.grad, testing::iota({2, 6}), 0, 0));
  EXPECT_EQ(Unflatten<float>(1, {1, 28, 28}).to_string(), "Unflatten(axis=1, sizes=(1, 28, 28))");
}

TEST(Unflatten, BadAxesAndSizesAreErrors) {
  Tape<float> t;
  const Var<float> x = t.constant(Tensor<float>::from_shape({2, 6}));
  EXPECT_EQ(error_of([&] { Unflatten<float>(1, {4, 2})(x); }),
            "Unflatten: sizes (4, 2) do not multiply to axis 1's length 6 of an input of shape (2, 6)");
  EXPECT_EQ(error_of([&] { Unflatten<float>(2, {6})(x); }),
            "Unflatten: axis 2 is outside the axes of an input of shape (2, 6)");
  EXPECT_EQ(error_of([&] { Unflatten<float>(-3, {6})(x); }),
            "Unflatten: axis -3 is outside the axes of an input of shape (2, 6)");
  EXPECT_EQ(error_of([&] { Unflatten<float>(1, {}); }), "Unflatten: sizes must not be empty");
  EXPECT_EQ(error_of([&] { Unflatten<float>(1, {0, 6}); }), "Unflatten: sizes (0, 6) hold a 0");
  EXPECT_THAT(error_of([&] { Unflatten<float>(1, {std::size_t(1) << 40, std::size_t(1) << 40}); }),
              ::testing::StartsWith("Unflatten: "));
}

}  // namespace
}  // namespace tapegrad::nn_test
