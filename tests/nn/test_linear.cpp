#include <gmock/gmock.h>

#include <cmath>

#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using ::testing::ElementsAre;
using testing::all_close;
using testing::error_of;

TEST(Linear, ForwardHandComputed) {
  Generator g(0);
  Linear<double> lin(3, 2, g);
  lin.weight().value = Tensor<double>{{1, -1}, {2, 0}, {0, 3}};  // (in, out)
  lin.bias()->value = Tensor<double>{0.5, -2};
  Tape<double> t;
  const Var<double> y = lin(t.constant(Tensor<double>{{1, 2, 3}, {-1, 0, 1}}));
  // [1 2 3]·W = [5, 8], [-1 0 1]·W = [-1, 4]; plus b
  EXPECT_TRUE(all_close(y.value(), Tensor<double>{{5.5, 6}, {-0.5, 2}}, 0, 0));

  Linear<float> nobias(2, 2, g, /*bias=*/false);
  nobias.weight().value = Tensor<float>{{1, 2}, {3, 4}};
  Tape<float> tf;
  EXPECT_TRUE(all_close(nobias(tf.constant(Tensor<float>{{1, 1}})).value(), Tensor<float>{{4, 6}}, 0, 0));
  EXPECT_EQ(nobias.bias(), nullptr);
  EXPECT_EQ(tf.size(), 3u);  // constant, watch, matmul: no add without a bias
}

TEST(Linear, ShapesNamesAndAccessors) {
  Generator g(1);
  Linear<float> lin(5, 3, g);
  EXPECT_EQ(lin.in_features(), 5u);
  EXPECT_EQ(lin.out_features(), 3u);
  EXPECT_EQ(to_shape(lin.weight().value.shape()), (Shape{5, 3}));  // (in, out): x·W, no transpose
  EXPECT_EQ(to_shape(lin.bias()->value.shape()), (Shape{3}));
  std::vector<std::string> names;
  for (auto& [name, p] : lin.named_parameters()) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("weight", "bias"));
  EXPECT_EQ(lin.weight().grad.shape(), lin.weight().value.shape());
  EXPECT_EQ(lin.kind(), "Linear");
}

TEST(Linear, WrongInputShapesAreErrorsNamingTheLayer) {
  Generator g(2);
  Linear<float> lin(4, 2, g);
  Tape<float> t;
  EXPECT_EQ(error_of([&] { lin(t.constant(Tensor<float>::from_shape({3, 5}))); }),
            "Linear(4 -> 2): expected an input of shape (N, 4), got (3, 5)");
  EXPECT_EQ(error_of([&] { lin(t.constant(Tensor<float>::from_shape({4}))); }),
            "Linear(4 -> 2): expected an input of shape (N, 4), got (4)");
  EXPECT_EQ(error_of([&] { lin(Var<float>()); }), "Linear: Var is empty (default-constructed, never recorded)");
  EXPECT_EQ(t.size(), 2u);  // the two constants: nothing recorded for the refused calls
}

TEST(Linear, HostileSizesAreErrorsNamingTheLayerAndZeroSizesWork) {
  Generator g(0);
  // Linear(-1, 3): the -1 arrives as 2^64 − 1 (the weight's size would wrap)
  EXPECT_EQ(error_of([&] { Linear<float>(static_cast<std::size_t>(-1), 3, g); }),
            "Linear(18446744073709551615 -> 3): in_features 18446744073709551615 is 2^63 or more (a negative size "
            "converted to size_t?)");
  EXPECT_EQ(error_of([&] { Linear<double>(4, static_cast<std::size_t>(-2), g); }),
            "Linear(4 -> 18446744073709551614): out_features 18446744073709551614 is 2^63 or more (a negative size "
            "converted to size_t?)");
  EXPECT_EQ(error_of([&] { Linear<float>(std::size_t(1) << 40, std::size_t(1) << 40, g); }),
            "Linear: shape (1099511627776, 1099511627776) has more elements than fit in size_t");
  // 2^62 elements fit in size_t but not in memory (checked_size's 2^60 limit).
  EXPECT_EQ(error_of([&] { Linear<float>(std::size_t(1) << 31, std::size_t(1) << 31, g); }),
            "Linear: shape (2147483648, 2147483648) has 4611686018427387904 elements, more than memory can hold "
            "(2^60 or more)");
  // (a size that fits but cannot be allocated is "Linear(4194304 -> 4194304): cannot
  // allocate a weight of shape (4194304, 4194304): 7.03687e+13 bytes"; not run here, as
  // AddressSanitizer aborts on such a request instead of throwing)
  // as PyTorch: in = 0 gives the bias alone, out = 0 an empty output
  Linear<double> none_in(0, 2, g), none_out(3, 0, g);
  Tape<double> t;
  EXPECT_EQ(to_shape(none_in(t.constant(Tensor<double>(xt::zeros<double>({4, 0})))).value().shape()), (Shape{4, 2}));
  EXPECT_EQ(to_shape(none_out(t.constant(Tensor<double>(xt::zeros<double>({4, 3})))).value().shape()), (Shape{4, 0}));
}

