#include <tapegrad/ops/dropout.hpp>

#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/replay.hpp>

namespace tapegrad {

namespace {

// What dropout's backward needs: the mask m (0 or 1/(1 − p) per element).
template <class T>
struct DropoutSaved {
  Slot<Tensor<T>> mask;
};

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

// SplitMix64's output function (Steele, Lea, Flood 2014).
inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline double uniform_at(std::uint64_t seed, std::size_t k) {
  return static_cast<double>(mix(seed + (static_cast<std::uint64_t>(k) + 1) * kGolden) >> 11) * 0x1.0p-53;
}

}  // namespace

double dropout_uniform(std::uint64_t seed, std::size_t k) { return uniform_at(seed, k); }

template <class T>
Var<T> dropout(const Var<T>& x, double p, std::uint64_t seed) {
  Tape<T>& t = x.tape("dropout");
  t.check(x, "dropout");
  if (!(p >= 0 && p < 1)) fail("dropout: p must be in [0, 1), got ", p);
  if (p == 0) return x;
  const Tensor<T>& X = t.value_of(x.id());
  // y = x·m with m = keep / (1 − p): dx = g·m
  Record<T>& r = t.push("dropout", {x}, [](Tape<T>& t, Record<T>& r) {
    const Tensor<T>& m = r.buffer(r.template saved<DropoutSaved<T>>().mask);
    t.accumulate(r.inputs[0], r.grad * m);
  }, [](const Record<T>& r, Tape<double>& t, const Var<double>* x) {
    // x times the mask this record drew, a constant
    return mul(x[0], t.constant(detail::replay_tensor(r.buffer(r.template saved<DropoutSaved<T>>().mask))));
  });
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  r.value.resize(X.shape());
  const T* in = X.data();
  T* out = r.value.data();
  const std::size_t n = X.size();
  if (r.requires_grad) {
    const DropoutSaved<T> s{r.template claim<Tensor<T>>()};
    Tensor<T>& m = r.buffer(s.mask);
    m.resize(X.shape());  // keeps the allocation when a reused record has this size
    T* mk = m.data();
    for (std::size_t k = 0; k < n; ++k) {
      mk[k] = uniform_at(seed, k) >= p ? scale : T(0);
      out[k] = in[k] * mk[k];
    }
    r.save(s);
  } else {
    for (std::size_t k = 0; k < n; ++k) out[k] = in[k] * (uniform_at(seed, k) >= p ? scale : T(0));
  }
  return t.commit(r);
}

template Var<float> dropout(const Var<float>&, double, std::uint64_t);
template Var<double> dropout(const Var<double>&, double, std::uint64_t);

}  // namespace tapegrad
