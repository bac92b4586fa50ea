#include <tapegrad/core/op_registry.hpp>

#include <algorithm>
#include <numeric>

namespace tapegrad {

std::string OpEntry::function_name() const { return name.substr(0, name.find_first_of(".[")); }

const OpEntry* find_op(const std::vector<OpEntry>& registry, const std::string& name) {
  for (const OpEntry& e : registry)
    if (e.name == name) return &e;
  return nullptr;
}

OpRandom::OpRandom(std::uint64_t seed) : rng_(seed) {}

double OpRandom::uniform(double lo, double hi) {
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1), the top 53 bits
  return lo + (hi - lo) * u;
}

std::size_t OpRandom::below(std::size_t n) {
  return n == 0 ? 0 : static_cast<std::size_t>(uniform(0, static_cast<double>(n))) % n;
}

Tensor<double> OpRandom::uniform(const Shape& shape, double lo, double hi) {
  Tensor<double> t(shape);
  for (double& x : t) x = uniform(lo, hi);
  return t;
}

Tensor<double> OpRandom::away_from_zero(const Shape& shape, double lo, double hi) {
  Tensor<double> t(shape);
  for (double& x : t) {
    const double m = uniform(lo, hi);
    x = (rng_() & 1) ? m : -m;
  }
  return t;
}

Tensor<double> OpRandom::distinct(const Shape& shape, double gap) {
  Tensor<double> t(shape);
  std::vector<std::size_t> order(t.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[below(i)]);  // Fisher–Yates
  const double start = -gap * static_cast<double>(t.size()) / 2;
  for (std::size_t k = 0; k < t.size(); ++k)
    t.data()[k] = start + gap * static_cast<double>(order[k]) + uniform(0, gap / 4);
  return t;
}

Tensor<double> OpRandom::integers(const Shape& shape, int lo, int hi) {
  Tensor<double> t(shape);
  for (double& x : t) x = lo + static_cast<double>(below(static_cast<std::size_t>(hi - lo + 1)));
  return t;
}

IndexTensor OpRandom::labels(std::size_t n, std::size_t classes) {
  IndexTensor y = xt::zeros<std::int64_t>({n});
  for (std::size_t i = 0; i < n; ++i) y(i) = static_cast<std::int64_t>(below(classes));
  return y;
}

}  // namespace tapegrad
