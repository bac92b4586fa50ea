#include <gmock/gmock.h>

#include <tapegrad/nn/flatten.hpp>
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

}  // namespace
}  // namespace tapegrad::nn_test
