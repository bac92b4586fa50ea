// tape.clear() keeps every record's buffers, so a whole training step — mini-batch
// copy, forward, backward, optimizer update — allocates nothing once warm. The
// executable's operator new and posix_memalign (behind xsimd's aligned
// allocator, i.e. every tensor buffer) are replaced by counting versions.
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/io/batches.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "support/support.hpp"

#include "support/alloc_counter.hpp"

namespace tapegrad {
namespace {

using testing::allocations_after_warmup;

Tensor<float> random_float(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
  Tensor<double> d = testing::random_tensor(shape, seed, -scale, scale);
  Tensor<float> f = Tensor<float>::from_shape(shape);
  std::copy(d.begin(), d.end(), f.begin());
  return f;
}

IndexTensor labels(std::size_t n, std::size_t c) {
  IndexTensor y = IndexTensor::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) y(i) = static_cast<std::int64_t>((i * 7) % c);
  return y;
}

TEST(SteadyState, LinearSvmStepAllocatesNothing) {
  // 48 examples, batch 16, over several epochs (reshuffled each time). A partial
  // last batch would change the records' shapes, and xtensor reallocates a buffer
  // whenever its size changes: that costs allocations twice per epoch, not per step.
  const Tensor<float> x = random_float({48, 12}, 1);
  const IndexTensor y = labels(48, 5);
  BatchIterator<float> batches(x, y, 16, 7);
  Parameter<float> w(random_float({12, 5}, 2, 0.1), "W");
  Parameter<float> b(Tensor<float>(xt::zeros<float>({5})), "b");
  SGDOptions o;
  o.lr = 0.01;
  o.momentum = 0.9;
  o.nesterov = true;
  SGD<float> sgd({&w, &b}, o);
  Tape<float> tape;
  std::uint64_t epoch = 0;
  HingeOptions h;
  h.kind = HingeKind::crammer_singer;
  auto step = [&] {
    if (!batches.next()) {
      batches.start_epoch(++epoch);
      ASSERT_TRUE(batches.next());
    }
    sgd.zero_grad();
    Var<float> wv = tape.watch(w);
    Var<float> scores = matmul(tape.constant(batches.x()), wv) + tape.watch(b);
    Var<float> loss = multiclass_hinge(scores, batches.y(), h) + sum(square(wv)) * 1e-3f;
    tape.backward(loss);
    sgd.step();
    tape.clear();
  };
  batches.start_epoch(0);
  EXPECT_EQ(allocations_after_warmup(g_allocations, g_counting, step, 10, 40), 0);
}

TEST(SteadyState, MlpStepAllocatesNothing) {
  const Tensor<float> x = random_float({32, 20}, 3);
  const IndexTensor y = labels(32, 4);
  Parameter<float> w1(random_float({20, 16}, 4, 0.3), "W1"), b1(Tensor<float>(xt::zeros<float>({16})), "b1");
  Parameter<float> w2(random_float({16, 4}, 5, 0.3), "W2"), b2(Tensor<float>(xt::zeros<float>({4})), "b2");
  AdamOptions o;
  o.lr = 1e-3;
  AdamW<float> adam({&w1, &b1, &w2, &b2}, o);
  Tape<float> tape;
  auto step = [&] {
    adam.zero_grad();
    Var<float> h = relu(matmul(tape.constant(x), tape.watch(w1)) + tape.watch(b1));
    Var<float> scores = matmul(h, tape.watch(w2)) + tape.watch(b2);
    tape.backward(multiclass_hinge(scores, y) + softmax_cross_entropy(scores, y));
    adam.step();
    tape.clear();
  };
  EXPECT_EQ(allocations_after_warmup(g_allocations, g_counting, step, 2, 10), 0);
}

// train_cnn's net (examples/train_cnn.cpp) at batch 8: Unflatten, two blocks of
// conv-batchnorm-relu-maxpool, Flatten, Linear-ReLU-Dropout, Linear; the hinge
// loss and AdamW in two groups. Batch norm's running statistics and dropout's
// masks are rewritten in place.
TEST(SteadyState, CnnStepAllocatesNothing) {
  const Tensor<float> x = random_float({8, 784}, 6);
  const IndexTensor y = labels(8, 10);
  nn::Generator gen(0);
  nn::Sequential<float> net;
  net.push_back(nn::Unflatten<float>(1, {1, 28, 28}));
  for (auto [in, out] : {std::pair<std::size_t, std::size_t>{1, 8}, {8, 16}}) {
    net.push_back(nn::Conv2d<float>(in, out, 3, gen, Conv2dOptions().padding(1)));
    net.push_back(nn::BatchNorm2d<float>(out));
    net.push_back(nn::ReLU<float>());
    net.push_back(nn::MaxPool2d<float>(2));
  }
  net.push_back(nn::Flatten<float>());
  net.push_back(nn::Linear<float>(16 * 7 * 7, 32, gen));
  net.push_back(nn::ReLU<float>());
  net.push_back(nn::Dropout<float>(0.25, gen));
  net.push_back(nn::Linear<float>(32, 10, gen));
  std::vector<Parameter<float>*> decayed, plain;
  for (auto& [name, p] : net.named_parameters())
    (name.find("bias") == std::string::npos ? decayed : plain).push_back(p);
  AdamOptions o;
  o.lr = 1e-3;
  AdamW<float> adam({{decayed}, {plain, GroupOptions().weight_decay(0)}}, o);
  Tape<float> tape;
  auto step = [&] {
    adam.zero_grad();
    tape.backward(multiclass_hinge(net(tape.borrow(x)), y));
    adam.step();
    tape.clear();
  };
  EXPECT_EQ(allocations_after_warmup(g_allocations, g_counting, step, 2, 5), 0);
}

}  // namespace
}  // namespace tapegrad