TEST(Linear, DefaultInitIsPyTorchsBoundOneOverRootIn) {
  // kaiming_uniform(a = √5) = U(−1/√in, 1/√in); the bias the same bound
  Generator g(3);
  const std::size_t in = 400, out = 300;
  Linear<double> lin(in, out, g);
  const double bound = 1 / std::sqrt(double(in));
  const Tensor<double>& w = lin.weight().value;
  EXPECT_LT(xt::amax(w)(), bound);
  EXPECT_GE(xt::amin(w)(), -bound);
  EXPECT_GT(xt::amax(w)(), 0.999 * bound);  // the whole range is used
  EXPECT_LT(xt::amin(w)(), -0.999 * bound);
  const double n = double(w.size()), mean = xt::mean(w)(), sd = std::sqrt(xt::variance(w)());
  EXPECT_NEAR(mean, 0, 5 * bound / std::sqrt(3 * n));
  EXPECT_NEAR(sd, bound / std::sqrt(3.0), 0.01 * bound / std::sqrt(3.0));
  EXPECT_LT(xt::amax(xt::abs(lin.bias()->value))(), bound);
  EXPECT_GT(xt::amax(xt::abs(lin.bias()->value))(), 0.9 * bound);

  Linear<float> empty(0, 3, g);  // no inputs: an empty weight and a zero bias (as PyTorch)
  EXPECT_EQ(empty.weight().value.size(), 0u);
  EXPECT_TRUE(all_close(empty.bias()->value, Tensor<float>{0, 0, 0}, 0, 0));
}

TEST(Linear, SameSeedSameBitsAndConsecutiveLayersDiffer) {
  Generator g1(42), g2(42), g3(43);
  Linear<float> a(20, 10, g1), b(20, 10, g2), c(20, 10, g3);
  EXPECT_TRUE(same_bits(a.weight().value, b.weight().value));
  EXPECT_TRUE(same_bits(a.bias()->value, b.bias()->value));
  EXPECT_FALSE(same_bits(a.weight().value, c.weight().value));
  Linear<float> next(20, 10, g1);  // draws after a's values
  EXPECT_FALSE(same_bits(a.weight().value, next.weight().value));
  // Weights first, then the bias, from one stream: a double layer draws the same
  // uniforms, so its values round to the float layer's.
  Generator gd(42);
  Linear<double> d(20, 10, gd);
  EXPECT_TRUE(same_bits(Tensor<float>(xt::cast<float>(d.weight().value)), a.weight().value));
}

TEST(Linear, GradcheckInDoubleForInputAndParameters) {
  Generator g(5);
  for (bool bias : {true, false}) {
    Linear<double> lin(4, 3, g, bias);
    const Tensor<double> x = testing::random_tensor({5, 4}, 6);
    auto f = [&](Tape<double>&, const std::vector<Var<double>>& v) { return testing::weighted_sum(lin(v[0]), 7); };
    EXPECT_TRUE(testing::gradcheck_passes(f, {x}));
    EXPECT_EQ(parameter_gradcheck(lin, x), "");
  }
}

TEST(Linear, BackwardGivesXTransposeTimesG) {
  Generator g(8);
  Linear<double> lin(2, 2, g);
  const Tensor<double> x{{1, 2}, {3, 4}, {5, 6}};
  Tape<double> t;
  t.backward(lin(t.constant(x)), Tensor<double>{{1, 0}, {0, 1}, {1, 1}});
  // dW = xᵀ·G = [[1+5, 3+5], [2+6, 4+6]], db = Σ_rows G
  EXPECT_TRUE(all_close(lin.weight().grad, Tensor<double>{{6, 8}, {8, 10}}, 0, 0));
  EXPECT_TRUE(all_close(lin.bias()->grad, Tensor<double>{2, 2}, 0, 0));
}

}  // namespace
}  // namespace tapegrad::nn_test
