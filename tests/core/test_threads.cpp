// Two threads, each training its own model on its own tape, end bit-identical to
// the same two trainings run one after the other: nothing in the library shares
// mutable state between tapes (no global tape, no process-wide BLAS settings
// changed per op). The sanitizer CI runs this file under ThreadSanitizer too.
#include <thread>

#include <gtest/gtest.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

struct Model {
  Parameter<float> w1, b1, w2;
};

Tensor<float> random_float(const Shape& shape, std::uint64_t seed, double scale) {
  Tensor<double> d = testing::random_tensor(shape, seed, -scale, scale);
  Tensor<float> f = Tensor<float>::from_shape(shape);
  std::copy(d.begin(), d.end(), f.begin());
  return f;
}

// 40 Adam steps of a 96-128-10 MLP with the hinge loss on fixed random data; the
// first layer's gemms (64×96·96×128) are large enough for BLAS to use its threads.
Model train(std::uint64_t seed) {
  Model m{Parameter<float>(random_float({96, 128}, seed, 0.1), "w1"),
          Parameter<float>(Tensor<float>(xt::zeros<float>({128})), "b1"),
          Parameter<float>(random_float({128, 10}, seed + 1, 0.1), "w2")};
  const Tensor<float> x = random_float({64, 96}, seed + 2, 1.0);
  const IndexTensor y = testing::random_labels(64, 10, seed + 3);
  AdamOptions o;
  o.lr = 1e-2;
  Adam<float> adam({&m.w1, &m.b1, &m.w2}, o);
  Tape<float> tape;
  for (int step = 0; step < 40; ++step) {
    tape.clear();
    adam.zero_grad();
    Var<float> h = relu(matmul(tape.borrow(x), tape.watch(m.w1)) + tape.watch(m.b1));
    HingeOptions hinge;
    hinge.kind = step % 2 ? HingeKind::crammer_singer : HingeKind::weston_watkins;
    Var<float> loss = multiclass_hinge(matmul(h, tape.watch(m.w2)), y, hinge) + mean(softmax(h, 1)) * 0.f;
    tape.backward(loss);
    adam.step();
  }
  return m;
}

void expect_identical(const Model& a, const Model& b) {
  EXPECT_EQ(a.w1.value, b.w1.value);
  EXPECT_EQ(a.b1.value, b.b1.value);
  EXPECT_EQ(a.w2.value, b.w2.value);
}

TEST(Threads, TwoTrainingsOnTwoThreadsMatchSequentialRunsBitForBit) {
  const Model seq_a = train(11), seq_b = train(22);
  EXPECT_NE(seq_a.w2.value, seq_b.w2.value);  // different seeds train different models
  Model par_a, par_b;
  std::thread ta([&] { par_a = train(11); });
  std::thread tb([&] { par_b = train(22); });
  ta.join();
  tb.join();
  expect_identical(par_a, seq_a);
  expect_identical(par_b, seq_b);
}

}  // namespace
}  // namespace tapegrad
