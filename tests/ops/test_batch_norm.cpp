// batch_norm (ops/batch_norm.cpp): hand values, PyTorch 1.13's numbers, running
// statistics, eval mode, the fused backward against the composed form and against
// central differences, accumulation, errors, and no allocation once warm.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>
#include <optional>

#include <tapegrad/ops/norm.hpp>
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::error_of;
using testing::shaped;

// PyTorch's inputs (tests/ops/test_batch_norm.cpp's numbers were computed with
// python3-torch 1.13 from these): x (2, 3, 2, 2), gamma, beta.
const std::vector<double> kX4 = {2.65, -0.48, -0.19, 0.2,  1.5,  1.77, 3.02, -0.52, 0.28, -0.43, 2.21, 2.0,
                                 -0.64, -0.55, -0.09, -3.3, 4.83, 1.5,  0.74, 1.35,  2.9,  -2.76, 4.31, -0.66};
const std::vector<double> kGamma = {1.5, -0.5, 2.0}, kBeta = {0.25, 1.0, -3.0};

TEST(BatchNorm, ForwardAndRunningStatsByHand) {
  // channel 0 holds {1, 2, 3, 6}: μ = 3, σ² = 14/4 = 3.5; channel 1 {0, 0, 4, 4}: μ = 2, σ² = 4
  const Tensor<double> x = shaped({4, 2}, {1, 0, 2, 0, 3, 4, 6, 4});
  Tensor<double> rm = Tensor<double>{0, 0}, rv = Tensor<double>{1, 1};
  Tape<double> t;
  const Var<double> g = t.constant(Tensor<double>{2, -1}), b = t.constant(Tensor<double>{0.5, 0});
  const Var<double> y = batch_norm(t.constant(x), g, b, &rm, &rv, true, 0.1, 1e-5);
  const double s0 = std::sqrt(3.5 + 1e-5), s1 = std::sqrt(4 + 1e-5);
  const Tensor<double> expected = shaped({4, 2}, {-2 / s0 * 2 + 0.5, 2 / s1, -1 / s0 * 2 + 0.5, 2 / s1,
                                                  0 / s0 * 2 + 0.5, -2 / s1, 3 / s0 * 2 + 0.5, -2 / s1});
  EXPECT_TRUE(all_close(y.value(), expected, 1e-15, 1e-15));
  // running = 0.9·running + 0.1·stat, the variance unbiased: 14/3 and 16/3
  EXPECT_TRUE(all_close(rm, Tensor<double>{0.3, 0.2}, 1e-16, 1e-15));
  EXPECT_TRUE(all_close(rv, Tensor<double>{0.9 + 0.1 * 14 / 3, 0.9 + 0.1 * 16 / 3}, 1e-16, 1e-15));
  // no affine: x̂ itself; momentum 1 replaces the statistics, momentum 0 keeps them
  const Var<double> xh = batch_norm(t.constant(x), nullptr, nullptr, &rm, &rv, true, 1.0, 1e-5);
  EXPECT_NEAR(xh.value()(3, 0), 3 / s0, 1e-15);
  EXPECT_TRUE(all_close(rm, Tensor<double>{3, 2}, 0, 0));
  EXPECT_TRUE(all_close(rv, Tensor<double>{14.0 / 3, 16.0 / 3}, 0, 1e-15));
  batch_norm(t.constant(x * 7.0), nullptr, nullptr, &rm, &rv, true, 0.0, 1e-5);
  EXPECT_TRUE(all_close(rm, Tensor<double>{3, 2}, 0, 0));
  // gamma and beta spelled every accepted way: a Var, a pointer, std::optional, nullopt, {}
  const std::optional<Var<double>> og = g;
  const Var<double> xv = t.constant(x);
  EXPECT_TRUE(all_close(batch_norm(xv, &g, og, nullptr, nullptr, true).value(),
                        batch_norm(xv, g, g, nullptr, nullptr, true).value(), 0, 0));
  EXPECT_TRUE(all_close(batch_norm(xv, std::nullopt, {}, nullptr, nullptr, true).value(),
                        batch_norm(xv, nullptr, nullptr, nullptr, nullptr, true).value(), 0, 0));
  const Var<double>* none = nullptr;
  EXPECT_TRUE(all_close(batch_norm(xv, none, std::optional<Var<double>>(), nullptr, nullptr, true).value(), xh.value(), 0, 0));
}

