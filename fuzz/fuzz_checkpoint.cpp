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

#include <zlib.h>

#include <tapegrad/core/error.hpp>
#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>

using namespace tapegrad;

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

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

// ---- a structure-aware mutator ------------------------------------------------
// Random byte mutations almost never get past the CRC-32s, so most of the time
// the input is split into its ZIP entries, one entry (or the entry list) is
// mutated, and the archive is rebuilt with correct CRCs and, usually, a correct
// header checksum: the fuzzer then explores the .npy and checkpoint semantics.
struct Entry {
  std::string name, bytes;
};

std::uint32_t get(const std::uint8_t* p, int n) {
  std::uint32_t v = 0;
  for (int k = n; k-- > 0;) v = (v << 8) | p[k];
  return v;
}
void put(std::string& s, std::uint32_t v, int n) {
  for (int k = 0; k < n; ++k) s += char((v >> (8 * k)) & 0xff);
}
std::uint32_t crc(const std::string& s, std::uint32_t c = 0) {
  return static_cast<std::uint32_t>(crc32(c, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

bool split(const std::uint8_t* p, std::size_t n, std::vector<Entry>& es) {
  if (n < 22) return false;
  const std::size_t end = n - 22, count = get(p + end + 10, 2), cd = get(p + end + 16, 4);
  if (get(p + end, 4) != 0x06054b50 || cd > end) return false;
  for (std::size_t i = 0, pos = cd; i < count; ++i) {
    if (end - pos < 46) return false;
    const std::size_t size = get(p + pos + 20, 4), len = get(p + pos + 28, 2), local = get(p + pos + 42, 4);
    if (end - pos - 46 < len || local > cd || cd - local < 30 + len || cd - local - 30 - len < size) return false;
    es.push_back({std::string(reinterpret_cast<const char*>(p) + pos + 46, len),
                  std::string(reinterpret_cast<const char*>(p) + local + 30 + len, size)});
    pos += 46 + len;
  }
  return !es.empty();
}

std::string join(const std::vector<Entry>& es) {
  std::string out, central;
  for (const Entry& e : es) {
    const std::uint32_t c = crc(e.bytes), size = static_cast<std::uint32_t>(e.bytes.size());
    const std::uint32_t offset = static_cast<std::uint32_t>(out.size()), len = static_cast<std::uint32_t>(e.name.size());
    put(out, 0x04034b50, 4);
    for (std::uint32_t v : {20u, 0u, 0u, 0u, 33u}) put(out, v, 2);
    for (std::uint32_t v : {c, size, size}) put(out, v, 4);
    put(out, len, 2);
    put(out, 0, 2);
    out += e.name + e.bytes;
    put(central, 0x02014b50, 4);
    for (std::uint32_t v : {20u, 20u, 0u, 0u, 0u, 33u}) put(central, v, 2);
    for (std::uint32_t v : {c, size, size}) put(central, v, 4);
    for (std::uint32_t v : {len, 0u, 0u, 0u, 0u}) put(central, v, 2);
    put(central, 0, 4);
    put(central, offset, 4);
    central += e.name;
  }
  const std::uint32_t cd = static_cast<std::uint32_t>(out.size()), count = static_cast<std::uint32_t>(es.size());
  out += central;
  put(out, 0x06054b50, 4);
  for (std::uint32_t v : {0u, 0u, count, count}) put(out, v, 2);
  put(out, static_cast<std::uint32_t>(central.size()), 4);
  put(out, cd, 4);
  put(out, 0, 2);
  return out;
}

// Rewrites the header's entry count and checksum (the last 16 of its 32 data bytes).
void fix_header(std::vector<Entry>& es) {
  if (es.empty() || es[0].bytes.size() < 32) return;
  std::uint32_t c = 0;
  for (std::size_t k = 1; k < es.size(); ++k) {
    std::string name = es[k].name;
    if (name.size() >= 4) name.resize(name.size() - 4);
    c = crc(name + '\0', c);
    c = crc(es[k].bytes, c);
  }
  const std::int64_t tail[2] = {static_cast<std::int64_t>(es.size()), static_cast<std::int64_t>(c)};
  std::memcpy(&es[0].bytes[es[0].bytes.size() - 16], tail, 16);
}

std::string mutate_string(std::string s, std::size_t room) {
  s.resize(std::max<std::size_t>(s.size() + room, 1));
  const std::size_t n = LLVMFuzzerMutate(reinterpret_cast<std::uint8_t*>(&s[0]), s.size() - room, s.size());
  s.resize(n);
  return s;
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  std::minstd_rand rng(seed);
  std::vector<Entry> es;
  if (rng() % 8 == 0 || !split(data, size, es)) return LLVMFuzzerMutate(data, size, max_size);
  const std::size_t k = rng() % es.size();
  switch (rng() % 16) {
    case 0: es.erase(es.begin() + static_cast<std::ptrdiff_t>(k)); break;
    case 1: es.insert(es.begin() + static_cast<std::ptrdiff_t>(rng() % es.size()), es[k]); break;
    case 2: std::swap(es[k], es[rng() % es.size()]); break;
    case 3: es[k].name = mutate_string(es[k].name, 16); break;
    default: es[k].bytes = mutate_string(es[k].bytes, 64); break;  // mostly the .npy bytes
  }
  if (rng() % 8 != 0) fix_header(es);
  const std::string out = join(es);
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
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
