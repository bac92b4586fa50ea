#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
Module<T>::Module(std::string kind) : kind_(std::move(kind)) {}

template <class T>
Module<T>::~Module() = default;
template <class T>
Module<T>::Module(Module&&) noexcept = default;
template <class T>
Module<T>& Module<T>::operator=(Module&&) noexcept = default;

template <class T>
void Module<T>::check_new_name(const char* what, const std::string& name) const {
  if (name.empty()) fail(kind_, ": a ", what, " needs a non-empty name");
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) fail(kind_, ": ", what, " name '", name, "' has a byte outside printable ASCII");
    if (c == '.') fail(kind_, ": ", what, " name '", name, "' contains '.', which separates hierarchical names");
  }
  for (const auto& e : parameters_)
    if (e.first == name) fail(kind_, ": '", name, "' is already registered (as a parameter)");
  for (const auto& e : buffers_)
    if (e.first == name) fail(kind_, ": '", name, "' is already registered (as a buffer)");
  for (const auto& e : children_)
    if (e.first == name) fail(kind_, ": '", name, "' is already registered (as a child module)");
}

template <class T>
Parameter<T>& Module<T>::register_parameter(const std::string& name, Tensor<T> value) {
  check_new_name("parameter", name);
  parameters_.emplace_back(name, std::make_unique<Parameter<T>>(std::move(value), name));
  return *parameters_.back().second;
}

template <class T>
Tensor<T>& Module<T>::register_buffer(const std::string& name, Tensor<T> value) {
  check_new_name("buffer", name);
  buffers_.emplace_back(name, std::make_unique<Tensor<T>>(std::move(value)));
  return *buffers_.back().second;
}

template <class T>
Module<T>& Module<T>::add_child(const std::string& name, std::unique_ptr<Module> child) {
  if (!child) fail(kind_, ": child module '", name, "' is a null pointer");
  check_new_name("child module", name);
  // The child's parameters are now named from this module down.
  for (auto& [full, p] : child->named_parameters()) p->name = name + "." + full;
  children_.emplace_back(name, std::move(child));
  return *children_.back().second;
}

template <class T>
void Module<T>::collect_parameters(const std::string& prefix, bool recurse,
                                   std::vector<std::pair<std::string, Parameter<T>*>>& out) const {
  for (const auto& [name, p] : parameters_) out.emplace_back(prefix + name, p.get());
  if (recurse)
    for (const auto& [name, c] : children_) c->collect_parameters(prefix + name + ".", true, out);
}

template <class T>
void Module<T>::collect_buffers(const std::string& prefix, bool recurse,
                                std::vector<std::pair<std::string, Tensor<T>*>>& out) const {
  for (const auto& [name, b] : buffers_) out.emplace_back(prefix + name, b.get());
  if (recurse)
    for (const auto& [name, c] : children_) c->collect_buffers(prefix + name + ".", true, out);
}

template <class T>
void Module<T>::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) {
  out.emplace_back(prefix, this);
  for (auto& [name, c] : children_) c->collect_modules(prefix.empty() ? name : prefix + "." + name, out);
}

template <class T>
std::vector<std::pair<std::string, Parameter<T>*>> Module<T>::named_parameters(bool recurse) {
  std::vector<std::pair<std::string, Parameter<T>*>> out;
  collect_parameters("", recurse, out);
  return out;
}

template <class T>
std::vector<std::pair<std::string, const Parameter<T>*>> Module<T>::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Parameter<T>*>> all;
  collect_parameters("", recurse, all);
  return {all.begin(), all.end()};
}

template <class T>
std::vector<Parameter<T>*> Module<T>::parameters(bool recurse) {
  std::vector<Parameter<T>*> out;
  for (auto& e : named_parameters(recurse)) out.push_back(e.second);
  return out;
}

template <class T>
std::vector<const Parameter<T>*> Module<T>::parameters(bool recurse) const {
  std::vector<const Parameter<T>*> out;
  for (auto& e : named_parameters(recurse)) out.push_back(e.second);
  return out;
}

template <class T>
std::vector<std::pair<std::string, Tensor<T>*>> Module<T>::named_buffers(bool recurse) {
  std::vector<std::pair<std::string, Tensor<T>*>> out;
  collect_buffers("", recurse, out);
  return out;
}

template <class T>
std::vector<std::pair<std::string, const Tensor<T>*>> Module<T>::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor<T>*>> all;
  collect_buffers("", recurse, all);
  return {all.begin(), all.end()};
}

template <class T>
std::vector<Tensor<T>*> Module<T>::buffers(bool recurse) {
  std::vector<Tensor<T>*> out;
  for (auto& e : named_buffers(recurse)) out.push_back(e.second);
  return out;
}

template <class T>
std::vector<std::pair<std::string, Module<T>*>> Module<T>::named_children() {
  std::vector<std::pair<std::string, Module*>> out;
  for (auto& [name, c] : children_) out.emplace_back(name, c.get());
  return out;
}

template <class T>
std::vector<std::pair<std::string, const Module<T>*>> Module<T>::named_children() const {
  std::vector<std::pair<std::string, const Module*>> out;
  for (const auto& [name, c] : children_) out.emplace_back(name, c.get());
  return out;
}

template <class T>
std::vector<Module<T>*> Module<T>::children() {
  std::vector<Module*> out;
  for (auto& e : children_) out.push_back(e.second.get());
  return out;
}

template <class T>
std::vector<std::pair<std::string, Module<T>*>> Module<T>::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect_modules("", out);
  return out;
}

template <class T>
void Module<T>::train(bool on) {
  training_ = on;
  for (auto& e : children_) e.second->train(on);
}

template <class T>
void Module<T>::zero_grad() {
  for (Parameter<T>* p : parameters()) p->zero_grad();
}

template <class T>
void Module<T>::print(std::string& out, const std::string& indent) const {
  out += kind_;
  const std::string extra = extra_repr();
  if (children_.empty()) {
    if (!extra.empty()) out += "(" + extra + ")";
    return;
  }
  out += "(";
  if (!extra.empty()) out += "\n" + indent + "  " + extra;
  for (const auto& [name, c] : children_) {
    out += "\n" + indent + "  (" + name + "): ";
    c->print(out, indent + "  ");
  }
  out += "\n" + indent + ")";
}

template <class T>
std::string Module<T>::to_string() const {
  std::string out;
  print(out, "");
  return out;
}

template class Module<float>;
template class Module<double>;

}  // namespace tapegrad::nn
