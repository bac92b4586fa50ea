// tapegrad's benchmark suite: each case times forward + backward on a tape and
// the tape's clear(), in float, on the workloads tapegrad exists for. The names
// are fixed (bench/compare_torch.py runs the same workloads in PyTorch).
#include <cblas.h>

#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/ops/conv.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace tapegrad {
namespace {

Tensor<float> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, scale);
  Tensor<float> t = Tensor<float>::from_shape({rows, cols});
  for (auto& v : t) v = n(rng);
  return t;
}

IndexTensor random_labels(std::size_t n, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  IndexTensor y = IndexTensor::from_shape({n});
  for (auto& v : y) v = static_cast<std::int64_t>(rng() % classes);
  return y;
}

void hinge(benchmark::State& state, HingeKind kind, bool fused, std::size_t n, std::size_t c) {
  Parameter<float> scores(random_matrix(n, c, 1), "scores");
  const IndexTensor y = random_labels(n, c, 2);
  HingeOptions opt;
  opt.kind = kind;
  Tape<float> tape;
  // one untimed call first: the records' buffers are allocated and touched, so the
  // timing is the warm step (a first call alone took longer than the 0.5 s minimum
  // at 4096x1000, which then reported that one cold iteration as the median)
  tape.backward(fused ? multiclass_hinge(tape.watch(scores), y, opt)
                      : multiclass_hinge_composed(tape.watch(scores), y, opt));
  tape.clear();
  for (auto _ : state) {
    Var<float> s = tape.watch(scores);
    Var<float> loss = fused ? multiclass_hinge(s, y, opt) : multiclass_hinge_composed(s, y, opt);
    tape.backward(loss);
    benchmark::DoNotOptimize(scores.grad.data());
    tape.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// scores = X·W + b (X borrowed unchecked, as train_svm does: no copy, no checksum), fused Weston–Watkins hinge + λ·ΣW², backward, one SGD-momentum step.
void linear_svm_step(benchmark::State& state, std::size_t n, std::size_t d, std::size_t c) {
  const Tensor<float> x = random_matrix(n, d, 3);
  const IndexTensor y = random_labels(n, c, 4);
  Parameter<float> w(random_matrix(d, c, 5, 0.01f), "W");
  Parameter<float> b(Tensor<float>(xt::zeros<float>({c})), "b");
  SGDOptions o;
  o.lr = 1e-3;
  o.momentum = 0.9;
  SGD<float> sgd({&w, &b}, o);
  Tape<float> tape;
  const float reg = 1e-4f;
  for (auto _ : state) {
    sgd.zero_grad();
    Var<float> wv = tape.watch(w);
    Var<float> scores = matmul(tape.borrow_unchecked(x), wv) + tape.watch(b);
    Var<float> loss = multiclass_hinge(scores, y) + sum(square(wv)) * reg;
    tape.backward(loss);
    sgd.step();
    tape.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// 500 × (z ← relu(z · 1.0001)): 1000 ops on a one-element tensor, so the time is
// the tape's per-op overhead.
void tape_chain(benchmark::State& state, int ops) {
  Parameter<float> z0(Tensor<float>{1.0f}, "z0");
  Tape<float> tape;
  for (auto _ : state) {
    Var<float> z = tape.watch(z0);
    for (int i = 0; i < ops / 2; ++i) z = relu(z * 1.0001f);
    tape.backward(z);
    benchmark::DoNotOptimize(z0.grad.data());
    tape.clear();
  }
}

void matmul_forward(benchmark::State& state, std::size_t n) {
  Parameter<float> a(random_matrix(n, n, 6), "A");
  Parameter<float> b(random_matrix(n, n, 7), "B");
  Tape<float> tape;
  NoGrad<float> forward_only(tape);
  for (auto _ : state) {
    Var<float> c = matmul(tape.watch(a), tape.watch(b));
    benchmark::DoNotOptimize(tape.value(c).data());
    tape.clear();
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * n * n * n * state.iterations() * 1e-9,
                                                benchmark::Counter::kIsRate);
}

void sgemm_raw(benchmark::State& state, std::size_t n) {
  const Tensor<float> a = random_matrix(n, n, 6), b = random_matrix(n, n, 7);
  Tensor<float> c = Tensor<float>::from_shape({n, n});
  const int m = static_cast<int>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, a.data(), m, b.data(), m, 0.0f,
                c.data(), m);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * n * n * n * state.iterations() * 1e-9,
                                                benchmark::Counter::kIsRate);
}

// y = conv2d(x, W, b) with padding 1, then backward from a seed of ones: dW, db,
// and dx when x needs it (the second layer's input is an activation, the first's
// the data). bench/compare_torch.py times the same in PyTorch.
void conv2d_step(benchmark::State& state, std::size_t n, std::size_t c, std::size_t hw, std::size_t o,
                 bool input_grad) {
  const std::size_t k = 3;
  Tensor<float> x0 = random_matrix(n * c, hw * hw, 8), w0 = random_matrix(o * c, k * k, 9, 0.1f);
  x0.reshape({n, c, hw, hw});
  w0.reshape({o, c, k, k});
  Parameter<float> x(x0, "x"), w(w0, "W");
  Parameter<float> b(Tensor<float>(xt::zeros<float>({o})), "b");
  const Tensor<float> seed = xt::ones<float>({n, o, hw, hw});
  Tape<float> tape;
  for (auto _ : state) {
    Var<float> xv = input_grad ? tape.watch(x) : tape.borrow(x.value);
    Var<float> y = conv2d(xv, tape.watch(w), tape.watch(b), 1, 1);
    tape.backward(y, seed);
    benchmark::DoNotOptimize(w.grad.data());
    tape.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// Op families at memory bandwidth: forward + backward of one op on 16 MB float
// operands (4096 × 1024), inputs watched Parameters (their gradients accumulate, as
// in training), backward from an explicit seed. Each is timed beside its bare
// loop: the same passes over raw pointers (forward, the seed into the record's
// gradient, each input's gradient), so both report the same bytes (every stream a
// pass reads or writes, counted once) and their bytes/s compare directly.
constexpr std::size_t kRows = 4096, kCols = 1024;

struct Family {
  const char* name;
  std::size_t x_rows, x_cols, y_rows, y_cols;  // y_rows == 0: a unary op
  double streams;                              // 16 MB streams of forward + backward
};

Var<float> family_op(const std::string& name, const Var<float>& x, const Var<float>& y) {
  if (name == "mul") return x * y;
  if (name == "add_scalar") return x + 1.0f;
  if (name == "square") return square(x);
  if (name == "sub_col") return x - y;  // (N, C) − (N, 1): Weston–Watkins's s − s_y
  if (name == "add_row") return x + y;  // (N, C) + (1, C): a bias
  if (name == "mul_col") return x * y;  // (N, C) · (N, 1)
  if (name == "maximum") return maximum(x, y);
  if (name == "sum_rows") return sum(x, 1);
  if (name == "sum_cols") return sum(x, 0);
  return max(x, 1);  // max_rows
}

// The bare loops: each pass of the op written over raw pointers.
void family_bare(const std::string& name, float* x, float* y, float* dx, float* dy, float* out, float* g,
                 const float* seed) {
  const std::size_t n = kRows * kCols;
  if (name == "mul") {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * y[i];
    for (std::size_t i = 0; i < n; ++i) g[i] = seed[i];
    for (std::size_t i = 0; i < n; ++i) dx[i] += g[i] * y[i];
    for (std::size_t i = 0; i < n; ++i) dy[i] += g[i] * x[i];
  } else if (name == "add_scalar" || name == "square") {
    const bool sq = name == "square";
    for (std::size_t i = 0; i < n; ++i) out[i] = sq ? x[i] * x[i] : x[i] + 1.0f;
    for (std::size_t i = 0; i < n; ++i) g[i] = seed[i];
    for (std::size_t i = 0; i < n; ++i) dx[i] += sq ? 2.0f * x[i] * g[i] : g[i];
  } else if (name == "sub_col" || name == "mul_col") {
    const bool m = name == "mul_col";
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t c = 0; c < kCols; ++c)
        out[r * kCols + c] = m ? x[r * kCols + c] * y[r] : x[r * kCols + c] - y[r];
    for (std::size_t i = 0; i < n; ++i) g[i] = seed[i];
    for (std::size_t r = 0; r < kRows; ++r) {
      float acc[16] = {};
      for (std::size_t c = 0; c < kCols; c += 16)
        for (std::size_t j = 0; j < 16; ++j) {
          const std::size_t k = r * kCols + c + j;
          dx[k] += m ? g[k] * y[r] : g[k];
          acc[j] += m ? g[k] * x[k] : g[k];
        }
      float s = 0;
      for (float a : acc) s += a;
      dy[r] += m ? s : -s;
    }
  } else if (name == "add_row") {
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t c = 0; c < kCols; ++c) out[r * kCols + c] = x[r * kCols + c] + y[c];
    for (std::size_t i = 0; i < n; ++i) g[i] = seed[i];
    for (std::size_t i = 0; i < n; ++i) dx[i] += g[i];
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t c = 0; c < kCols; ++c) dy[c] += g[r * kCols + c];
  } else if (name == "maximum") {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] > y[i] ? x[i] : y[i];
    for (std::size_t i = 0; i < n; ++i) g[i] = seed[i];
    for (std::size_t i = 0; i < n; ++i) {
      const float h = x[i] == y[i] ? 0.5f * g[i] : g[i];
      dx[i] += x[i] < y[i] ? 0.0f : h;
      dy[i] += x[i] > y[i] ? 0.0f : h;
    }
  } else if (name == "sum_rows" || name == "max_rows") {
    const bool mx = name == "max_rows";
    for (std::size_t r = 0; r < kRows; ++r) {
      float acc[16];
      for (std::size_t j = 0; j < 16; ++j) acc[j] = x[r * kCols + j];
      for (std::size_t c = 16; c < kCols; c += 16)
        for (std::size_t j = 0; j < 16; ++j)
          acc[j] = mx ? (x[r * kCols + c + j] > acc[j] ? x[r * kCols + c + j] : acc[j])
                      : acc[j] + x[r * kCols + c + j];
      float s = acc[0];
      for (std::size_t j = 1; j < 16; ++j) s = mx ? (acc[j] > s ? acc[j] : s) : s + acc[j];
      out[r] = s;
    }
    for (std::size_t r = 0; r < kRows; ++r) g[r] = seed[r];
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t c = 0; c < kCols; ++c)
        dx[r * kCols + c] += mx ? (x[r * kCols + c] == out[r] ? g[r] : 0.0f) : g[r];
  } else {  // sum_cols
    for (std::size_t c = 0; c < kCols; ++c) out[c] = 0;
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t c = 0; c < kCols; ++c) out[c] += x[r * kCols + c];
    for (std::size_t c = 0; c < kCols; ++c) g[c] = seed[c];
    for (std::size_t r = 0; r < kRows; ++r)
      for (std::size_t c = 0; c < kCols; ++c) dx[r * kCols + c] += g[c];
  }
}

