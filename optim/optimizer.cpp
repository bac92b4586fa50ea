#include <tapegrad/optim/optimizer.hpp>

#include <algorithm>
#include <cmath>

#include <xtensor/xbuilder.hpp>

#include <tapegrad/optim/schedule.hpp>

namespace tapegrad {

namespace {

// "(2 + 1 parameters)" or "(3 parameters)": a group structure in messages.
std::string sizes_str(const std::vector<std::size_t>& sizes) {
  std::string s = "(";
  std::size_t total = 0;
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    s += (g ? " + " : "") + std::to_string(sizes[g]);
    total += sizes[g];
  }
  return s + (total == 1 && sizes.size() == 1 ? " parameter)" : " parameters)");
}

}  // namespace

template <class T>
Optimizer<T>::Optimizer(const char* name, const std::vector<ParamGroup<T>>& groups, double default_lr) : name_(name) {
  std::size_t total = 0;
  for (const ParamGroup<T>& g : groups) total += g.params.size();
  if (total == 0) fail(name_, ": got an empty parameter list");
  const bool many = groups.size() > 1;
  params_.reserve(total);
  groups_.reserve(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::size_t begin = params_.size();
    for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
      Parameter<T>* p = groups[g].params[i];
      if (!p) {
        if (many) fail(name_, ": group ", g, "'s parameter ", i, " is a null pointer");
        fail(name_, ": parameter ", i, " is a null pointer");
      }
      for (std::size_t j = 0; j < params_.size(); ++j) {
        if (params_[j] != p) continue;
        if (!many)
          fail(name_, ": parameter ", i, " ('", p->name, "') is the same as parameter ", j,
               " (it would be updated twice per step)");
        if (j >= begin)
          fail(name_, ": parameter '", p->name, "' is twice in group ", g, " (parameters ", j - begin, " and ", i,
               "): it would be updated twice per step");
        std::size_t h = 0;  // the earlier group that holds it
        while (j >= groups_[h].end) ++h;
        fail(name_, ": parameter '", p->name, "' is in group ", h, " (parameter ", j - groups_[h].begin,
             ") and in group ", g, " (parameter ", i, "): it would be updated twice per step");
      }
      params_.push_back(p);
    }
    const double lr = groups[g].options.lr().value_or(default_lr);
    groups_.push_back({begin, params_.size(), lr, lr, groups[g].options});
  }
  for (std::size_t g = 0; g < groups_.size(); ++g)  // now who(g) knows how many groups there are
    if (!std::isfinite(groups_[g].lr) || groups_[g].lr < 0)
      fail(who(g), "invalid learning rate ", groups_[g].lr, " (must be finite and >= 0)");
}

template <class T>
const typename Optimizer<T>::Group& Optimizer<T>::group(std::size_t g) const {
  if (g >= groups_.size()) fail(name_, ": group ", g, " out of range [0, ", groups_.size(), ")");
  return groups_[g];
}

template <class T>
std::vector<Parameter<T>*> Optimizer<T>::group_params(std::size_t g) const {
  const Group& gr = group(g);
  return {params_.begin() + static_cast<std::ptrdiff_t>(gr.begin), params_.begin() + static_cast<std::ptrdiff_t>(gr.end)};
}

template <class T>
std::string Optimizer<T>::who(std::size_t g) const {
  return groups_.size() > 1 ? std::string(name_) + ": group " + std::to_string(g) + ": " : std::string(name_) + ": ";
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (Parameter<T>* p : params_) p->zero_grad();
}

template <class T>
void Optimizer<T>::set_lr(std::size_t g, double lr) {
  group(g);  // range check
  if (!std::isfinite(lr) || lr < 0) fail(who(g), "invalid learning rate ", lr, " (must be finite and >= 0)");
  groups_[g].lr = lr;
}

template <class T>
double Optimizer<T>::lr() const {
  if (groups_.size() != 1)
    fail(name_, ": lr() needs a group: this optimizer has ", groups_.size(), " parameter groups (use lr(group))");
  return groups_[0].lr;
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  if (groups_.size() != 1)
    fail(name_, ": set_lr(lr) needs a group: this optimizer has ", groups_.size(),
         " parameter groups (use set_lr(group, lr) or apply_schedule)");
  set_lr(0, lr);
}

template <class T>
void Optimizer<T>::apply_schedule(const LrSchedule& schedule, std::int64_t t) {
  // Every rate is checked before any is set (a schedule is a pure function: the
  // second pass computes the same values), so a refused rate changes no group.
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const double lr = schedule.lr_for(groups_[g].initial_lr, t);
    if (!std::isfinite(lr) || lr < 0)
      fail(who(g), "invalid learning rate ", lr, " from the schedule at t = ", t, " (must be finite and >= 0)");
  }
  for (Group& g : groups_) g.lr = schedule.lr_for(g.initial_lr, t);
}

template <class T>
void Optimizer<T>::check_nonnegative(std::size_t g, const char* what, double v) const {
  if (!std::isfinite(v) || v < 0) fail(who(g), "invalid ", what, " ", v, " (must be finite and >= 0)");
}

template <class T>
void Optimizer<T>::refuse_option(std::size_t g, const char* option, bool is_set, const char* options_it_has) const {
  if (is_set)
    fail(name_, ": group ", g, " sets ", option, ", which ", name_, " does not have (it has ", options_it_has, ")");
}

