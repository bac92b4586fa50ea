#pragma once
// The .npy header: the prelude (magic, version, header length) and the Python
// dict literal that follows it, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Split from io/npy.cpp so that the grammar and its error messages are tested on
// their own; read_npy and write_npy are the only users.
#include <cstddef>
#include <string>

#include <tapegrad/core/tensor.hpp>

namespace tapegrad::detail {

// NumPy itself refuses headers over 10000 bytes by default; this is generous.
constexpr std::size_t kNpyMaxHeader = 1 << 20;
constexpr std::size_t kNpyMaxRank = 64;

struct NpyHeader {
  std::string descr;  // as written: '<f4', '>i2', '=f8', '|u1', ... (not yet checked)
  bool fortran_order = false;
  Shape shape;
};

// Reads the dict: exactly the keys descr, fortran_order and shape, in any order,
// quoted with ' or ", with or without a trailing comma; shape entries may carry
// Python 2's 'L' suffix. Trailing spaces, tabs, newlines and NULs are padding.
// Any other text is an Error "read_npy: <path>: malformed header: <what> at
// offset <k> in \"<excerpt>\"" (or "... missing key '<key>' ..."); a list descr
// is "read_npy: <path>: structured dtypes are not supported".
NpyHeader parse_npy_header(const std::string& text, const std::string& path);

// The prelude and dict exactly as NumPy writes them for a C-order array: format
// 1.0 (2.0 when the dict would not fit a 16-bit length), the dict padded with
// spaces and a final '\n' so that the data start on a 64-byte boundary, a
// 1-tuple written "(3,)". `descr` is written as given.
std::string encode_npy_header(const std::string& descr, const Shape& shape);

// `text` with bytes outside printable ASCII shown as '?', cut to 80 characters
// (then "..."), for error messages that quote a file's contents.
std::string npy_excerpt(const std::string& text);

}  // namespace tapegrad::detail