TEST(BatchNorm, FourDimensionalForwardAndGradientMatchPyTorch) {
  const Tensor<double> x = shaped({2, 3, 2, 2}, kX4);
  Parameter<double> px(x), pg(Tensor<double>(shaped({3}, kGamma))), pb(Tensor<double>(shaped({3}, kBeta)));
  Tape<double> t;
  const Var<double> y = batch_norm(t.watch(px), t.watch(pg), t.watch(pb), nullptr, nullptr, true);
  // F.batch_norm(x, None, None, gamma, beta, training=True) in python3-torch 1.13 (float64)
  const Tensor<double> expected = shaped(
      {2, 3, 2, 2},
      {3.182193747850841,    0.07108648318198255,  0.35933603805545505, 0.7469819911611595,  1.092403865662941,
       1.0012658063789444,   0.5793303467308122,   1.7742515684543227,  -3.6567450881280377, -4.321684856500097,
       -1.8492327600180736,  -2.0459050858745984,  -0.08794775398958854, 0.0015090044194201516, 0.45873243628768695,
       -2.731891946966957,   -0.03163219883968326, 1.092403865662941,   1.3489406251290055,  1.143036120820717,
       -1.2030236893466357,  -6.503811138622488,   0.11749049854717178, -4.537087880057243});
  EXPECT_TRUE(all_close(y.value(), expected, 1e-13, 1e-13));
  // (F.batch_norm(...) * w).sum().backward(), w = arange(24) % 5 − 2
  Tensor<double> w = Tensor<double>::from_shape({2, 3, 2, 2});
  for (std::size_t k = 0; k < w.size(); ++k) w.data()[k] = double(k % 5) - 2;
  t.backward(y, w);
  EXPECT_TRUE(all_close(px.grad,
                        shaped({2, 3, 2, 2},
                               {-2.0165745712875807, -0.8603894747700014, 0.11854443626905073, 1.0922955641069763,
                                -0.5975080420017231, 0.7177751464356669,  0.21860510076978593, 0.33876932499824675,
                                1.0133855419532838,  1.790674828869212,   -1.363340233756513,  -0.47390615943555564,
                                0.14186696067412005, 1.1311664381154252,  2.1012896177125624,  -1.7081989708205527,
                                -0.015423088898013445, 0.07758869343528839, -0.16169369409121326, -0.5781134406480382,
                                -1.208580427137573,  -1.5415245355314309, 0.9807376434067473,  0.8025533416318292}),
                        1e-13, 1e-12));
  EXPECT_TRUE(all_close(pg.grad, Tensor<double>{0.6295105221374688, -4.539181674894606, -4.091486778979485},
                        1e-13, 1e-12));
  EXPECT_TRUE(all_close(pb.grad, Tensor<double>{-1, 1, -2}, 0, 0));  // Σ w per channel: exact
}

