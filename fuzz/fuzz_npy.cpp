// libFuzzer target: read_npy on arbitrary bytes, then every consumer of the
// array. Any exception other than tapegrad::Error, any sanitizer report, and
// any array that does not survive write_npy -> read_npy unchanged is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include <tapegrad/core/error.hpp>
#include "fuzz/memfile.hpp"
#include <tapegrad/io/npy.hpp>

using namespace tapegrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static MemFile input;
  static const std::string copy = "/dev/shm/tapegrad_fuzz_npy_" + std::to_string(::getpid()) + ".npy";
  NpyArray a;
  try {
    a = read_npy(input.put(data, size));
  } catch (const Error&) {
    return 0;
  }
  if (a.data.size() != a.size() * npy_item_size(a.dtype)) std::abort();  // read_npy's own contract
  try {
    npy_to_tensor<float>(a);
    npy_to_tensor<double>(a);
  } catch (const Error&) {
  }
  try {
    npy_to_index(a);
  } catch (const Error&) {
  }
  // Round trip: what was read is written canonically and reads back equal.
  write_npy(copy, a);
  const NpyArray b = read_npy(copy);
  ::unlink(copy.c_str());
  if (b.dtype != a.dtype || b.shape != a.shape || b.data != a.data) std::abort();
  return 0;
}
