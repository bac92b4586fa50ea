#pragma once
// Learning-rate schedules as pure functions of the epoch (or step) count, so
// they compose with any optimizer and resume from a checkpoint without replay:
//   for (epoch …) { opt.set_lr(schedule.lr_at(epoch)); … }
// Values match PyTorch's StepLR and CosineAnnealingLR (closed forms).
#include <cstdint>

namespace tapegrad {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  // The learning rate for epoch (or step) t >= 0; t = 0 gives the base rate.
  virtual double lr_at(std::int64_t t) const = 0;
};

// lr(t) = base_lr · γ^⌊t / step_size⌋
class StepLR : public LrSchedule {
 public:
  StepLR(double base_lr, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t t) const override;

 private:
  double base_lr_;
  std::int64_t step_size_;
  double gamma_;
};

// lr(t) = η_min + (base_lr − η_min)·(1 + cos(π·t / t_max)) / 2
// PyTorch's closed form: past t_max the cosine rises again (it does not clamp).
class CosineLR : public LrSchedule {
 public:
  CosineLR(double base_lr, std::int64_t t_max, double eta_min = 0);
  double lr_at(std::int64_t t) const override;

 private:
  double base_lr_;
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace tapegrad