TEST(BatchNorm, RunningStatisticsAfterThreeStepsMatchPyTorch) {
  // batches x, 2x + 1, x² − 3 with running (0, 1) to start, as nn.BatchNorm2d's buffers
  const Tensor<double> x = shaped({2, 3, 2, 2}, kX4);
  const Tensor<double> batches[3] = {x, 2.0 * x + 1.0, x * x - 3.0};
  const Tensor<double> gamma = shaped({3}, kGamma), beta = shaped({3}, kBeta);
  // torch F.batch_norm(b, rm, rv, gamma, beta, training=True, momentum) three times, float64
  const Tensor<double> rm_01 = {-0.051559999999999995, 0.7869825000000001, 0.5984400000000001};
  const Tensor<double> rv_01 = {3.6394706794285714, 7.876282027339287, 6.88254032105357};
  const Tensor<double> rm_03 = {-0.14987999999999999, 1.9178175, 1.52337};
  const Tensor<double> rv_03 = {8.199890438285712, 20.94229308201786, 17.05239436316071};
  for (bool composed : {false, true}) {
    for (double momentum : {0.1, 0.3}) {
      Tensor<double> rm = xt::zeros<double>({3}), rv = xt::ones<double>({3});
      Tape<double> t;
      for (const Tensor<double>& b : batches) {
        const Var<double> xb = t.constant(b), g = t.constant(gamma), be = t.constant(beta);
        composed ? batch_norm_composed(xb, g, be, &rm, &rv, true, momentum)
                 : batch_norm(xb, g, be, &rm, &rv, true, momentum);
      }
      EXPECT_TRUE(all_close(rm, momentum == 0.1 ? rm_01 : rm_03, 1e-15, 1e-14)) << composed << momentum;
      EXPECT_TRUE(all_close(rv, momentum == 0.1 ? rv_01 : rv_03, 1e-15, 1e-14)) << composed << momentum;
    }
  }
  // float: torch's float32 buffers after the same three steps (momentum 0.1)
  Tensor<float> rm = xt::zeros<float>({3}), rv = xt::ones<float>({3});
  Tape<float> tf;
  for (const Tensor<double>& b : batches)
    batch_norm(tf.constant(xt::cast<float>(b)), tf.constant(xt::cast<float>(gamma)),
               tf.constant(xt::cast<float>(beta)), &rm, &rv, true);
  EXPECT_TRUE(all_close(rm, Tensor<float>{-0.05155999958515167f, 0.786982536315918f, 0.5984400510787964f}, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(rv, Tensor<float>{3.639470338821411f, 7.876281261444092f, 6.882540225982666f}, 1e-6, 1e-6));
  // 2-D, no affine: batches x2, 0.5·x2 − 2, x2 + 10
  const Tensor<double> x2 = shaped({4, 3}, {-2.43, -2.65, -0.02, -5.31, -3.51, -0.78, 0.81, 0.25, -1.65, -0.25, -0.42, -1.59});
  Tensor<double> rm2 = xt::zeros<double>({3}), rv2 = xt::ones<double>({3});
  Tape<double> t;
  for (const Tensor<double>& b : {x2, Tensor<double>(0.5 * x2 - 2.0), Tensor<double>(x2 + 10.0)})
    batch_norm(t.constant(b), nullptr, nullptr, &rm2, &rv2, true);
  EXPECT_TRUE(all_close(rm2, Tensor<double>{0.41433, 0.4623550000000001, 0.5917400000000002}, 1e-15, 1e-14));
  EXPECT_TRUE(all_close(rv2, Tensor<double>{2.21668675, 1.377776654166667, 0.8496755000000001}, 1e-15, 1e-14));
  // and the normalised x2 itself (F.batch_norm(x2, None, None, training=True))
  EXPECT_TRUE(all_close(batch_norm(t.constant(x2), nullptr, nullptr, nullptr, nullptr, true).value(),
                        shaped({4, 3}, {-0.27118718113598284, -0.6903525665663893, 1.4844731055546976, -1.501138490855085,
                                        -1.2465148215987967, 0.3448775901793742, 1.1125080422980076, 1.1850782934266122,
                                        -0.9596593813686932, 0.6598176296930601, 0.751789094738574, -0.8696913143653785}),
                        1e-14, 1e-13));
}

TEST(BatchNorm, EvalModeUsesTheRunningStatisticsAndTheAffineBackward) {
  const Tensor<double> x = shaped({2, 3, 2, 2}, kX4);
  Tensor<double> rm = {0.5, -1.0, 2.0}, rv = {1.5, 0.25, 4.0};
  const Tensor<double> rm0 = rm, rv0 = rv;
  Parameter<double> px(x), pg(Tensor<double>(shaped({3}, kGamma))), pb(Tensor<double>(shaped({3}, kBeta)));
  Tape<double> t;
  const Var<double> y = batch_norm(t.watch(px), t.watch(pg), t.watch(pb), &rm, &rv, false, 0.1, 1e-3);
  // F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=1e-3), python3-torch 1.13
  EXPECT_TRUE(all_close(
      y.value(),
      shaped({2, 3, 2, 2},
             {2.8823241782906583, -0.9498500905696955, -0.5947924107072345, -0.11730104813358024, -1.4950149501743726,
              -1.7644765647932048, -3.0119840398803914, 0.5209571295665205, -4.719785040304103, -5.429696306941262,
              -2.79002624507915, -2.9999999999999996, -1.145743982907605, -1.0355536684675308, -0.4723587279960411,
              -4.40247994302535, -4.818374863806637, -1.4950149501743726, -0.7365304053213634, -1.3453140531639103,
              -2.1001124789106433, -7.7594051115392615, -0.690288695870652, -5.659667562330764}),
      1e-14, 1e-13));
  EXPECT_TRUE(all_close(rm, rm0, 0, 0));  // eval never moves the running statistics
  EXPECT_TRUE(all_close(rv, rv0, 0, 0));
  // dx = g·γ/√(rv + ε) exactly as computed (the statistics are constants), dβ = Σ g
  t.backward(sum(y));
  for (std::size_t k = 0; k < x.size(); ++k) {
    const std::size_t c = (k / 4) % 3;
    ASSERT_NEAR(px.grad.data()[k], kGamma[c] / std::sqrt(rv0(c) + 1e-3), 1e-15) << k;
  }
  EXPECT_TRUE(all_close(pb.grad, Tensor<double>{8, 8, 8}, 0, 0));
  // eval with one value per channel is fine (only training needs two)
  EXPECT_EQ(batch_norm(t.constant(Tensor<double>{{1, 2, 3}}), nullptr, nullptr, &rm, &rv).value().size(), 3u);
}

// One configuration of the fused ↔ composed ↔ central-difference checks.
struct Case {
  Shape shape;
  bool gamma, beta, training;
  double offset;  // added to x: the large-offset data has mean ~1e3
};

TEST(BatchNorm, FusedMatchesComposedAndCentralDifferences) {
  const std::vector<Case> cases = {
      {{2, 3}, true, true, true, 0},       {{2, 3}, false, false, true, 0},   {{5, 4}, true, true, true, 0},
      {{2, 3, 2, 2}, true, true, true, 0}, {{2, 2, 3, 2}, false, false, true, 0}, {{3, 2, 4, 3}, true, false, true, 0},
      {{2, 3, 5}, false, true, true, 0},   {{4, 3}, true, true, true, 1e3},   {{2, 3, 2, 2}, true, true, true, 1e3},
      {{5, 4}, true, true, false, 0},      {{2, 3, 2, 2}, true, false, false, 0}, {{2, 3, 2, 2}, true, true, false, 1e3}};
  std::uint64_t seed = 10;
  for (const Case& k : cases) {
    const std::size_t c = k.shape[1];
    std::vector<Tensor<double>> inputs = {testing::random_tensor(k.shape, ++seed) * 2.0 + k.offset};
    if (k.gamma) inputs.push_back(testing::random_tensor({c}, ++seed, 0.5, 2.0));
    if (k.beta) inputs.push_back(testing::random_tensor({c}, ++seed));
    // running statistics for eval (not touched there); training passes none
    Tensor<double> rm = testing::random_tensor({c}, ++seed) + k.offset, rv = testing::random_tensor({c}, ++seed, 0.5, 2.0);
    const bool training = k.training;
    auto make = [&, training](bool composed) {
      const bool has_g = k.gamma, has_b = k.beta;
      Tensor<double>*rmp = training ? nullptr : &rm, *rvp = training ? nullptr : &rv;
      return [=](Tape<double>&, const std::vector<Var<double>>& v) {
        const Var<double>* g = has_g ? &v[1] : nullptr;
        const Var<double>* b = has_b ? &v[has_g ? 2 : 1] : nullptr;
        const Var<double> y = composed ? batch_norm_composed(v[0], g, b, rmp, rvp, training)
                                       : batch_norm(v[0], g, b, rmp, rvp, training);
        return testing::weighted_sum(y, 77);
      };
    };
    const CompareReport rep = compare_gradients<double>(make(false), make(true), inputs);
    EXPECT_TRUE(rep.passed) << shape_str(k.shape) << " offset " << k.offset << " training " << training << ": "
                            << rep.summary();
    EXPECT_LE(rep.max_rel_diff, 1e-10) << shape_str(k.shape);
    EXPECT_GT(rep.compared, 0u);
    EXPECT_TRUE(testing::gradcheck_passes(make(false), inputs)) << shape_str(k.shape) << " fused";
    EXPECT_TRUE(testing::gradcheck_passes(make(true), inputs)) << shape_str(k.shape) << " composed";
  }
}

TEST(BatchNorm, GradientsAccumulateIntoExistingOnesAndIntoSharedVars) {
  const Tensor<double> x0 = testing::random_tensor({3, 2, 2, 2}, 40);
  const Tensor<double> w = testing::random_tensor({3, 2, 2, 2}, 41);
  const Tensor<double> gamma0 = Tensor<double>{1.5, -0.7};
  auto fresh_grads = [&](Tensor<double>& dx, Tensor<double>& dg) {
    Parameter<double> px(x0), pg(gamma0);
    Tape<double> t;
    t.backward(batch_norm(t.watch(px), t.watch(pg), nullptr, nullptr, nullptr, true), w);
    dx = px.grad;
    dg = pg.grad;
  };
  Tensor<double> dx, dg;
  fresh_grads(dx, dg);
  // a parameter's gradient already holding something receives the sum
  Parameter<double> px(x0), pg(gamma0);
  px.grad = testing::random_tensor(to_shape(x0.shape()), 42);
  pg.grad = Tensor<double>{10, 20};
  const Tensor<double> before = px.grad;
  Tape<double> t;
  t.backward(batch_norm(t.watch(px), t.watch(pg), nullptr, nullptr, nullptr, true), w);
  EXPECT_TRUE(all_close(px.grad, before + dx, 1e-15, 1e-15));
  EXPECT_TRUE(all_close(pg.grad, Tensor<double>{10, 20} + dg, 1e-14, 1e-15));
  // an intermediate read twice (batch_norm(h) + h) and one Var as both gamma and beta:
  // checked against the composed form, which sums through the tape
  auto f = [](bool composed) {
    return [=](Tape<double>&, const std::vector<Var<double>>& v) {
      const Var<double> h = v[0] * 3.0;
      const Var<double> y = composed ? batch_norm_composed(h, v[1], v[1], nullptr, nullptr, true)
                                     : batch_norm(h, v[1], v[1], nullptr, nullptr, true);
      return testing::weighted_sum(y + h, 5);
    };
  };
  const std::vector<Tensor<double>> in = {x0, gamma0};
  const CompareReport rep = compare_gradients<double>(f(false), f(true), in);
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_TRUE(testing::gradcheck_passes(f(false), in));
}

TEST(BatchNorm, ErrorsNameTheOpAndTheShapesAndRecordNothing) {
  Tape<double> t;
  const Var<double> x = t.constant(Tensor<double>::from_shape({2, 3}));
  const Var<double> g3 = t.constant(Tensor<double>{1, 1, 1}), g4 = t.constant(Tensor<double>{1, 1, 1, 1});
  const Var<double> g13 = t.constant(Tensor<double>::from_shape({1, 3}));
  Tensor<double> rm = xt::zeros<double>({3}), rv = xt::ones<double>({3}), r4 = xt::zeros<double>({4});
  Tensor<double> r31 = xt::zeros<double>({3, 1});
  const std::size_t size = t.size();
  EXPECT_EQ(error_of([&] { batch_norm(t.constant(Tensor<double>{1, 2, 3}), g3, g3, &rm, &rv, true); }),
            "batch_norm: expected an input of rank 2 or more, (N, C) or (N, C, H, W), got (3)");
  EXPECT_EQ(error_of([&] { batch_norm(x, g4, g3, &rm, &rv, true); }),
            "batch_norm: gamma has shape (4), expected (3) for input (2, 3)");
  EXPECT_EQ(error_of([&] { batch_norm(x, g13, nullptr, &rm, &rv, true); }),
            "batch_norm: gamma has shape (1, 3), expected (3) for input (2, 3)");
  EXPECT_EQ(error_of([&] { batch_norm(x, nullptr, g4, &rm, &rv, true); }),
            "batch_norm: beta has shape (4), expected (3) for input (2, 3)");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &r4, &rv, true); }),
            "batch_norm: running_mean has shape (4), expected (3) for input (2, 3)");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &r31, false); }),
            "batch_norm: running_var has shape (3, 1), expected (3) for input (2, 3)");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, nullptr, true); }),
            "batch_norm: running_mean and running_var must both be given or both be null, got only running_mean");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, nullptr, &rv, true); }),
            "batch_norm: running_mean and running_var must both be given or both be null, got only running_var");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, nullptr, nullptr, false); }),
            "batch_norm: running_mean and running_var are required when not training (input (2, 3))");
  EXPECT_EQ(error_of([&] { batch_norm(t.constant(Tensor<double>::from_shape({1, 3})), g3, g3, &rm, &rv, true); }),
            "batch_norm: expected more than 1 value per channel when training, got input (1, 3)");
  EXPECT_EQ(error_of([&] { batch_norm(t.constant(Tensor<double>::from_shape({1, 3, 1, 1})), g3, g3, nullptr, nullptr, true); }),
            "batch_norm: expected more than 1 value per channel when training, got input (1, 3, 1, 1)");
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, 0.1, 0.0); }),
            "batch_norm: eps must be positive and finite, got 0");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, 0.1, -1e-5); }),
            "batch_norm: eps must be positive and finite, got -1e-05");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, 0.1, nan); }),
            "batch_norm: eps must be positive and finite, got nan");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, 0.1, inf); }),
            "batch_norm: eps must be positive and finite, got inf");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, 1.5); }),
            "batch_norm: momentum must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, -0.1); }),
            "batch_norm: momentum must be in [0, 1], got -0.1");
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, g3, &rm, &rv, true, nan); }),
            "batch_norm: momentum must be in [0, 1], got nan");
  EXPECT_EQ(error_of([&] { batch_norm(Var<double>(), g3, g3, &rm, &rv, true); }),
            "batch_norm: Var is empty (default-constructed, never recorded)");
  EXPECT_EQ(error_of([&] { batch_norm(x, Var<double>(), g3, &rm, &rv, true); }),
            "batch_norm: Var is empty (default-constructed, never recorded)");
  Tape<double> other;
  const Var<double> foreign = other.constant(Tensor<double>{1, 1, 1});
  EXPECT_EQ(error_of([&] { batch_norm(x, g3, foreign, &rm, &rv, true); }), "batch_norm: Var #0 belongs to another tape");
  EXPECT_EQ(error_of([&] { batch_norm_composed(x, g4, g3, &rm, &rv, true); }),
            "batch_norm_composed: gamma has shape (4), expected (3) for input (2, 3)");
  EXPECT_EQ(error_of([&] { batch_norm_composed(x, g3, g3, &rm, &rv, true, 2.0); }),
            "batch_norm_composed: momentum must be in [0, 1], got 2");
  EXPECT_EQ(t.size(), size + 3);  // the three constants made inside the lambdas; no batch_norm record
  EXPECT_TRUE(all_close(rm, Tensor<double>{0, 0, 0}, 0, 0));  // refused calls leave the statistics alone
  EXPECT_TRUE(all_close(rv, Tensor<double>{1, 1, 1}, 0, 0));
}

TEST(BatchNorm, EmptyBatchLeavesStatisticsAndPassesZeroGradient) {
  // as torch 1.13: an empty output, running statistics unchanged, zero dγ and dβ
  for (const Shape& s : {Shape{0, 3}, Shape{0, 3, 2, 2}}) {
    Tensor<double> rm = Tensor<double>{1, 2, 3}, rv = Tensor<double>{4, 5, 6};
    Parameter<double> pg(Tensor<double>{1, 1, 1}), pb(Tensor<double>{0, 0, 0});
    pg.grad = Tensor<double>{7, 7, 7};  // overwritten by nothing, added to with zeros
    Tape<double> t;
    const Var<double> y = batch_norm(t.constant(Tensor<double>::from_shape(s)), t.watch(pg), t.watch(pb), &rm, &rv, true);
    EXPECT_EQ(to_shape(y.value().shape()), s);
    t.backward(sum(y));
    EXPECT_TRUE(all_close(rm, Tensor<double>{1, 2, 3}, 0, 0));
    EXPECT_TRUE(all_close(rv, Tensor<double>{4, 5, 6}, 0, 0));
    EXPECT_TRUE(all_close(pg.grad, Tensor<double>{7, 7, 7}, 0, 0));
    EXPECT_TRUE(all_close(pb.grad, Tensor<double>{0, 0, 0}, 0, 0));
  }
}

