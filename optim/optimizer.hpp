#pragma once
// The optimizer base: the parameters an optimizer updates, its learning rate,
// its step count and its per-parameter state buffers. Buffers are allocated
// once, at construction, so step() never allocates; state() / load_state()
// expose them by name for checkpoints (PyTorch's state_dict, in miniature).
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

template <class T>
struct NamedTensor {
  std::string name;  // "<buffer>.<parameter index>", e.g. "exp_avg.0"
  Tensor<T> value;
};

template <class T>
struct OptimizerState {
  std::int64_t steps = 0;  // completed step() calls (Adam's t, SGD's "t > 1")
  double lr = 0;
  std::vector<NamedTensor<T>> tensors;
};

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;  // registered buffers point into *this
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its current grad.
  virtual void step() = 0;
  // Sets every parameter's grad to zero (keeping its buffer).
  void zero_grad();

  const char* name() const { return name_; }
  double lr() const { return lr_; }
  // Throws (naming the optimizer) unless lr is finite and >= 0. Schedules use
  // this: opt.set_lr(schedule.lr_at(epoch)).
  void set_lr(double lr);
  std::int64_t steps() const { return steps_; }
  const std::vector<Parameter<T>*>& params() const { return params_; }

  // A copy of the step count, lr and every state buffer, by name.
  OptimizerState<T> state() const;
  // Restores what state() returned: every registered buffer must be present
  // with its parameter's shape and no unknown name may appear. Validates all
  // before changing anything; copies into the existing buffers.
  void load_state(const OptimizerState<T>& s);

 protected:
  Optimizer(const char* name, std::vector<Parameter<T>*> params, double lr);
  // Registers a state buffer set (one tensor per parameter, zeros of its shape).
  void register_buffers(const char* buffer_name, std::vector<Tensor<T>>& buffers);
  // Throws unless every parameter's grad has its value's shape.
  void check_grads() const;
  void check_nonnegative(const char* what, double v) const;
  const Tensor<T>& buffer_at(const std::vector<Tensor<T>>& buffers, std::size_t i) const;

  std::vector<Parameter<T>*> params_;
  std::int64_t steps_ = 0;
  double lr_ = 0;

 private:
  struct BufferSet {
    const char* name;
    std::vector<Tensor<T>>* tensors;
  };
  const char* name_;
  std::vector<BufferSet> buffers_;
};

extern template struct NamedTensor<float>;
extern template struct NamedTensor<double>;
extern template struct OptimizerState<float>;
extern template struct OptimizerState<double>;
extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad
