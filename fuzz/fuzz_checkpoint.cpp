// libFuzzer target: the checkpoint decoder and loader on arbitrary bytes.
// Oracles beyond the sanitizers: only tapegrad::Error may escape; a failed
// load changes nothing; and a checkpoint that loads re-encodes to exactly the
// input bytes (the loader accepts only what save_checkpoint writes).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <tapegrad/core/error.hpp>
#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "npz_mutator.hpp"

using namespace tapegrad;

namespace {

template <class T>
bool same(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin(), [](T x, T y) {
           return std::memcmp(&x, &y, sizeof(T)) == 0;  // bitwise: NaN payloads included
         });
}

// Builds a model and optimizer shaped like the decoded checkpoint, loads it and
// checks that encoding them again reproduces the input.
template <class T>
void round_trip(const Checkpoint<T>& c, const std::uint8_t* data, std::size_t size) {
  std::vector<std::unique_ptr<Parameter<T>>> owned;
  std::vector<Parameter<T>*> params;
  for (const NamedTensor<T>& t : c.params) {
    owned.push_back(std::make_unique<Parameter<T>>(Tensor<T>(xt::zeros<T>(t.value.shape())), t.name));
    params.push_back(owned.back().get());
  }
  std::unique_ptr<Optimizer<T>> opt;
  if (c.has_optimizer) {
    std::vector<Parameter<T>*> ops;
    for (const std::string& name : c.optimizer_params)
      for (Parameter<T>* p : params)
        if (p->name == name) ops.push_back(p);
    if (ops.size() != c.optimizer_params.size()) return;  // names the loader will reject
    // The groups the checkpoint says; an SGD group has momentum when a state
    // tensor belongs to one of its parameters.
    std::vector<ParamGroup<T>> groups;
    std::size_t begin = 0;
    for (std::size_t size : c.optimizer.group_sizes) {
      GroupOptions o;
      if (c.optimizer_name == "SGD") {
        bool momentum = false;
        for (std::size_t i = begin; i < begin + size; ++i)
          for (const NamedTensor<T>& t : c.optimizer.tensors)
            momentum = momentum || t.name == "momentum_buffer." + std::to_string(i);
        o.momentum(momentum ? 0.9 : 0);
      }
      groups.push_back({std::vector<Parameter<T>*>(ops.begin() + begin, ops.begin() + begin + size), o});
      begin += size;
    }
    try {
      if (c.optimizer_name == "SGD") {
        opt = std::make_unique<SGD<T>>(ParamGroups<T>(groups), SGDOptions{});
      } else if (c.optimizer_name == "Adam") {
        opt = std::make_unique<Adam<T>>(ParamGroups<T>(groups), AdamOptions{});
      } else if (c.optimizer_name == "AdamW") {
        opt = std::make_unique<AdamW<T>>(ParamGroups<T>(groups));
      } else {
        return;
      }
    } catch (const Error&) {
      return;  // e.g. the same parameter listed twice
    }
  }
  const OptimizerState<T> before = opt ? opt->state() : OptimizerState<T>{};
  try {
    apply_checkpoint(c, params, opt.get(), "fuzz");
  } catch (const Error&) {
    for (Parameter<T>* p : params)
      if (!same<T>(p->value, Tensor<T>(xt::zeros<T>(p->value.shape())))) std::abort();  // partial load
    if (opt) {
      const OptimizerState<T> after = opt->state();
      if (after.steps != before.steps || after.lr != before.lr) std::abort();
      for (std::size_t k = 0; k < after.tensors.size(); ++k)
        if (!same<T>(after.tensors[k].value, before.tensors[k].value)) std::abort();
    }
    return;
  }
  const std::string again = encode_checkpoint<T>(params, opt.get(), c.meta);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return npz_mutator::mutate(data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  try {
    round_trip(decode_checkpoint<float>(bytes, size, "fuzz"), data, size);
  } catch (const Error&) {
  }
  try {
    round_trip(decode_checkpoint<double>(bytes, size, "fuzz"), data, size);
  } catch (const Error&) {
  }
  return 0;
}
