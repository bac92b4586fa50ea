#pragma once
// nn::Module: the base of layers and models, shaped like libtorch's
// torch::nn::Module (register_parameter / register_buffer / register_module,
// named_parameters, train / eval, zero_grad) on the explicit tape.
//
// - A module owns its Parameters, buffers and children through std::unique_ptr,
//   so each lives at one address for the module's lifetime: an optimizer built
//   from module.parameters(), and a reference returned by register_module, stay
//   valid when the module is moved, nested, or stored in a growing std::vector.
//   (Move-assigning over a module destroys what it owned, as for any object.)
// - Copying is deleted. A copy would either share Parameters with the original
//   (two models silently training one tensor) or hold fresh ones that an
//   optimizer built from the original never sees; build a second model and
//   copy state by name instead (io/module_state.hpp saves and loads it).
// - Names are hierarchical, as in PyTorch's state_dict: a module's own entries
//   first, in registration order, then each child's under "<child>.":
//   "weight", "fc1.bias", "features.0.weight". A name is non-empty printable
//   ASCII without '.', unique among the module's parameters, buffers and
//   children. Each Parameter's `name` is kept equal to its full name, relative
//   to the outermost module it has been registered into (so optimizer messages
//   and save_checkpoint(model.parameters()) use it): registering a child
//   prefixes its parameters' names.
// - forward is only calls of ops/ and losses/ on the input's tape: nothing in
//   nn/ computes a gradient. The tape is the input Var's (x.tape()), so a
//   module needs no tape of its own and may run on any number of tapes.
// - train() / eval() set the mode of the module and every descendant; modules
//   start in training mode (Dropout is the layer that reads it).
//
// A model of its own keeps references (or pointers) to the children it
// registered; they point at what the module owns, so they survive its moves:
//
//   struct Net : nn::Module<float> {
//     nn::Linear<float>& fc1;
//     nn::Linear<float>& fc2;
//     explicit Net(nn::Generator& g)
//         : Module("Net"), fc1(register_module("fc1", nn::Linear<float>(784, 256, g))),
//           fc2(register_module("fc2", nn::Linear<float>(256, 10, g))) {}
//     Var<float> forward(const Var<float>& x) override { return fc2(relu(fc1(x))); }
//   };
//
// (Members initialise in declaration order, so fc1 draws from g before fc2.
// Reference members make Net move-constructible but not move-assignable;
// pointer members allow both.)
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/core/tape.hpp>

namespace tapegrad::nn {

template <class T>
class Module {
 public:
  using value_type = T;

  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) noexcept;
  Module& operator=(Module&&) noexcept;

  // The layer's function, recorded on x's tape.
  virtual Var<T> forward(const Var<T>& x) = 0;
  Var<T> operator()(const Var<T>& x) { return forward(x); }

  // The type's name ("Linear", "Sequential", or what a user module passes to
  // the constructor): errors and to_string() use it.
  const std::string& kind() const { return kind_; }

  // Every parameter (recurse = false: only this module's own), named as above.
  std::vector<std::pair<std::string, Parameter<T>*>> named_parameters(bool recurse = true);
  std::vector<std::pair<std::string, const Parameter<T>*>> named_parameters(bool recurse = true) const;
  std::vector<Parameter<T>*> parameters(bool recurse = true);
  std::vector<const Parameter<T>*> parameters(bool recurse = true) const;
  // Buffers: state that is saved and loaded with the module but not trained
  // (running statistics of a norm layer).
  std::vector<std::pair<std::string, Tensor<T>*>> named_buffers(bool recurse = true);
  std::vector<std::pair<std::string, const Tensor<T>*>> named_buffers(bool recurse = true) const;
  std::vector<Tensor<T>*> buffers(bool recurse = true);
  // Direct children, in registration order.
  std::vector<std::pair<std::string, Module*>> named_children();
  std::vector<std::pair<std::string, const Module*>> named_children() const;
  std::vector<Module*> children();
  // This module (named "") and every descendant, depth first, parents before children.
  std::vector<std::pair<std::string, Module*>> named_modules();

  // Sets the mode of this module and every descendant.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Every parameter's grad to zero (keeping its buffer).
  void zero_grad();

  // "Sequential(\n  (0): Linear(in=4, out=3, bias=true)\n  (1): ReLU\n)", as PyTorch prints.
  std::string to_string() const;
  // What to_string shows in this module's parentheses ("in=4, out=3, bias=true").
  virtual std::string extra_repr() const { return ""; }

 protected:
  explicit Module(std::string kind = "Module");

  // A new parameter named `name` holding `value` (its grad zeros of its shape).
  Parameter<T>& register_parameter(const std::string& name, Tensor<T> value);
  Tensor<T>& register_buffer(const std::string& name, Tensor<T> value);
  // Takes ownership of a child (moved in) and returns a reference to it that
  // stays valid while this module (wherever it moves) owns it.
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module, M>>>
  M& register_module(const std::string& name, M module) {
    return static_cast<M&>(add_child(name, std::make_unique<M>(std::move(module))));
  }
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module, M>>>
  M& register_module(const std::string& name, std::unique_ptr<M> module) {
    M* raw = module.get();
    add_child(name, std::unique_ptr<Module>(std::move(module)));  // an Error when null
    return *raw;
  }
  Module& add_child(const std::string& name, std::unique_ptr<Module> child);
  // Direct child i, in registration order (Sequential indexes its layers so).
  std::size_t child_count() const { return children_.size(); }
  Module& child_at(std::size_t i) const { return *children_[i].second; }

 private:
  void check_new_name(const char* what, const std::string& name) const;
  void collect_parameters(const std::string& prefix, bool recurse,
                          std::vector<std::pair<std::string, Parameter<T>*>>& out) const;
  void collect_buffers(const std::string& prefix, bool recurse,
                       std::vector<std::pair<std::string, Tensor<T>*>>& out) const;
  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out);
  void print(std::string& out, const std::string& indent) const;

  std::string kind_;
  bool training_ = true;
  std::vector<std::pair<std::string, std::unique_ptr<Parameter<T>>>> parameters_;
  std::vector<std::pair<std::string, std::unique_ptr<Tensor<T>>>> buffers_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
};

extern template class Module<float>;
extern template class Module<double>;

}  // namespace tapegrad::nn
