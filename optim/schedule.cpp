#include <tapegrad/optim/schedule.hpp>

#include <cmath>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

namespace {
void check_rate(const char* who, const char* what, double v) {
  if (!std::isfinite(v) || v < 0) fail(who, ": invalid ", what, " ", v, " (must be finite and >= 0)");
}
void check_t(const char* who, std::int64_t t) {
  if (t < 0) fail(who, ": epoch/step ", t, " is negative");
}
}  // namespace

LrSchedule::LrSchedule(const char* who, double base_lr) : base_lr_(base_lr) { check_rate(who, "base_lr", base_lr); }

StepLR::StepLR(double base_lr, std::int64_t step_size, double gamma)
    : LrSchedule("StepLR", base_lr), step_size_(step_size), gamma_(gamma) {
  check_rate("StepLR", "gamma", gamma);
  if (step_size <= 0) fail("StepLR: step_size ", step_size, " must be > 0");
}

double StepLR::lr_for(double initial_lr, std::int64_t t) const {
  check_t("StepLR", t);
  return initial_lr * std::pow(gamma_, static_cast<double>(t / step_size_));
}

CosineLR::CosineLR(double base_lr, std::int64_t t_max, double eta_min)
    : LrSchedule("CosineLR", base_lr), t_max_(t_max), eta_min_(eta_min) {
  check_rate("CosineLR", "eta_min", eta_min);
  if (t_max <= 0) fail("CosineLR: t_max ", t_max, " must be > 0");
}

double CosineLR::lr_for(double initial_lr, std::int64_t t) const {
  check_t("CosineLR", t);
  const double pi = std::acos(-1.0);
  return eta_min_ + (initial_lr - eta_min_) * (1 + std::cos(pi * static_cast<double>(t) / t_max_)) / 2;
}

}  // namespace tapegrad
