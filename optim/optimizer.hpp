#pragma once
// The optimizer base: the parameters an optimizer updates, in parameter groups
// (torch.optim's param_groups), each group's learning rate, the step count and
// the per-parameter state buffers. Buffers are allocated once, at construction,
// so step() never allocates; state() / load_state() expose them by name for
// checkpoints (PyTorch's state_dict, in miniature).
//
// A group is a list of parameters with hyperparameters of its own; whatever a
// group does not set comes from the optimizer's options. Biases without decay:
//   AdamW<float> opt({{&w1, &w2}, {{&b1, &b2}, GroupOptions().weight_decay(0)}}, options);
// A single parameter list is one group: SGD<float> opt({&w, &b}, options);
// {{&w}, {&b}} is two groups of one.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad {

class LrSchedule;

// The hyperparameters one parameter group sets for itself, by chained setters
// (C++17 has no designated initializers): GroupOptions().lr(0.1).weight_decay(0).
// Unset ones (std::nullopt) take the optimizer's options. Each optimizer refuses
// a group that sets what it does not have (SGD has no betas, Adam no momentum).
class GroupOptions {
 public:
  GroupOptions& lr(double v) { return set(lr_, v); }
  GroupOptions& weight_decay(double v) { return set(weight_decay_, v); }
  GroupOptions& momentum(double v) { return set(momentum_, v); }     // SGD
  GroupOptions& dampening(double v) { return set(dampening_, v); }   // SGD
  GroupOptions& nesterov(bool v) {                                   // SGD
    nesterov_ = v;
    return *this;
  }
  GroupOptions& betas(double beta1, double beta2) {                  // Adam, AdamW
    beta1_ = beta1;
    return set(beta2_, beta2);
  }
  GroupOptions& eps(double v) { return set(eps_, v); }               // Adam, AdamW

  const std::optional<double>& lr() const { return lr_; }
  const std::optional<double>& weight_decay() const { return weight_decay_; }
  const std::optional<double>& momentum() const { return momentum_; }
  const std::optional<double>& dampening() const { return dampening_; }
  const std::optional<bool>& nesterov() const { return nesterov_; }
  const std::optional<double>& beta1() const { return beta1_; }
  const std::optional<double>& beta2() const { return beta2_; }
  const std::optional<double>& eps() const { return eps_; }

 private:
  GroupOptions& set(std::optional<double>& field, double v) {
    field = v;
    return *this;
  }
  std::optional<double> lr_, weight_decay_, momentum_, dampening_, beta1_, beta2_, eps_;
  std::optional<bool> nesterov_;
};

// One parameter group: {&w1, &w2}, {params}, or {{&b1, &b2}, GroupOptions()...}.
template <class T>
struct ParamGroup {
  std::vector<Parameter<T>*> params;
  GroupOptions options;

  ParamGroup(std::initializer_list<Parameter<T>*> ps, GroupOptions o = {}) : params(ps), options(o) {}
  ParamGroup(std::vector<Parameter<T>*> ps, GroupOptions o = {}) : params(std::move(ps)), options(o) {}
};

// A vector of groups, for an optimizer built from groups made at run time
// (a braced list of groups goes to the std::initializer_list constructors). A
// type of its own: were the constructors to take a std::vector<ParamGroup>,
// {&w, &b} would be ambiguous with one group of two (an iterator range).
template <class T>
struct ParamGroups {
  std::vector<ParamGroup<T>> groups;

  ParamGroups(std::vector<ParamGroup<T>> gs) : groups(std::move(gs)) {}
};

template <class T>
struct NamedTensor {
  std::string name;  // "<buffer>.<parameter index>", e.g. "exp_avg.0" (index into params())
  Tensor<T> value;
};

