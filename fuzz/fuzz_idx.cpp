// libFuzzer target: the IDX reader (plain or gzip, through zlib) on arbitrary
// bytes, at the rank the magic asks for. Only tapegrad::Error may escape.
#include <cstdint>
#include <cstdlib>

#include <tapegrad/core/error.hpp>
#include "fuzz/memfile.hpp"
#include <tapegrad/io/idx.hpp>

using namespace tapegrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static MemFile input;
  const std::string& path = input.put(data, size);
  // The 4th byte of a plain file's magic is its rank; gzip input gets rank 1 and 3.
  const std::size_t rank = size >= 4 && data[3] >= 1 && data[3] <= 4 ? data[3] : 1;
  try {
    if (rank == 3) {
      const Tensor<float> x = load_idx_images(path);
      if (x.dimension() != 2) std::abort();
    } else if (rank == 1) {
      load_idx_labels(path, 10);
    } else {
      read_idx(path, rank);
    }
  } catch (const Error&) {
  }
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    try {
      load_idx_images(path);
    } catch (const Error&) {
    }
  }
  return 0;
}
