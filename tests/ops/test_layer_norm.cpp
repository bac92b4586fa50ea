// layer_norm (ops/layer_norm.cpp): hand values, PyTorch 1.13's numbers, the
// fused backward against the composed form and central differences,
// accumulation, errors, and no allocation once warm.
#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include <tapegrad/ops/norm.hpp>
#include "support/alloc_counter.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::error_of;
using testing::shaped;

// The inputs given to python3-torch 1.13 for the numbers below: x (2, 3, 4),
// gamma and beta (3, 4).
const std::vector<double> kX = {0.63, 0.59, 4.17, 3.24, 2.74, 4.22, 1.7,  1.98,  -2.13, -0.16, -2.2, 4.09,
                                0.9,  5.17, 0.29, 0.0,  -2.84, -2.67, 4.56, 1.82, 1.52,  2.39,  -1.95, 1.2};
const std::vector<double> kGamma = {-1.89, 1.01, -0.69, 0.91, 0.11, 0.61, 0.33, -0.88, -1.68, -0.72, 0.96, 0.13};
const std::vector<double> kBeta = {0.55, 2.13, -0.88, -2.08, 1.83, -0.55, 1.04, -1.26, 0.42, -1.3, 0.43, -1.15};

TEST(LayerNorm, ForwardByHand) {
  // rows {1, 2, 3, 6} (μ = 3, σ² = 3.5) and {4, 4, 0, 0} (μ = 2, σ² = 4)
  Tape<double> t;
  const Var<double> y = layer_norm(t.constant(shaped({2, 4}, {1, 2, 3, 6, 4, 4, 0, 0})), {4},
                                   t.constant(Tensor<double>{1, 2, 3, 4}), t.constant(Tensor<double>{0, 0, 1, 1}), 1e-5);
  const double s0 = std::sqrt(3.5 + 1e-5), s1 = std::sqrt(4 + 1e-5);
  EXPECT_TRUE(all_close(y.value(), shaped({2, 4}, {-2 / s0, -2 / s0, 1, 3 * 4 / s0 + 1, 2 / s1, 4 / s1, -6 / s1 + 1, -8 / s1 + 1}),
                        1e-15, 1e-15));
  // one value per row: x̂ = 0, so y = β (PyTorch allows it)
  const Var<double> one = layer_norm(t.constant(shaped({3, 1}, {5, -2, 7})), {1}, nullptr, t.constant(Tensor<double>{0.5}));
  EXPECT_TRUE(all_close(one.value(), shaped({3, 1}, {0.5, 0.5, 0.5}), 0, 0));
}

