#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), written here rather than
// through xtensor's xnpy.hpp: that reader depends on the header's key order,
// does not check the data length against the file, and its messages name
// neither the file nor the problem. This one never misreads: a truncated file,
// a malformed header, an unsupported dtype or an absurd shape is a
// tapegrad::Error that starts with "read_npy: <path>: ".
//
// The writer is atomic: it writes a temporary file in the target's directory,
// fsyncs it and renames it over the target. On any failure the temporary file
// is removed, and the target is left as it was (absent if it was absent).
#include <cstddef>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

// An array as read from (or to be written to) a .npy file: C (row-major) order,
// native little-endian bytes, whatever the file's byte order and fortran_order.
// dtype is the canonical NumPy descr: "<f4" "<f8" "|i1" "<i2" "<i4" "<i8"
// "|u1" "<u2" "<u4" "<u8" or "|b1".
struct NpyArray {
  std::string dtype;
  Shape shape;
  std::vector<char> data;
  std::string source;  // the file it came from, for error messages ("" if none)

  std::size_t size() const;  // number of elements: the product of shape
};

// Size in bytes of one element of a canonical dtype; an Error for any other.
std::size_t npy_item_size(const std::string& dtype);
bool npy_is_float(const std::string& dtype);    // <f4 <f8
bool npy_is_integer(const std::string& dtype);  // signed or unsigned, not bool

// A big-endian file is byte-swapped; fortran_order True is transposed to C order.
NpyArray read_npy(const std::string& path);

// Writes `array` (its dtype must be canonical and data.size() must match shape).
void write_npy(const std::string& path, const NpyArray& array);

// T = float, double or std::int64_t (<f4, <f8, <i8).
template <class T>
NpyArray to_npy(const xt::xarray<T>& tensor);
template <class T>
void write_npy(const std::string& path, const xt::xarray<T>& tensor) {
  write_npy(path, to_npy(tensor));
}

// T = float or double. Accepts <f4 and <f8 (converting between them, as
// NumPy's astype does); any other dtype is an Error naming the array's source.
template <class T>
Tensor<T> npy_to_tensor(const NpyArray& array);

// Labels: any integer dtype, converted to int64. Floating-point arrays are
// refused as not integral, bool arrays as masks rather than labels, and
// uint64 values above INT64_MAX as out of range.
IndexTensor npy_to_index(const NpyArray& array);

}  // namespace tapegrad
