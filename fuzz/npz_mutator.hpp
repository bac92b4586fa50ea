#pragma once
// The structure-aware mutator of the .npz targets (fuzz_checkpoint,
// fuzz_module_state). Random byte mutations almost never get past the CRC-32s,
// so most of the time the input is split into its ZIP entries, one entry (or the
// entry list) is mutated, and the archive is rebuilt with correct CRCs and,
// usually, a correct header checksum: the fuzzer then explores the .npy and
// checkpoint semantics.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <zlib.h>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace npz_mutator {

struct Entry {
  std::string name, bytes;
};

inline std::uint32_t get(const std::uint8_t* p, int n) {
  std::uint32_t v = 0;
  for (int k = n; k-- > 0;) v = (v << 8) | p[k];
  return v;
}
inline void put(std::string& s, std::uint32_t v, int n) {
  for (int k = 0; k < n; ++k) s += char((v >> (8 * k)) & 0xff);
}
inline std::uint32_t crc(const std::string& s, std::uint32_t c = 0) {
  return static_cast<std::uint32_t>(crc32(c, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

inline bool split(const std::uint8_t* p, std::size_t n, std::vector<Entry>& es) {
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

inline std::string join(const std::vector<Entry>& es) {
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
inline void fix_header(std::vector<Entry>& es) {
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

inline std::string mutate_string(std::string s, std::size_t room) {
  s.resize(std::max<std::size_t>(s.size() + room, 1));
  const std::size_t n = LLVMFuzzerMutate(reinterpret_cast<std::uint8_t*>(&s[0]), s.size() - room, s.size());
  s.resize(n);
  return s;
}

// LLVMFuzzerCustomMutator's body.
inline std::size_t mutate(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed) {
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

}  // namespace npz_mutator