template <class T>
struct OptimizerState {
  std::int64_t steps = 0;                // completed step() calls (Adam's t, SGD's "t > 1")
  std::vector<std::size_t> group_sizes;  // parameters per group, in order
  std::vector<double> lr;                // each group's learning rate
  std::vector<NamedTensor<T>> tensors;
};

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;  // registered buffers point into *this
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter of every group from its current grad.
  virtual void step() = 0;
  // Sets every parameter's grad to zero (keeping its buffer).
  void zero_grad();

  const char* name() const { return name_; }
  // Every parameter, group after group (state tensors are named by this index).
  const std::vector<Parameter<T>*>& params() const { return params_; }
  std::size_t num_groups() const { return groups_.size(); }
  // Group g's parameters: params()[group_begin(g), group_begin(g) + group_size(g)).
  std::size_t group_begin(std::size_t g) const { return group(g).begin; }
  std::size_t group_size(std::size_t g) const { return group(g).end - group(g).begin; }
  std::vector<Parameter<T>*> group_params(std::size_t g) const;

  // Group g's learning rate now, and the one it was built with (PyTorch's
  // initial_lr, what schedules scale).
  double lr(std::size_t g) const { return group(g).lr; }
  double initial_lr(std::size_t g) const { return group(g).initial_lr; }
  // Throws (naming the optimizer and the group) unless lr is finite and >= 0.
  void set_lr(std::size_t g, double lr);
  // The one group's learning rate; with more than one group these are Errors
  // (a single rate for all would silently undo the groups' own rates).
  double lr() const;
  void set_lr(double lr);
  // Every group's lr becomes schedule.lr_for(initial_lr(g), t), as PyTorch's
  // schedulers set each group from its own initial lr. Allocates nothing.
  void apply_schedule(const LrSchedule& schedule, std::int64_t t);
  std::int64_t steps() const { return steps_; }

  // A copy of the step count, the group sizes, each group's lr and every state
  // buffer, by name.
  OptimizerState<T> state() const;
  // Restores what state() returned: the same group sizes, every registered
  // buffer present with its parameter's shape and no unknown name. Validates
  // all before changing anything; copies into the existing buffers.
  void load_state(const OptimizerState<T>& s);

 protected:
  struct Group {
    std::size_t begin, end;  // [begin, end) of params_
    double lr, initial_lr;
    GroupOptions options;    // what the group set itself
  };

  // Flattens the groups into params_; each group's lr is its own or default_lr.
  Optimizer(const char* name, const std::vector<ParamGroup<T>>& groups, double default_lr);
  // Registers a state buffer set (one tensor per parameter, zeros of its shape);
  // with `in_group`, only the parameters of groups g with in_group[g] have one.
  void register_buffers(const char* buffer_name, std::vector<Tensor<T>>& buffers,
                        const std::vector<bool>& in_group = {});
  // Throws unless every parameter's grad has its value's shape.
  void check_grads() const;
  // "SGD: " with one group, "SGD: group 1: " with more: the start of group g's errors.
  std::string who(std::size_t g) const;
  void check_nonnegative(std::size_t g, const char* what, double v) const;
  // Throws if group g sets an option this optimizer does not have.
  void refuse_option(std::size_t g, const char* option, bool is_set, const char* options_it_has) const;
  const Tensor<T>& buffer_at(const std::vector<Tensor<T>>& buffers, std::size_t i, const char* buffer_name) const;
  const Group& group(std::size_t g) const;

  std::vector<Parameter<T>*> params_;
  std::vector<Group> groups_;
  std::int64_t steps_ = 0;

 private:
  struct BufferSet {
    const char* name;
    std::vector<Tensor<T>>* tensors;
    std::vector<bool> has;  // per parameter
  };
  const char* name_;
  std::vector<BufferSet> buffers_;
};

extern template struct ParamGroup<float>;
extern template struct ParamGroup<double>;
extern template struct ParamGroups<float>;
extern template struct ParamGroups<double>;
extern template struct NamedTensor<float>;
extern template struct NamedTensor<double>;
extern template struct OptimizerState<float>;
extern template struct OptimizerState<double>;
extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad
