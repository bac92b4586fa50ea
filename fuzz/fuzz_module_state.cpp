// libFuzzer target: load_state (io/module_state.*, through io/checkpoint.* and
// io/zip.*) on arbitrary bytes, into a float and a double StateModel
// (state_model.hpp). Oracles beyond the sanitizers: only tapegrad::Error may
// escape; a failed load changes nothing (values, buffers, versions); a load that
// succeeds sets every parameter and buffer to the file's entry of its name,
// bitwise, and marks every parameter modified.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <tapegrad/core/error.hpp>
#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/module_state.hpp>
#include "memfile.hpp"
#include "npz_mutator.hpp"
#include "state_model.hpp"

using namespace tapegrad;

namespace {

template <class T>
bool same(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin(), [](T x, T y) {
           return std::memcmp(&x, &y, sizeof(T)) == 0;  // bitwise: NaN payloads included
         });
}

template <class T>
void load_into_model(const std::string& path, const std::uint8_t* data, std::size_t size) {
  StateModel<T> model;
  std::vector<std::pair<std::string, Tensor<T>>> before;
  for (auto& [name, p] : model.named_parameters()) before.emplace_back(name, p->value);
  for (auto& [name, b] : model.named_buffers()) before.emplace_back(name, *b);
  try {
    load_state(model, path);
  } catch (const Error&) {
    std::size_t k = 0;
    for (auto& [name, p] : model.named_parameters())
      if (!same<T>(p->value, before[k++].second) || p->version() != 0) std::abort();  // partial load
    for (auto& [name, b] : model.named_buffers())
      if (!same<T>(*b, before[k++].second)) std::abort();
    return;
  }
  // It loaded, so the bytes are a checkpoint whose param/ entries are the model's state.
  const Checkpoint<T> c = decode_checkpoint<T>(reinterpret_cast<const char*>(data), size, "fuzz");
  auto entry = [&c](const std::string& name) -> const Tensor<T>& {
    for (const NamedTensor<T>& t : c.params)
      if (t.name == name) return t.value;
    std::abort();  // load_state accepted a file without this entry
  };
  if (c.params.size() != before.size()) std::abort();  // an entry the model does not have
  for (auto& [name, p] : model.named_parameters())
    if (!same<T>(p->value, entry(name)) || p->version() != 1) std::abort();
  for (auto& [name, b] : model.named_buffers())
    if (!same<T>(*b, entry(name))) std::abort();
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return npz_mutator::mutate(data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static MemFile file;
  const std::string& path = file.put(data, size);
  load_into_model<float>(path, data, size);
  load_into_model<double>(path, data, size);
  return 0;
}
