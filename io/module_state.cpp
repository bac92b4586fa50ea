#include <tapegrad/io/module_state.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/io/checkpoint.hpp>

namespace tapegrad {

template <class T>
void save_state(const nn::Module<T>& module, const std::string& path) {
  // save_checkpoint takes Parameters and names entries by Parameter::name. A
  // parameter whose name is its full name (always, unless renamed by hand) goes
  // as it is; others, and buffers, go as copies under their full names.
  std::deque<Parameter<T>> copies;  // a deque: pointers into it stay valid
  std::vector<Parameter<T>*> entries;
  auto copy_of = [&copies](const std::string& name, const Tensor<T>& value) {
    copies.emplace_back();
    copies.back().name = name;
    copies.back().value = value;
    return &copies.back();
  };
  for (const auto& [name, p] : module.named_parameters())
    entries.push_back(p->name == name ? const_cast<Parameter<T>*>(p) : copy_of(name, p->value));
  for (const auto& [name, b] : module.named_buffers()) entries.push_back(copy_of(name, *b));
  CheckpointMeta meta;
  meta.model_name = module.kind();
  try {
    save_checkpoint<T>(path, entries, nullptr, meta);  // reads the parameters only
  } catch (const Error& e) {
    fail("save_state: ", e.what());
  }
}

template <class T>
void load_state(nn::Module<T>& module, const std::string& path) {
  Checkpoint<T> c;
  try {
    c = read_checkpoint<T>(path);
  } catch (const Error& e) {
    fail("load_state: ", e.what());
  }
  const std::string where = "load_state: " + path + ": ";
  std::vector<std::pair<std::string, Tensor<T>*>> targets;
  for (auto& [name, p] : module.named_parameters()) targets.emplace_back(name, &p->value);
  for (auto& [name, b] : module.named_buffers()) targets.emplace_back(name, b);

  std::map<std::string, const Tensor<T>*> in_file;
  for (const NamedTensor<T>& t : c.params) in_file.emplace(t.name, &t.value);
  auto held = [&c] {
    std::string s;
    for (const NamedTensor<T>& t : c.params) s += (s.empty() ? "'" : ", '") + t.name + "'";
    return s.empty() ? std::string("none") : s;
  };
  std::vector<const Tensor<T>*> sources;
  for (const auto& [name, target] : targets) {
    const auto it = in_file.find(name);
    if (it == in_file.end()) fail(where, "missing entry '", name, "' (the file holds ", held(), ")");
    if (it->second->shape() != target->shape())
      fail(where, "entry '", name, "' has shape ", shape_str(it->second->shape()), " in the file but ",
           shape_str(target->shape()), " in the module");
    sources.push_back(it->second);
  }
  for (const NamedTensor<T>& t : c.params)
    if (std::none_of(targets.begin(), targets.end(), [&](const auto& e) { return e.first == t.name; }))
      fail(where, "unexpected entry '", t.name, "', which the module (", module.kind(),
           ") has no parameter or buffer for");
  // Everything fits: assign in place (same shapes, so nothing is reallocated).
  for (std::size_t k = 0; k < targets.size(); ++k) xt::noalias(*targets[k].second) = *sources[k];
  for (auto& [name, p] : module.named_parameters()) p->mark_modified();
}

template void save_state(const nn::Module<float>&, const std::string&);
template void save_state(const nn::Module<double>&, const std::string&);
template void load_state(nn::Module<float>&, const std::string&);
template void load_state(nn::Module<double>&, const std::string&);

}  // namespace tapegrad