TEST(BatchNorm, NoGradUpdatesTheStatisticsAndSavesNothing) {
  Tensor<float> rm = xt::zeros<float>({2}), rv = xt::ones<float>({2});
  Parameter<float> px(Tensor<float>{{1, 0}, {3, 4}});
  Tape<float> t;
  NoGrad<float> no_grad(t);
  const Var<float> y = batch_norm(t.watch(px), nullptr, nullptr, &rm, &rv, true, 0.5);
  EXPECT_FALSE(t.record(y.id()).has_saved());
  EXPECT_TRUE(all_close(rm, Tensor<float>{1, 1}, 0, 0));    // 0.5·0 + 0.5·mean
  EXPECT_TRUE(all_close(rv, Tensor<float>{1.5f, 4.5f}, 0, 0));  // 0.5·1 + 0.5·unbiased (2, 8)
}

TEST(BatchNorm, AWarmForwardAndBackwardAllocatesNothing) {
  Parameter<float> px(xt::cast<float>(testing::random_tensor({8, 4, 3, 3}, 50)));
  Parameter<float> pg(Tensor<float>(xt::ones<float>({4}))), pb(Tensor<float>(xt::zeros<float>({4})));
  Tensor<float> rm = xt::zeros<float>({4}), rv = xt::ones<float>({4});
  Tape<float> t;
  for (bool training : {true, false}) {
    const long n = testing::allocations_after_warmup(
        g_allocations, g_counting,
        [&] {
          t.clear();
          t.backward(sum(batch_norm(t.watch(px), t.watch(pg), t.watch(pb), &rm, &rv, training)));
        },
        2, 6);
    EXPECT_EQ(n, 0) << training;
  }
}

}  // namespace
}  // namespace tapegrad
