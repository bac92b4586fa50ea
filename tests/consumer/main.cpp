// A program outside tapegrad's tree, built against tapegrad the three ways users
// build one (tests/consumer/CMakeLists.txt). It is compiled for baseline x86-64
// (no -march), so it also checks that a portable program links and runs against a
// library tuned with -march=native: its tensors, allocated here, are read and
// written by the library's vector kernels.
//   consumer [DIR]   writes consumer.npz and consumer.png into DIR (default .)
#include <tapegrad/tapegrad.hpp>
#include <tapegrad/core/tape.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

using namespace tapegrad;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

// A small deterministic generator, values in [-1, 1).
struct Lcg {
  std::uint64_t s;
  float next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(s >> 40) / static_cast<float>(1ull << 23) - 1.0f;
  }
};

bool file_starts_with(const std::string& path, const std::string& magic) {
  std::ifstream in(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  return in.read(&head[0], static_cast<std::streamsize>(head.size())) && head == magic;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";

  // The headers' version and the linked library's.
  check(std::string(TAPEGRAD_VERSION_STRING) == tapegrad::version(),
        std::string("headers ") + TAPEGRAD_VERSION_STRING + " = library " + tapegrad::version());
  check(TAPEGRAD_VERSION >= 200, "version is at least 0.2.0");

  // The ABI pin: this file's xtensor allocator is the library's.
  Tensor<float> probe = xt::zeros<float>({3, 5});
  check(reinterpret_cast<std::uintptr_t>(probe.data()) % TAPEGRAD_XTENSOR_ALIGNMENT == 0,
        "tensors allocated here are 64-byte aligned");

  // Separable data: y = argmax of x·V for a random V.
  const std::size_t n = 256, d = 24, c = 10;
  Lcg rng{42};
  Tensor<float> x = xt::zeros<float>({n, d});
  Tensor<float> v = xt::zeros<float>({d, c});
  for (float& e : x) e = rng.next();
  for (float& e : v) e = rng.next();
  IndexTensor y = xt::zeros<std::int64_t>({n});
  for (std::size_t i = 0; i < n; ++i) {
    float best = -1e30f;
    for (std::size_t j = 0; j < c; ++j) {
      float s = 0;
      for (std::size_t k = 0; k < d; ++k) s += x(i, k) * v(k, j);
      if (s > best) best = s, y(i) = static_cast<std::int64_t>(j);
    }
  }

  // A linear SVM: scores = X·W + b, the Weston–Watkins hinge, SGD with momentum.
  Parameter<float> w(Tensor<float>(xt::zeros<float>({d, c})), "W");
  Parameter<float> b(Tensor<float>(xt::zeros<float>({c})), "b");
  SGD<float> sgd({&w, &b}, SGDOptions{0.05, 0.9});
  Tape<float> tape;
  float first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    sgd.zero_grad();
    Var<float> scores = matmul(tape.constant(x), tape.watch(w)) + tape.watch(b);
    Var<float> loss = multiclass_hinge(scores, y);
    tape.backward(loss);
    last = tape.value(loss)();
    if (step == 0) first = last;
    sgd.step();
    tape.clear();
  }
  char line[96];
  std::snprintf(line, sizeof line, "100 SGD steps: hinge loss %.4f -> %.4f", first, last);
  check(last < 0.25f * first, line);

  // The fused hinge's backward against central differences, in double.
  const Tensor<double> xd = xt::cast<double>(xt::view(x, xt::range(0, 16), xt::all()));
  const IndexTensor yd = xt::view(y, xt::range(0, 16));
  const TapeFunction f = [&](Tape<double>& t, const std::vector<Var<double>>& in) {
    return multiclass_hinge(matmul(t.constant(xd), in[0]) + in[1], yd);
  };
  const GradcheckReport report =
      gradcheck(f, {xt::cast<double>(w.value), xt::cast<double>(b.value)});
  check(report.passed, "gradcheck: " + report.summary());

  // Files: a checkpoint (ZIP with CRC-32s, zlib) and a picture (cairo).
  const std::string npz = dir + "/consumer.npz", png = dir + "/consumer.png";
  save_checkpoint<float>(npz, {&w, &b}, &sgd, CheckpointMeta{"consumer", 1, 42});
  Parameter<float> w2(Tensor<float>(xt::zeros<float>({d, c})), "W");
  Parameter<float> b2(Tensor<float>(xt::zeros<float>({c})), "b");
  const CheckpointMeta meta = load_checkpoint<float>(npz, {&w2, &b2}, nullptr, "consumer");
  check(meta.epoch == 1 && w2.value == w.value && b2.value == b.value, "checkpoint round trip");
  write_png(png, Image::filled(4, 3, Rgb{200, 30, 30}));
  check(file_starts_with(png, "\x89PNG\r\n\x1a\n"), "write_png wrote a PNG");

  // Misuse is a tapegrad::Error naming the op.
  std::string message;
  try {
    matmul(tape.constant(Tensor<float>(xt::zeros<float>({2, 3}))),
           tape.constant(Tensor<float>(xt::zeros<float>({2, 3}))));
  } catch (const Error& e) {
    message = e.what();
  }
  check(message.rfind("matmul: ", 0) == 0, "error: " + message);

  std::printf(failures == 0 ? "consumer: all checks passed\n" : "consumer: %d checks failed\n", failures);
  return failures == 0 ? 0 : 1;
}
