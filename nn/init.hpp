#pragma once
// Seeded initialisation (torch.nn.init in miniature), driven by an explicit
// nn::Generator: no global random state anywhere. The same seed gives
// bit-identical weights, because nothing here uses std::uniform_real_distribution
// or std::normal_distribution (whose outputs differ between standard libraries):
//   - the engine is std::mt19937_64, whose output sequence the C++ standard fixes;
//   - uniform() is the top 53 bits of one engine output times 2⁻⁵³, in [0, 1);
//   - normal() is Marsaglia's polar method on those uniforms (sqrt and log only;
//     the log is glibc's, the one libm call the values depend on).
// Every initialiser fills its tensor in row-major order, one draw (uniform) or
// one polar-method value (normal) per element, computing in double and rounding
// once to T.
//
// Fans (PyTorch's _calculate_fan_in_and_fan_out, for this library's layouts):
// a 2-D weight is (in, out), as nn::Linear stores it (x·W, see nn/linear.hpp),
// so fan_in = shape[0] and fan_out = shape[1]. A weight of rank r > 2 follows
// PyTorch's convolution layout (out, in, k1, ...): fan_in = shape[1]·Πk,
// fan_out = shape[0]·Πk. Rank < 2 has no fans (an Error, as in PyTorch).
#include <cstdint>
#include <random>

#include <tapegrad/core/tape.hpp>

namespace tapegrad::nn {

// A seeded source of random numbers that a model (or a layer: Dropout) owns.
// Copyable: a copy continues the same sequence independently.
class Generator {
 public:
  explicit Generator(std::uint64_t seed);
  std::uint64_t seed() const { return seed_; }

  // The engine's next raw 64-bit output.
  std::uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1): (next_u64() >> 11) · 2⁻⁵³.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Standard normal, N(0, 1), by Marsaglia's polar method: draws (u, v) uniform in
  // (−1, 1)² until 0 < s = u² + v² < 1, returns u·√(−2 ln s / s) and keeps
  // v·√(−2 ln s / s) for the next call.
  double normal();

 private:
  std::mt19937_64 engine_;
  std::uint64_t seed_;
  double spare_ = 0;
  bool has_spare_ = false;
};

namespace init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu, selu };

// PyTorch's calculate_gain: linear and sigmoid 1, tanh 5/3, relu √2,
// leaky_relu √(2 / (1 + param²)) with param its negative slope, selu 3/4.
// param is read for leaky_relu only; a non-finite param is an Error.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

struct Fans {
  std::size_t in = 0, out = 0;
};
// The fans of a weight of this shape (layouts above); `who` starts the Error
// for a rank below 2.
Fans fans_of(const Shape& shape, const char* who = "fans_of");

// U(lo, hi): every element in [lo, hi) (after rounding to T too); lo = hi fills
// with lo. lo > hi or a non-finite bound is an Error.
template <class T> void uniform(Tensor<T>& w, Generator& gen, double lo = 0, double hi = 1);
// N(mean, std²); std < 0 or a non-finite argument is an Error.
template <class T> void normal(Tensor<T>& w, Generator& gen, double mean = 0, double std = 1);
template <class T> void constant(Tensor<T>& w, double value);
template <class T> void zeros(Tensor<T>& w);

// Glorot: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)), or
// N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).
template <class T> void xavier_uniform(Tensor<T>& w, Generator& gen, double gain = 1);
template <class T> void xavier_normal(Tensor<T>& w, Generator& gen, double gain = 1);

// He: σ = gain / √fan with gain = calculate_gain(nonlinearity, a) and fan the
// mode's; uniform U(−√3·σ, √3·σ), normal N(0, σ²). The defaults are PyTorch's
// (a = 0, fan_in, leaky_relu: gain √2). A zero-element tensor is left alone
// (PyTorch warns and does the same); so is any tensor whose fan is 0.
template <class T>
void kaiming_uniform(Tensor<T>& w, Generator& gen, double a = 0, FanMode mode = FanMode::fan_in,
                     Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
template <class T>
void kaiming_normal(Tensor<T>& w, Generator& gen, double a = 0, FanMode mode = FanMode::fan_in,
                    Nonlinearity nonlinearity = Nonlinearity::leaky_relu);

// The same on a Parameter's value, which they then mark modified (a tape that
// recorded p before can no longer run backward through it: Parameter::version).
// Re-initialising a trained model's parameter goes through these.
template <class T> void uniform(Parameter<T>& p, Generator& gen, double lo = 0, double hi = 1);
template <class T> void normal(Parameter<T>& p, Generator& gen, double mean = 0, double std = 1);
template <class T> void constant(Parameter<T>& p, double value);
template <class T> void zeros(Parameter<T>& p);
template <class T> void xavier_uniform(Parameter<T>& p, Generator& gen, double gain = 1);
template <class T> void xavier_normal(Parameter<T>& p, Generator& gen, double gain = 1);
template <class T>
void kaiming_uniform(Parameter<T>& p, Generator& gen, double a = 0, FanMode mode = FanMode::fan_in,
                     Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
template <class T>
void kaiming_normal(Parameter<T>& p, Generator& gen, double a = 0, FanMode mode = FanMode::fan_in,
                    Nonlinearity nonlinearity = Nonlinearity::leaky_relu);

}  // namespace init
}  // namespace tapegrad::nn
