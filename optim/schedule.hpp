#pragma once
// Learning-rate schedules as pure functions of the epoch (or step) count, so
// they compose with any optimizer and resume from a checkpoint without replay.
// Values match PyTorch's StepLR and CosineAnnealingLR (their closed forms), and
// like PyTorch's schedulers they set every parameter group from the group's
// own initial learning rate:
//   for (epoch …) { opt.apply_schedule(schedule, epoch); … }   // any number of groups
//   for (epoch …) { opt.set_lr(schedule.lr_at(epoch)); … }      // one group, from base_lr
#include <cstdint>

namespace tapegrad {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  // The learning rate at epoch (or step) t >= 0 of a group whose initial rate
  // is initial_lr; t = 0 gives initial_lr. Optimizer::apply_schedule calls it
  // for each group.
  virtual double lr_for(double initial_lr, std::int64_t t) const = 0;
  // lr_for(base_lr(), t): the rate of the base_lr given at construction.
  double lr_at(std::int64_t t) const { return lr_for(base_lr_, t); }
  double base_lr() const { return base_lr_; }

 protected:
  // Throws (naming `who`) unless base_lr is finite and >= 0.
  LrSchedule(const char* who, double base_lr);

 private:
  double base_lr_;
};

// lr(t) = initial_lr · γ^⌊t / step_size⌋
class StepLR : public LrSchedule {
 public:
  StepLR(double base_lr, std::int64_t step_size, double gamma = 0.1);
  double lr_for(double initial_lr, std::int64_t t) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// lr(t) = η_min + (initial_lr − η_min)·(1 + cos(π·t / t_max)) / 2
// PyTorch's closed form, with the same η_min for every group; past t_max the
// cosine rises again (it does not clamp).
class CosineLR : public LrSchedule {
 public:
  CosineLR(double base_lr, std::int64_t t_max, double eta_min = 0);
  double lr_for(double initial_lr, std::int64_t t) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace tapegrad