void op_family(benchmark::State& state, Family f, bool bare) {
  const std::string name = f.name;
  Parameter<float> x(random_matrix(f.x_rows, f.x_cols, 10), "x");
  Parameter<float> y(random_matrix(f.y_rows ? f.y_rows : 1, f.y_rows ? f.y_cols : 1, 11), "y");
  x.zero_grad();
  y.zero_grad();
  Tape<float> tape;
  Tensor<float> out, g, seed;
  {
    Var<float> v = family_op(name, tape.watch(x), tape.watch(y));
    seed = xt::ones<float>(tape.value(v).shape());
    out = g = seed;
    tape.backward(v, seed);  // the tape's buffers allocated and touched, as bare's are
    tape.clear();
  }
  for (auto _ : state) {
    if (bare) {
      family_bare(name, x.value.data(), y.value.data(), x.grad.data(), y.grad.data(), out.data(), g.data(),
                  seed.data());
      benchmark::DoNotOptimize(x.grad.data());
      benchmark::ClobberMemory();
      continue;
    }
    Var<float> v = family_op(name, tape.watch(x), tape.watch(y));
    tape.backward(v, seed);
    benchmark::DoNotOptimize(x.grad.data());
    tape.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.streams * kRows * kCols * 4));
}

// A first call: forward + backward on a tape that has never run (every buffer
// allocated and first touched), against the warm hinge_composed case.
void hinge_first_call(benchmark::State& state, HingeKind kind, std::size_t n, std::size_t c) {
  Parameter<float> scores(random_matrix(n, c, 1), "scores");
  const IndexTensor y = random_labels(n, c, 2);
  HingeOptions opt;
  opt.kind = kind;
  for (auto _ : state) {
    Tape<float> tape;
    Var<float> loss = multiclass_hinge_composed(tape.watch(scores), y, opt);
    tape.backward(loss);
    benchmark::DoNotOptimize(scores.grad.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void register_all() {
  const std::pair<HingeKind, const char*> kinds[] = {{HingeKind::weston_watkins, "weston-watkins"},
                                                    {HingeKind::crammer_singer, "crammer-singer"}};
  const std::pair<std::size_t, std::size_t> sizes[] = {{256, 10}, {4096, 10}, {4096, 1000}};
  for (bool fused : {true, false})
    for (auto [kind, kind_name] : kinds)
      for (auto [n, c] : sizes) {
        const std::string name = std::string(fused ? "hinge_fused/" : "hinge_composed/") + kind_name + "/" +
                                 std::to_string(n) + "/" + std::to_string(c);
        benchmark::RegisterBenchmark(name.c_str(), hinge, kind, fused, n, c)->Unit(benchmark::kMicrosecond);
      }
  benchmark::RegisterBenchmark("linear_svm_step/256/784/10", linear_svm_step, 256, 784, 10)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("linear_svm_step/4096/3072/10", linear_svm_step, 4096, 3072, 10)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("tape_chain/1000", tape_chain, 1000)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("conv2d/128x1x28x28/32x3x3", conv2d_step, 128, 1, 28, 32, false)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("conv2d/128x32x14x14/64x3x3", conv2d_step, 128, 32, 14, 64, true)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("matmul/2048", matmul_forward, 2048)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("sgemm_raw/2048", sgemm_raw, 2048)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("hinge_composed_first/weston-watkins/4096/1000", hinge_first_call,
                               HingeKind::weston_watkins, 4096, 1000)
      ->Unit(benchmark::kMillisecond);
  // streams: forward + seed + backward, each input's gradient read and written (it accumulates)
  const Family families[] = {
      {"mul", kRows, kCols, kRows, kCols, 3 + 2 + 4 + 4},    {"add_scalar", kRows, kCols, 0, 0, 2 + 2 + 3},
      {"square", kRows, kCols, 0, 0, 2 + 2 + 4},             {"sub_col", kRows, kCols, kRows, 1, 2 + 2 + 3},
      {"mul_col", kRows, kCols, kRows, 1, 2 + 2 + 4},        {"add_row", kRows, kCols, 1, kCols, 2 + 2 + 4},
      {"maximum", kRows, kCols, kRows, kCols, 3 + 2 + 7},    {"sum_rows", kRows, kCols, 0, 0, 1 + 2},
      {"sum_cols", kRows, kCols, 0, 0, 1 + 2},               {"max_rows", kRows, kCols, 0, 0, 1 + 3}};
  for (const Family& f : families)
    for (bool bare : {false, true}) {
      const std::string name = std::string(bare ? "bare/" : "op/") + f.name + "/4096x1024";
      benchmark::RegisterBenchmark(name.c_str(), op_family, f, bare)->Unit(benchmark::kMillisecond);
    }
}

}  // namespace
}  // namespace tapegrad

int main(int argc, char** argv) {
  tapegrad::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
