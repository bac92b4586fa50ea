// The C++ peer: tapegrad's comparison workloads written with libtorch, the
// PyTorch C++ frontend (Debian libtorch-dev), as a Google Benchmark program.
//
//   libtorch_tape_chain/1000   z ← relu(z·1.0001) 500 times on one element, then backward
//                              (tapegrad_bench's tape_chain/1000)
//   libtorch_mlp_epoch         784-256-10 ReLU MLP, Adam 1e-3, batch 256, the multiclass
//                              hinge (multi_margin_loss·C), one pass over 60,000 images
//   libtorch_cnn_epoch         train_cnn's network: conv3×3(32)-BN-ReLU-maxpool2,
//                              conv3×3(64)-BN-ReLU-maxpool2, Linear(3136,128)-ReLU-
//                              Dropout(0.25), Linear(10); AdamW 2e-3 (decay 0.05),
//                              batch 128, one pass over 60,000 images
//
// The epochs read Fashion-MNIST with tapegrad's IDX reader, mean-centre it as the
// training tools do and shuffle every epoch. libtorch runs on 2 threads; idle
// OpenMP threads must not spin (OMP_WAIT_POLICY=PASSIVE, read by libgomp when it
// loads), so main() re-executes itself with that setting when it is missing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <tapegrad/io/idx.hpp>

namespace {

constexpr int kThreads = 2;

struct Images {
  torch::Tensor x, y;  // (60000, 784) float, mean-centred; (60000) int64
};

const Images& fashion_mnist() {
  static const Images data = [] {
    tapegrad::Dataset d = tapegrad::load_fashion_mnist();
    const auto n = static_cast<std::int64_t>(d.train_labels.size());
    Images out;
    out.x = torch::from_blob(d.train_images.data(), {n, 784}, torch::kFloat32).clone();
    out.x -= out.x.mean(0);
    std::vector<std::int64_t> labels(d.train_labels.begin(), d.train_labels.end());
    out.y = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
    return out;
  }();
  return data;
}

// One epoch: a fresh permutation, then each batch's forward, hinge loss, backward, step.
template <class Net>
void run_epoch(Net& net, torch::optim::Optimizer& opt, std::int64_t batch, bool images) {
  const Images& d = fashion_mnist();
  const std::int64_t n = d.y.size(0);
  const torch::Tensor perm = torch::randperm(n);
  for (std::int64_t i = 0; i < n; i += batch) {
    const torch::Tensor idx = perm.slice(0, i, std::min(i + batch, n));
    torch::Tensor x = d.x.index_select(0, idx);
    if (images) x = x.view({-1, 1, 28, 28});
    opt.zero_grad();
    const torch::Tensor loss = torch::nn::functional::multi_margin_loss(net->forward(x), d.y.index_select(0, idx)) * 10;
    loss.backward();
    opt.step();
  }
}

void libtorch_tape_chain(benchmark::State& state) {
  const auto ops = state.range(0);
  const torch::Tensor z0 = torch::ones({1}, torch::requires_grad());
  for (auto _ : state) {
    torch::Tensor z = z0;
    for (std::int64_t k = 0; k < ops / 2; ++k) z = torch::relu(z * 1.0001);
    z.backward();
  }
}

void libtorch_mlp_epoch(benchmark::State& state) {
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 10));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  fashion_mnist();  // loaded outside the timed epochs
  for (auto _ : state) run_epoch(net, opt, 256, false);
}

void libtorch_cnn_epoch(benchmark::State& state) {
  namespace nn = torch::nn;
  torch::manual_seed(0);
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::BatchNorm2d(32), nn::ReLU(),
                     nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)),
                     nn::BatchNorm2d(64), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(),
                     nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.25), nn::Linear(128, 10));
  net->train();
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(2e-3).weight_decay(0.05));
  fashion_mnist();
  for (auto _ : state) run_epoch(net, opt, 128, true);
}

BENCHMARK(libtorch_tape_chain)->Arg(1000);
BENCHMARK(libtorch_mlp_epoch)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(libtorch_cnn_epoch)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {  // too late to set for this process
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
    std::perror("torch_peers: re-executing with OMP_WAIT_POLICY=PASSIVE");
    return 1;
  }
  torch::set_num_threads(kThreads);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("libtorch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("OMP_WAIT_POLICY", std::getenv("OMP_WAIT_POLICY"));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