TEST(LayerNorm, ForwardAndGradientMatchPyTorch) {
  Parameter<double> px(shaped({2, 3, 4}, kX)), pg(shaped({3, 4}, kGamma)), pb(shaped({3, 4}, kBeta));
  Tape<double> t;
  const Var<double> y = layer_norm(t.watch(px), {3, 4}, t.watch(pg), t.watch(pb), 1e-5);
  // F.layer_norm(x, [3, 4], gamma, beta, eps=1e-5), float64
  EXPECT_TRUE(all_close(
      y.value(),
      shaped({2, 3, 4}, {1.3657869740663615, 1.6755485051630654, -1.700801706002435, -1.3850703554249517,
                         1.8888143332319889, 0.18960426561285632, 1.0592689357269685, -1.424226746326581,
                         3.2686425195220297, -0.7287327290357576, -1.228571066637887, -1.0001190507416846,
                         0.523488300086617, 3.9147755755987887, -0.716875552952614, -2.403481057570069,
                         1.6626399761694461, -1.435512673465165, 1.5404994281363924, -1.604730788911148,
                         -0.031201830504189933, -1.750544939759143, -0.6798169137569848, -1.13216473201078}),
      1e-14, 1e-13));
  // (y * w).sum().backward(), w = arange(24) % 7 − 3
  Tensor<double> w = Tensor<double>::from_shape({2, 3, 4});
  for (std::size_t k = 0; k < w.size(); ++k) w.data()[k] = double(k % 7) - 3;
  t.backward(y, w);
  EXPECT_TRUE(all_close(
      px.grad,
      shaped({2, 3, 4}, {2.0028657576398636, -1.522215007446174, 0.015946790520345422, -0.37722258269959164,
                         -0.36833690718266193, 0.26281803825777794, -0.05162699098678547, 0.7272522984665568,
                         0.7159351427568337, -0.3296230480164392, -0.8286406048647225, -0.24715288644500294,
                         -1.3171045552840472, 1.0207266000499602, 1.1500893853331422, -0.41586677188824583,
                         0.5908434372423432, 0.61776809205184, -0.022339378178004354, -0.5864720908356139,
                         -1.900915911277669, 0.9617640414113089, -0.2477380985751515, 0.14924524995013716}),
      1e-13, 1e-12));
  EXPECT_TRUE(all_close(pg.grad,
                        shaped({3, 4}, {1.3229546677385453, 6.201217541059639, -0.48033096356561844, 0.7109473792748763,
                                        2.056130518750389, 2.424932018402808, 1.6918370767190842, 0.22361515777562813,
                                        4.196958649140851, -1.0838438171016478, 2.3121185703270517, 1.0157360097622703}),
                        1e-13, 1e-12));
  EXPECT_TRUE(all_close(pb.grad, shaped({3, 4}, {-1, 1, -4, -2, 0, 2, 4, -1, 1, -4, -2, 0}), 0, 0));
  // over the last axis only, no affine; and in float with eps = 1e-2
  EXPECT_TRUE(all_close(
      layer_norm(t.constant(shaped({2, 3, 4}, kX)), {4}).value(),
      shaped({2, 3, 4}, {-0.9654815128575059, -0.9907641711320069, 1.2720337444358307, 0.6842119395536832,
                         0.08181986704586688, 1.5954874073944014, -0.9818384045504012, -0.6954688698898676,
                         -0.7948472341885482, -0.023493021700154104, -0.8222557595053949, 1.6405960153940973,
                         -0.32978285742161206, 1.7110472892309723, -0.6213300212291241, -0.7599344105802364,
                         -0.9777892367482606, -0.9234231957843344, 1.3887325463873497, 0.5124798861452454,
                         0.4449102655809944, 0.9751457875747823, -1.6699371612218148, 0.2498811080660379}),
      1e-14, 1e-13));
  Tape<float> tf;
  EXPECT_TRUE(all_close(
      layer_norm(tf.constant(shaped<float>({2, 3, 4}, kX)), {4}, nullptr, nullptr, 1e-2).value(),
      shaped<float>({2, 3, 4}, {-0.9635605216026306, -0.988792896270752, 1.2695029973983765, 0.6828506588935852,
                                0.08139565587043762, 1.587215781211853, -0.9767482876777649, -0.6918634176254272,
                                -0.7942392230033875, -0.02347508631646633, -0.8216267824172974, 1.6393409967422485,
                                -0.3294071853160858, 1.709098219871521, -0.6206222176551819, -0.7590687274932861,
                                -0.9772899746894836, -0.9229517579078674, 1.3880236148834229, 0.5122182965278625,
                                0.44408705830574036, 0.9733415246009827, -1.6668472290039062, 0.24941879510879517}),
      1e-6, 1e-5));
}

struct Case {
  Shape shape, normalized;
  bool gamma, beta;
  double offset;
};

TEST(LayerNorm, FusedMatchesComposedAndCentralDifferences) {
  const std::vector<Case> cases = {
      {{2, 3}, {3}, true, true, 0},          {{2, 3}, {3}, false, false, 0},     {{2, 3}, {2, 3}, true, true, 0},
      {{2, 3, 4}, {4}, true, false, 0},      {{2, 3, 4}, {3, 4}, false, true, 0}, {{2, 2, 3, 2}, {3, 2}, true, true, 0},
      {{5}, {5}, true, true, 0},             {{4, 6}, {6}, true, true, 1e3},     {{2, 3, 2, 2}, {2, 2}, true, true, 1e3},
      {{3, 2}, {2}, true, true, 0}};
  std::uint64_t seed = 20;
  for (const Case& k : cases) {
    std::vector<Tensor<double>> inputs = {testing::random_tensor(k.shape, ++seed) * 2.0 + k.offset};
    if (k.gamma) inputs.push_back(testing::random_tensor(k.normalized, ++seed, 0.5, 2.0));
    if (k.beta) inputs.push_back(testing::random_tensor(k.normalized, ++seed));
    auto make = [&](bool composed) {
      const bool has_g = k.gamma, has_b = k.beta;
      const Shape ns = k.normalized;
      return [=](Tape<double>&, const std::vector<Var<double>>& v) {
        const Var<double>* g = has_g ? &v[1] : nullptr;
        const Var<double>* b = has_b ? &v[has_g ? 2 : 1] : nullptr;
        const Var<double> y = composed ? layer_norm_composed(v[0], ns, g, b) : layer_norm(v[0], ns, g, b);
        return testing::weighted_sum(y, 78);
      };
    };
    const CompareReport rep = compare_gradients<double>(make(false), make(true), inputs);
    EXPECT_TRUE(rep.passed) << shape_str(k.shape) << " over " << shape_str(k.normalized) << ": " << rep.summary();
    EXPECT_LE(rep.max_rel_diff, 1e-10) << shape_str(k.shape);
    EXPECT_TRUE(testing::gradcheck_passes(make(false), inputs)) << shape_str(k.shape) << " fused";
    EXPECT_TRUE(testing::gradcheck_passes(make(true), inputs)) << shape_str(k.shape) << " composed";
  }
}

TEST(LayerNorm, GradientsAccumulateIntoExistingOnesAndIntoSharedVars) {
  const Tensor<double> x0 = testing::random_tensor({3, 4}, 60), w = testing::random_tensor({3, 4}, 61);
  const Tensor<double> g0 = testing::random_tensor({4}, 62, 0.5, 2);
  Tensor<double> dx, dg;
  {
    Parameter<double> px(x0), pg(g0);
    Tape<double> t;
    t.backward(layer_norm(t.watch(px), {4}, t.watch(pg)), w);
    dx = px.grad;
    dg = pg.grad;
  }
  Parameter<double> px(x0), pg(g0);
  px.grad = testing::random_tensor({3, 4}, 63);
  pg.grad = Tensor<double>{1, 2, 3, 4};
  const Tensor<double> before = px.grad;
  Tape<double> t;
  t.backward(layer_norm(t.watch(px), {4}, t.watch(pg)), w);
  EXPECT_TRUE(all_close(px.grad, before + dx, 1e-15, 1e-15));
  EXPECT_TRUE(all_close(pg.grad, Tensor<double>{1, 2, 3, 4} + dg, 1e-14, 1e-15));
  // an intermediate read twice, one Var as gamma and beta, and x itself as gamma
  // (x of shape normalized_shape): against the composed form, which sums through the tape
  auto f = [](bool composed) {
    return [=](Tape<double>&, const std::vector<Var<double>>& v) {
      const Var<double> h = v[0] * 2.0;
      const Var<double> a = composed ? layer_norm_composed(h, {4}, v[1], v[1]) : layer_norm(h, {4}, v[1], v[1]);
      const Var<double> b = composed ? layer_norm_composed(v[1], {4}, v[1], nullptr) : layer_norm(v[1], {4}, v[1], nullptr);
      return testing::weighted_sum(a + h + b, 6);
    };
  };
  const std::vector<Tensor<double>> in = {x0, g0};
  const CompareReport rep = compare_gradients<double>(f(false), f(true), in);
  EXPECT_TRUE(rep.passed) << rep.summary();
  EXPECT_TRUE(testing::gradcheck_passes(f(false), in));
}

TEST(LayerNorm, ErrorsNameTheOpAndTheShapesAndRecordNothing) {
  Tape<double> t;
  const Var<double> x = t.constant(Tensor<double>::from_shape({2, 3}));
  const Var<double> g3 = t.constant(Tensor<double>{1, 1, 1}), g2 = t.constant(Tensor<double>{1, 1});
  const Var<double> g13 = t.constant(Tensor<double>::from_shape({1, 3}));
  const std::size_t size = t.size();
  EXPECT_EQ(error_of([&] { layer_norm(x, {}); }), "layer_norm: normalized_shape must have at least one extent, got ()");
  EXPECT_EQ(error_of([&] { layer_norm(x, {4}); }),
            "layer_norm: normalized_shape (4) is not the trailing extents of input (2, 3)");
  EXPECT_EQ(error_of([&] { layer_norm(x, {2}); }),
            "layer_norm: normalized_shape (2) is not the trailing extents of input (2, 3)");
  EXPECT_EQ(error_of([&] { layer_norm(x, {1, 2, 3}); }),
            "layer_norm: normalized_shape (1, 2, 3) is not the trailing extents of input (2, 3)");
  EXPECT_EQ(error_of([&] { layer_norm(x, {3}, g2); }), "layer_norm: gamma has shape (2), expected normalized_shape (3)");
  EXPECT_EQ(error_of([&] { layer_norm(x, {3}, g3, g13); }),
            "layer_norm: beta has shape (1, 3), expected normalized_shape (3)");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of([&] { layer_norm(x, {3}, g3, g3, 0.0); }), "layer_norm: eps must be positive and finite, got 0");
  EXPECT_EQ(error_of([&] { layer_norm(x, {3}, g3, g3, -1.0); }), "layer_norm: eps must be positive and finite, got -1");
  EXPECT_EQ(error_of([&] { layer_norm(x, {3}, g3, g3, nan); }), "layer_norm: eps must be positive and finite, got nan");
  EXPECT_EQ(error_of([&] { layer_norm(Var<double>(), {3}); }), "layer_norm: Var is empty (default-constructed, never recorded)");
  EXPECT_EQ(error_of([&] { layer_norm(x, {3}, nullptr, Var<double>()); }),
            "layer_norm: Var is empty (default-constructed, never recorded)");
  EXPECT_EQ(error_of([&] { layer_norm_composed(x, {4}); }),
            "layer_norm_composed: normalized_shape (4) is not the trailing extents of input (2, 3)");
  EXPECT_EQ(t.size(), size);  // nothing recorded by the refused calls
}

TEST(LayerNorm, EmptyInputsAndNoGrad) {
  Parameter<double> pg(Tensor<double>{1, 1, 1}), pb(Tensor<double>{0, 0, 0});
  Tape<double> t;
  const Var<double> y = layer_norm(t.constant(Tensor<double>::from_shape({0, 3})), {3}, t.watch(pg), t.watch(pb));
  EXPECT_EQ(to_shape(y.value().shape()), (Shape{0, 3}));
  t.backward(sum(y));
  EXPECT_TRUE(all_close(pg.grad, Tensor<double>{0, 0, 0}, 0, 0));
  NoGrad<double> no_grad(t);
  const Var<double> z = layer_norm(t.watch(pg), {3});
  EXPECT_FALSE(t.record(z.id()).has_saved());
}

TEST(LayerNorm, AWarmForwardAndBackwardAllocatesNothing) {
  Parameter<float> px(xt::cast<float>(testing::random_tensor({16, 8, 5}, 70)));
  Parameter<float> pg(Tensor<float>(xt::ones<float>({8, 5}))), pb(Tensor<float>(xt::zeros<float>({8, 5})));
  Tape<float> t;
  const Shape ns = {8, 5};
  const long n = testing::allocations_after_warmup(
      g_allocations, g_counting,
      [&] {
        t.clear();
        t.backward(sum(layer_norm(t.watch(px), ns, t.watch(pg), t.watch(pb))));
      },
      2, 6);
  EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace tapegrad
