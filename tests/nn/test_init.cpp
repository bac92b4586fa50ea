#include <gmock/gmock.h>

#include <cmath>
#include <functional>
#include <limits>

#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using testing::error_of;
namespace init = nn::init;

TEST(Generator, IsTheStandardsMt19937_64WithPortableTransforms) {
  // The standard fixes mt19937_64's sequence: its 10000th output from the
  // default seed 5489 is 9981545732273789042 ([rand.predef]).
  Generator g(5489);
  for (int k = 1; k < 10000; ++k) g.next_u64();
  EXPECT_EQ(g.next_u64(), 9981545732273789042ull);
  Generator a(7), b(7);
  const std::uint64_t raw = a.next_u64();
  EXPECT_EQ(b.uniform(), double(raw >> 11) * 0x1.0p-53);
  EXPECT_EQ(a.seed(), 7u);
}

TEST(Generator, NormalHasMeanZeroAndUnitVarianceAndIsReproducible) {
  Generator g(1), h(1);
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0;
  for (int k = 0; k < n; ++k) {
    const double v = g.normal();
    ASSERT_EQ(v, h.normal());
    s += v;
    s2 += v * v;
    s4 += v * v * v * v;
  }
  EXPECT_NEAR(s / n, 0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(s2 / n, 1, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3, 0.1);  // a normal's fourth moment, not a uniform's 1.8
}

// The mean and standard deviation of w against the distribution's, with bounds.
void expect_stats(const Tensor<double>& w, double mean, double sd, double bound, const std::string& what) {
  const double n = double(w.size());
  EXPECT_NEAR(xt::mean(w)(), mean, 5 * sd / std::sqrt(n)) << what;
  EXPECT_NEAR(std::sqrt(xt::variance(w)()), sd, 0.01 * sd) << what;
  if (bound > 0) {
    EXPECT_GE(xt::amin(w)(), mean - bound) << what;
    EXPECT_LT(xt::amax(w)(), mean + bound) << what;
    EXPECT_LT(xt::amin(w)(), mean - 0.999 * bound) << what;  // the whole range is used
    EXPECT_GT(xt::amax(w)(), mean + 0.999 * bound) << what;
  }
}

TEST(Init, EveryInitialiserHasItsDistributionAtALargeFan) {
  // (in, out) = (600, 200), as a Linear weight: fan_in 600, fan_out 200.
  const std::size_t in = 600, out = 200;
  Tensor<double> w = Tensor<double>::from_shape({in, out});
  Generator g(3);
  init::uniform(w, g, -2, 3);
  expect_stats(w, 0.5, 5 / std::sqrt(12.0), 2.5, "uniform");
  init::normal(w, g, 1.5, 0.25);
  expect_stats(w, 1.5, 0.25, 0, "normal");
  init::xavier_uniform(w, g, 2.0);
  const double xa = 2.0 * std::sqrt(6.0 / (in + out));
  expect_stats(w, 0, xa / std::sqrt(3.0), xa, "xavier_uniform");
  init::xavier_normal(w, g);
  expect_stats(w, 0, std::sqrt(2.0 / (in + out)), 0, "xavier_normal");
  init::kaiming_uniform(w, g);  // a = 0, fan_in, leaky_relu: gain √2
  const double kb = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(double(in));
  expect_stats(w, 0, kb / std::sqrt(3.0), kb, "kaiming_uniform");
  init::kaiming_normal(w, g, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
  expect_stats(w, 0, std::sqrt(2.0 / out), 0, "kaiming_normal fan_out");
  init::kaiming_normal(w, g, 0, init::FanMode::fan_in, init::Nonlinearity::tanh);
  expect_stats(w, 0, (5.0 / 3.0) / std::sqrt(double(in)), 0, "kaiming_normal tanh");
  init::constant(w, 0.75);
  EXPECT_TRUE(xt::all(xt::equal(w, 0.75)));
  init::zeros(w);
  EXPECT_TRUE(xt::all(xt::equal(w, 0.0)));
}

TEST(Init, SameSeedBitIdenticalInFloatAndDouble) {
  using Fill = std::function<void(Tensor<float>&, Generator&)>;
  const std::vector<Fill> fills = {
      [](Tensor<float>& w, Generator& g) { init::uniform(w, g, -1, 1); },
      [](Tensor<float>& w, Generator& g) { init::normal(w, g, 0, 2); },
      [](Tensor<float>& w, Generator& g) { init::xavier_uniform(w, g); },
      [](Tensor<float>& w, Generator& g) { init::xavier_normal(w, g); },
      [](Tensor<float>& w, Generator& g) { init::kaiming_uniform(w, g, std::sqrt(5.0)); },
      [](Tensor<float>& w, Generator& g) { init::kaiming_normal(w, g); }};
  for (std::size_t k = 0; k < fills.size(); ++k) {
    Tensor<float> a = Tensor<float>::from_shape({30, 20}), b = a, c = a;
    Generator ga(11), gb(11), gc(12);
    fills[k](a, ga);
    fills[k](b, gb);
    fills[k](c, gc);
    EXPECT_TRUE(same_bits(a, b)) << k;
    EXPECT_FALSE(same_bits(a, c)) << k;
  }
  // Each element is drawn in double and rounded once, so a double tensor
  // rounds to the float one from the same seed.
  Tensor<double> d = Tensor<double>::from_shape({30, 20});
  Tensor<float> f = Tensor<float>::from_shape({30, 20});
  Generator gd(13), gf(13);
  init::kaiming_normal(d, gd);
  init::kaiming_normal(f, gf);
  EXPECT_TRUE(same_bits(Tensor<float>(xt::cast<float>(d)), f));
}

TEST(Init, OnAParameterTheSameValuesAndTheParameterIsMarkedModified) {
  using Pair = std::function<void(Tensor<double>&, Parameter<double>&, Generator&, Generator&)>;
  const std::vector<Pair> pairs = {
      [](auto& t, auto& p, auto& gt, auto& gp) { init::uniform(t, gt, -1, 1), init::uniform(p, gp, -1, 1); },
      [](auto& t, auto& p, auto& gt, auto& gp) { init::normal(t, gt, 0, 2), init::normal(p, gp, 0, 2); },
      [](auto& t, auto& p, auto&, auto&) { init::constant(t, 0.5), init::constant(p, 0.5); },
      [](auto& t, auto& p, auto&, auto&) { init::zeros(t), init::zeros(p); },
      [](auto& t, auto& p, auto& gt, auto& gp) { init::xavier_uniform(t, gt), init::xavier_uniform(p, gp); },
      [](auto& t, auto& p, auto& gt, auto& gp) { init::xavier_normal(t, gt, 2), init::xavier_normal(p, gp, 2); },
      [](auto& t, auto& p, auto& gt, auto& gp) { init::kaiming_uniform(t, gt, 1), init::kaiming_uniform(p, gp, 1); },
      [](auto& t, auto& p, auto& gt, auto& gp) { init::kaiming_normal(t, gt), init::kaiming_normal(p, gp); }};
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    Tensor<double> t = xt::ones<double>({6, 5});
    Parameter<double> p(t, "w");
    Generator gt(21), gp(21);
    pairs[k](t, p, gt, gp);
    EXPECT_TRUE(same_bits(p.value, t)) << k;
    EXPECT_EQ(p.version(), 1u) << k;
  }
  Parameter<double> p(Tensor<double>{1.0, 2.0}, "b");
  Generator g(1);
  EXPECT_EQ(error_of([&] { init::uniform(p, g, 1, 0); }), "uniform: need lo <= hi, got [1, 0)");
  EXPECT_EQ(p.version(), 0u);  // nothing written, nothing marked
}

TEST(Init, UniformBoundsOutsideTheTypesRangeAreErrorsAsInPyTorch) {
  // torch.nn.init.uniform_(float32 tensor, -1e39, 1e39): "from is out of bounds for
  // float"; (-3e38, 3e38): "to-from ... exceed the limit" (PyTorch 1.13). Before the
  // check every draw rounded to inf or FLT_MAX.
  Generator g(1);
  Tensor<float> f = xt::zeros<float>({2, 2});
  EXPECT_EQ(error_of([&] { init::uniform(f, g, -1e39, 1e39); }), "uniform: bound -1e+39 is out of range for float");
  EXPECT_EQ(error_of([&] { init::uniform(f, g, -3e38, 3e38); }),
            "uniform: hi - lo = 6e+38 exceeds the largest float (3.40282e+38)");
  Tensor<double> d = xt::zeros<double>({2, 2});
  EXPECT_EQ(error_of([&] { init::uniform(d, g, -1e308, 1e308); }),
            "uniform: hi - lo = inf exceeds the largest double (1.79769e+308)");
  EXPECT_EQ(error_of([&] { init::xavier_uniform(f, g, 1e300); }),
            "xavier_uniform: bound -1.22474e+300 is out of range for float");
  init::uniform(f, g, -1e38, 1e38);  // within range: real draws
  EXPECT_NE(f(0, 0), f(0, 1));
  EXPECT_LT(std::abs(f(0, 0)), 1e38f);
}

TEST(Init, GainsAndFansArePyTorchsForThisLibrarysLayouts) {
  using init::Nonlinearity;
  EXPECT_EQ(init::calculate_gain(Nonlinearity::linear), 1.0);
  EXPECT_EQ(init::calculate_gain(Nonlinearity::sigmoid), 1.0);
  EXPECT_EQ(init::calculate_gain(Nonlinearity::tanh), 5.0 / 3.0);
  EXPECT_EQ(init::calculate_gain(Nonlinearity::relu), std::sqrt(2.0));
  EXPECT_EQ(init::calculate_gain(Nonlinearity::leaky_relu), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_EQ(init::calculate_gain(Nonlinearity::leaky_relu, std::sqrt(5.0)), std::sqrt(2.0 / 6.0));
  EXPECT_EQ(init::calculate_gain(Nonlinearity::selu), 0.75);
  const init::Fans lin = init::fans_of({784, 256});  // (in, out): nn::Linear's weight
  EXPECT_EQ(lin.in, 784u);
  EXPECT_EQ(lin.out, 256u);
  const init::Fans conv = init::fans_of({16, 3, 5, 5});  // (out, in, kh, kw): PyTorch's conv weight
  EXPECT_EQ(conv.in, 75u);
  EXPECT_EQ(conv.out, 400u);
}

TEST(Init, ErrorsNameTheInitialiserAndTheValue) {
  Generator g(0);
  Tensor<float> v = Tensor<float>::from_shape({5});
  Tensor<float> w = Tensor<float>::from_shape({2, 3});
  EXPECT_EQ(error_of([&] { init::kaiming_uniform(v, g); }),
            "kaiming_uniform: fan in and fan out need a tensor of rank >= 2, got shape (5)");
  EXPECT_EQ(error_of([&] { init::xavier_normal(v, g); }),
            "xavier_normal: fan in and fan out need a tensor of rank >= 2, got shape (5)");
  EXPECT_EQ(error_of([&] { init::uniform(w, g, 1, 0); }), "uniform: need lo <= hi, got [1, 0)");
  EXPECT_EQ(error_of([&] { init::uniform(w, g, 0, std::numeric_limits<double>::infinity()); }),
            "uniform: hi must be finite, got inf");
  EXPECT_EQ(error_of([&] { init::normal(w, g, 0, -1); }), "normal: std must be >= 0, got -1");
  EXPECT_EQ(error_of([&] { init::kaiming_normal(w, g, std::nan("")); }), "kaiming_normal: a must be finite, got nan");
  EXPECT_EQ(error_of([&] { init::xavier_uniform(w, g, -1); }), "xavier_uniform: gain must be >= 0, got -1");
  EXPECT_EQ(error_of([] { init::calculate_gain(init::Nonlinearity::leaky_relu, INFINITY); }),
            "calculate_gain: the leaky_relu slope must be finite, got inf");
  EXPECT_EQ(error_of([] { init::calculate_gain(static_cast<init::Nonlinearity>(42)); }),
            "calculate_gain: unknown nonlinearity 42");
  EXPECT_EQ(error_of([&] { init::kaiming_uniform(w, g, 0, static_cast<init::FanMode>(7)); }),
            "kaiming_uniform: unknown fan mode 7");
}

TEST(Init, EdgeCasesKeepTheirPromises) {
  Generator g(1);
  // Rounding to float would land half of these on hi = nextafter(1): they stay in [1, hi).
  Tensor<float> w = Tensor<float>::from_shape({1000});
  init::uniform(w, g, 1.0, std::nextafter(1.0f, 2.0f));
  EXPECT_TRUE(xt::all(xt::equal(w, 1.0f)));
  init::uniform(w, g, 2.5, 2.5);  // lo = hi fills with lo
  EXPECT_TRUE(xt::all(xt::equal(w, 2.5f)));
  // Zero-element tensors and zero fans are left alone, drawing nothing.
  Tensor<float> empty = Tensor<float>::from_shape({0, 4});
  Generator before(5), after(5);
  init::kaiming_uniform(empty, after);
  init::xavier_normal(empty, after);
  EXPECT_EQ(before.next_u64(), after.next_u64());
}

}  // namespace
}  // namespace tapegrad::nn_test
