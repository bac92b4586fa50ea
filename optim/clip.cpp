#include <tapegrad/optim/clip.hpp>

#include <cmath>

namespace tapegrad {

template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& parameters, double max_norm, double norm_type) {
  if (std::isnan(max_norm) || max_norm < 0)
    fail("clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  if (std::isnan(norm_type) || norm_type <= 0)
    fail("clip_grad_norm: norm_type must be > 0 (or inf), got ", norm_type);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i]) fail("clip_grad_norm: parameter ", i, " is a null pointer");
    for (std::size_t j = 0; j < i; ++j)
      if (parameters[j] == parameters[i])
        fail("clip_grad_norm: parameter ", i, " ('", parameters[i]->name, "') is the same as parameter ", j,
             " (its gradient would count and be scaled twice)");
  }
  const bool inf_norm = std::isinf(norm_type);
  double acc = 0;  // Σ|g|^p, or max |g|
  for (const Parameter<T>* p : parameters) {
    const T* g = p->grad.data();
    const std::size_t n = p->grad.size();
    if (inf_norm) {
      for (std::size_t i = 0; i < n; ++i) {
        const double a = std::fabs(static_cast<double>(g[i]));
        if (a > acc || std::isnan(a)) acc = a;  // NaN sticks, as torch's max
        if (std::isnan(acc)) break;
      }
    } else if (norm_type == 2) {
      for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    } else if (norm_type == 1) {
      for (std::size_t i = 0; i < n; ++i) acc += std::fabs(static_cast<double>(g[i]));
    } else {
      for (std::size_t i = 0; i < n; ++i) acc += std::pow(std::fabs(static_cast<double>(g[i])), norm_type);
    }
    if (inf_norm && std::isnan(acc)) break;
  }
  const double total = inf_norm ? acc : norm_type == 2 ? std::sqrt(acc) : norm_type == 1 ? acc : std::pow(acc, 1 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  // torch.clamp(coef, max=1) keeps a NaN, and multiplying by exactly 1 changes nothing.
  if (!(coef >= 1)) {
    const T c = static_cast<T>(coef);
    for (Parameter<T>* p : parameters) {
      T* g = p->grad.data();
      for (std::size_t i = 0, n = p->grad.size(); i < n; ++i) g[i] *= c;
    }
  }
  return total;
}

template double clip_grad_norm<float>(const std::vector<Parameter<float>*>&, double, double);
template double clip_grad_norm<double>(const std::vector<Parameter<double>*>&, double, double);

}  // namespace tapegrad
