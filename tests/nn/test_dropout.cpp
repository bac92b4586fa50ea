#include <gmock/gmock.h>

#include <cmath>

#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/ops/dropout.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using testing::all_close;
using testing::error_of;

Tensor<float> ones(std::size_t n) { return xt::ones<float>({n}); }

TEST(DropoutModule, TrainingDropsAndScalesEvalIsTheIdentity) {
  Dropout<float> d(0.2, 17);
  Tape<float> t;
  const Var<float> x = t.constant(ones(50000));
  const Tensor<float> y = d(x).value();
  const float scale = static_cast<float>(1.0 / 0.8);
  std::size_t dropped = 0;
  for (float v : y) {
    ASSERT_TRUE(v == 0.0f || v == scale) << v;  // kept elements are exactly 1/(1 − p)
    dropped += v == 0.0f;
  }
  EXPECT_NEAR(double(dropped) / 50000, 0.2, 5 * std::sqrt(0.2 * 0.8 / 50000));
  d.eval();
  const std::size_t records = t.size();
  EXPECT_EQ(d(x).id(), x.id());  // x itself: nothing recorded
  EXPECT_EQ(t.size(), records);
  d.train();
  EXPECT_NE(d(x).id(), x.id());
}

TEST(DropoutModule, SameSeedSameMasksAndEachStepANewOne) {
  Dropout<float> a(0.5, 3), b(0.5, 3), c(0.5, 4);
  Tape<float> t;
  const Var<float> x = t.constant(ones(2000));
  const Tensor<float> a1 = a(x).value(), a2 = a(x).value();
  const Tensor<float> b1 = b(x).value(), b2 = b(x).value();
  const Tensor<float> c1 = c(x).value();
  EXPECT_TRUE(same_bits(a1, b1));
  EXPECT_TRUE(same_bits(a2, b2));
  EXPECT_FALSE(same_bits(a1, a2));  // a fresh mask per forward
  EXPECT_FALSE(same_bits(a1, c1));
  // The mask of step k is the op's for the k-th draw of Generator(seed).
  Generator g(3);
  EXPECT_TRUE(same_bits(a1, dropout(x, 0.5, g.next_u64()).value()));
  EXPECT_TRUE(same_bits(a2, dropout(x, 0.5, g.next_u64()).value()));
  // manual_seed restarts the sequence: as a layer constructed with that seed.
  c.manual_seed(3);
  EXPECT_TRUE(same_bits(c(x).value(), a1));
  EXPECT_TRUE(same_bits(c(x).value(), a2));
}

TEST(DropoutModule, GradientIsTheMaskTimesTheScale) {
  Dropout<double> d(0.4, 5);
  Parameter<double> p(testing::random_away_from_zero({8, 9}, 1));
  const Tensor<double> g = testing::random_tensor({8, 9}, 2);
  Tape<double> t;
  const Var<double> y = d(t.watch(p));
  t.backward(y, g);
  const double scale = 1.0 / 0.6;
  for (std::size_t k = 0; k < p.value.size(); ++k) {
    const bool kept = y.value().data()[k] != 0;
    ASSERT_EQ(p.grad.data()[k], kept ? g.data()[k] * scale : 0.0) << k;
    if (kept) ASSERT_EQ(y.value().data()[k], p.value.data()[k] * scale);
  }
}

TEST(DropoutModule, SeededFromAModelGeneratorAndChecked) {
  Generator g1(8), g2(8);
  Dropout<float> a(0.5, g1), b(0.5, g2);
  Tape<float> t;
  const Var<float> x = t.constant(ones(100));
  EXPECT_TRUE(same_bits(a(x).value(), b(x).value()));
  EXPECT_EQ(g1.next_u64(), g2.next_u64());  // each drew one seed
  EXPECT_EQ(error_of([] { Dropout<float>(1.0, 0); }), "Dropout: p must be in [0, 1), got 1");
  EXPECT_EQ(error_of([] { Dropout<double>(-0.5, 0); }), "Dropout: p must be in [0, 1), got -0.5");
  Dropout<float> none(0.0, 1);
  EXPECT_EQ(none(x).id(), x.id());  // p = 0: the identity in training too
  EXPECT_EQ(a.to_string(), "Dropout(p=0.5)");
  EXPECT_TRUE(a.parameters().empty());
  EXPECT_EQ(error_of([&] { a.eval(); a(Var<float>()); }), "Dropout: Var is empty (default-constructed, never recorded)");
}

TEST(DropoutModule, InASequentialFollowsTheModelsMode) {
  Generator g(9);
  Sequential<double> s{Linear<double>(4, 50, g), Dropout<double>(0.5, g), Linear<double>(50, 2, g)};
  const Tensor<double> x = testing::random_tensor({3, 4}, 4);
  Tape<double> t;
  s.eval();
  const Tensor<double> e1 = s(t.constant(x)).value(), e2 = s(t.constant(x)).value();
  EXPECT_TRUE(same_bits(e1, e2));  // deterministic in eval
  s.train();
  const Tensor<double> r1 = s(t.constant(x)).value();
  EXPECT_FALSE(same_bits(r1, e1));
}

}  // namespace
}  // namespace tapegrad::nn_test