template <class T>
void Optimizer<T>::register_buffers(const char* buffer_name, std::vector<Tensor<T>>& buffers,
                                    const std::vector<bool>& in_group) {
  buffers.clear();
  buffers.reserve(params_.size());
  BufferSet set{buffer_name, &buffers, std::vector<bool>(params_.size(), true)};
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = groups_[g].begin; i < groups_[g].end; ++i) {
      set.has[i] = in_group.empty() || in_group[g];
      buffers.push_back(set.has[i] ? Tensor<T>(xt::zeros<T>(params_[i]->value.shape())) : Tensor<T>());
    }
  buffers_.push_back(std::move(set));
}

template <class T>
void Optimizer<T>::check_grads() const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Parameter<T>& p = *params_[i];
    if (p.grad.shape() != p.value.shape())
      fail(name_, ": parameter ", i, " ('", p.name, "') has value ", shape_str(p.value.shape()), " but grad ",
           shape_str(p.grad.shape()));
    // State buffers were shaped at construction; a parameter resized since then
    // would make the fused loops read past a buffer.
    for (const BufferSet& b : buffers_)
      if (b.has[i] && (*b.tensors)[i].shape() != p.value.shape())
        fail(name_, ": parameter ", i, " ('", p.name, "') changed shape to ", shape_str(p.value.shape()),
             " after the optimizer was built (", b.name, " is ", shape_str((*b.tensors)[i].shape()), ")");
  }
}

template <class T>
const Tensor<T>& Optimizer<T>::buffer_at(const std::vector<Tensor<T>>& buffers, std::size_t i,
                                         const char* buffer_name) const {
  if (i >= params_.size()) fail(name_, ": parameter index ", i, " out of range [0, ", params_.size(), ")");
  for (const BufferSet& b : buffers_)
    if (b.tensors == &buffers && b.has[i]) return buffers[i];
  std::size_t g = 0;
  while (i >= groups_[g].end) ++g;
  fail(name_, ": parameter ", i, " ('", params_[i]->name, "') has no ", buffer_name, " (its group ", g,
       " keeps none)");
}

template <class T>
OptimizerState<T> Optimizer<T>::state() const {
  OptimizerState<T> s;
  s.steps = steps_;
  for (const Group& g : groups_) {
    s.group_sizes.push_back(g.end - g.begin);
    s.lr.push_back(g.lr);
  }
  for (const BufferSet& b : buffers_)
    for (std::size_t i = 0; i < b.tensors->size(); ++i)
      if (b.has[i]) s.tensors.push_back({std::string(b.name) + "." + std::to_string(i), (*b.tensors)[i]});
  return s;
}

template <class T>
void Optimizer<T>::load_state(const OptimizerState<T>& s) {
  if (s.steps < 0) fail(name_, ": load_state: negative step count ", s.steps);
  std::vector<std::size_t> sizes;
  for (const Group& g : groups_) sizes.push_back(g.end - g.begin);
  if (s.group_sizes != sizes)
    fail(name_, ": load_state: the state has ", s.group_sizes.size(), " parameter group",
         s.group_sizes.size() == 1 ? " " : "s ", sizes_str(s.group_sizes), ", this optimizer ", sizes.size(), " ",
         sizes_str(sizes));
  if (s.lr.size() != groups_.size())
    fail(name_, ": load_state: got ", s.lr.size(), " learning rates for ", groups_.size(), " parameter groups");
  for (std::size_t g = 0; g < groups_.size(); ++g)
    if (!std::isfinite(s.lr[g]) || s.lr[g] < 0) fail(who(g), "load_state: invalid learning rate ", s.lr[g]);
  std::vector<const Tensor<T>*> found;
  std::size_t expected = 0;
  for (const BufferSet& b : buffers_) {
    for (std::size_t i = 0; i < b.tensors->size(); ++i) {
      if (!b.has[i]) continue;
      ++expected;
      const std::string key = std::string(b.name) + "." + std::to_string(i);
      auto it = std::find_if(s.tensors.begin(), s.tensors.end(), [&](const NamedTensor<T>& n) { return n.name == key; });
      if (it == s.tensors.end()) fail(name_, ": load_state: missing state tensor '", key, "'");
      if (it->value.shape() != (*b.tensors)[i].shape())
        fail(name_, ": load_state: '", key, "' has shape ", shape_str(it->value.shape()), " but parameter ", i,
             " has ", shape_str((*b.tensors)[i].shape()));
      found.push_back(&it->value);
    }
  }
  if (s.tensors.size() != expected)
    fail(name_, ": load_state: got ", s.tensors.size(), " state tensors, expected ", expected,
         " (unknown or duplicate names)");
  std::size_t k = 0;
  for (const BufferSet& b : buffers_)
    for (std::size_t i = 0; i < b.tensors->size(); ++i)
      if (b.has[i]) {
        std::copy(found[k]->cbegin(), found[k]->cend(), (*b.tensors)[i].begin());
        ++k;
      }
  steps_ = s.steps;
  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = s.lr[g];
}

template struct ParamGroup<float>;
template struct ParamGroup<double>;
template struct ParamGroups<float>;
template struct ParamGroups<double>;
template struct NamedTensor<float>;
template struct NamedTensor<double>;
template struct OptimizerState<float>;
template struct OptimizerState<double>;
template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad
