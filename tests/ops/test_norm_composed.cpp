// batch_norm_composed and layer_norm_composed (ops/norm_composed.cpp): built only
// from public tape ops, with hand and PyTorch values of their own. The fused ops
// are checked against them in test_batch_norm.cpp and test_layer_norm.cpp.
#include <gmock/gmock.h>

#include <cmath>
#include <set>
#include <string>

#include <tapegrad/ops/norm.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::all_close;
using testing::shaped;

std::set<std::string> ops_on(const Tape<double>& t, std::size_t from) {
  std::set<std::string> ops;
  for (std::size_t i = from; i < t.size(); ++i) ops.insert(t.record(static_cast<std::uint32_t>(i)).op);
  return ops;
}

TEST(NormComposed, BatchNormIsRecordedAsPublicTapeOpsWithHandValues) {
  // channel 0 {1, 2, 3, 6}: μ = 3, σ² = 3.5; channel 1 {0, 0, 4, 4}: μ = 2, σ² = 4
  Tape<double> t;
  const Var<double> x = t.constant(shaped({4, 2}, {1, 0, 2, 0, 3, 4, 6, 4}));
  const Var<double> g = t.constant(Tensor<double>{2, -1}), b = t.constant(Tensor<double>{0.5, 0});
  Tensor<double> rm = Tensor<double>{0, 0}, rv = Tensor<double>{1, 1};
  const std::size_t from = t.size();
  const Var<double> y = batch_norm_composed(x, g, b, &rm, &rv, true, 0.1, 1e-5);
  const double s0 = std::sqrt(3.5 + 1e-5), s1 = std::sqrt(4 + 1e-5);
  EXPECT_TRUE(all_close(y.value(), shaped({4, 2}, {-4 / s0 + 0.5, 2 / s1, -2 / s0 + 0.5, 2 / s1, 0.5, -2 / s1,
                                                   6 / s0 + 0.5, -2 / s1}),
                        1e-15, 1e-15));
  EXPECT_TRUE(all_close(rm, Tensor<double>{0.3, 0.2}, 1e-16, 1e-15));
  EXPECT_TRUE(all_close(rv, Tensor<double>{0.9 + 0.1 * 14 / 3, 0.9 + 0.1 * 16 / 3}, 1e-16, 1e-15));
  const std::set<std::string> ops = ops_on(t, from);
  EXPECT_EQ(ops.count("batch_norm"), 0u);
  for (const char* op : {"mean", "sub", "square", "sqrt", "div", "mul", "add", "reshape"})
    EXPECT_EQ(ops.count(op), 1u) << op;
}

TEST(NormComposed, BatchNormEvalAndFloatMatchPyTorch) {
  // F.batch_norm(x, rm, rv, training=False, eps=1e-3) on x (2, 3, 1, 2), no affine, python3-torch 1.13:
  // rm = (0.5, -1, 2), rv = (1.5, 0.25, 4)
  const Tensor<double> x = shaped({2, 3, 1, 2}, {2.65, -0.48, -0.19, 0.2, 1.5, 1.77, 3.02, -0.52, 0.28, -0.43, 2.21, 2.0});
  Tensor<double> rm = {0.5, -1.0, 2.0}, rv = {1.5, 0.25, 4.0};
  Tape<double> t;
  const Var<double> y = batch_norm_composed(t.constant(x), nullptr, nullptr, &rm, &rv, false, 0.1, 1e-3);
  Tensor<double> expected = Tensor<double>::from_shape({2, 3, 1, 2});
  for (std::size_t k = 0; k < x.size(); ++k) {
    const std::size_t c = (k / 2) % 3;
    expected.data()[k] = (x.data()[k] - rm(c)) / std::sqrt(rv(c) + 1e-3);
  }
  EXPECT_TRUE(all_close(y.value(), expected, 1e-15, 1e-15));
  EXPECT_NEAR(y.value()(0, 0, 0, 0), 1.7548827855271056, 1e-15);  // torch 1.13: (2.65 − 0.5)/√1.501
  // float, training: statistics accumulated in double by the fused op and in float here
  Tensor<float> rmf = xt::zeros<float>({3}), rvf = xt::ones<float>({3});
  Tape<float> tf;
  const Var<float> yf = batch_norm_composed(tf.constant(xt::cast<float>(x)), nullptr, nullptr, &rmf, &rvf, true);
  Tensor<float> rmf2 = xt::zeros<float>({3}), rvf2 = xt::ones<float>({3});
  const Var<float> yf2 = batch_norm(tf.constant(xt::cast<float>(x)), nullptr, nullptr, &rmf2, &rvf2, true);
  EXPECT_TRUE(all_close(yf.value(), yf2.value(), 1e-6, 1e-5));
  EXPECT_TRUE(all_close(rmf, rmf2, 1e-7, 1e-6));
  EXPECT_TRUE(all_close(rvf, rvf2, 1e-7, 1e-6));
}

TEST(NormComposed, LayerNormIsRecordedAsPublicTapeOpsWithHandValues) {
  // rows {1, 2, 3, 6} (μ = 3, σ² = 3.5) and {4, 4, 0, 0} (μ = 2, σ² = 4)
  Tape<double> t;
  const Var<double> x = t.constant(shaped({2, 4}, {1, 2, 3, 6, 4, 4, 0, 0}));
  const Var<double> g = t.constant(Tensor<double>{1, 2, 3, 4}), b = t.constant(Tensor<double>{0, 0, 1, 1});
  const std::size_t from = t.size();
  const Var<double> y = layer_norm_composed(x, {4}, g, b, 1e-5);
  const double s0 = std::sqrt(3.5 + 1e-5), s1 = std::sqrt(4 + 1e-5);
  EXPECT_TRUE(all_close(y.value(), shaped({2, 4}, {-2 / s0, -2 / s0, 1, 12 / s0 + 1, 2 / s1, 4 / s1, -6 / s1 + 1, -8 / s1 + 1}),
                        1e-15, 1e-15));
  const std::set<std::string> ops = ops_on(t, from);
  EXPECT_EQ(ops.count("layer_norm"), 0u);
  for (const char* op : {"mean", "sub", "square", "sqrt", "div", "mul", "add", "reshape"})
    EXPECT_EQ(ops.count(op), 1u) << op;
  // gradcheck of the composed form alone, over two trailing axes
  auto f = [](Tape<double>&, const std::vector<Var<double>>& v) {
    return testing::weighted_sum(layer_norm_composed(v[0], {2, 3}, v[1], v[2]), 3);
  };
  EXPECT_TRUE(testing::gradcheck_passes(f, {testing::random_tensor({2, 2, 3}, 1), testing::random_tensor({2, 3}, 2),
                                            testing::random_tensor({2, 3}, 3)}));
}

}  // namespace
}  // namespace tapegrad
