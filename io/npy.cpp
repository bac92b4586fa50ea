#include <tapegrad/io/npy.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include <tapegrad/core/error.hpp>
#include <tapegrad/io/npy_header.hpp>

namespace tapegrad {

using detail::npy_excerpt;

namespace {

// NpyArray holds native bytes, and the canonical dtypes say '<': one and the same
// only on a little-endian host (x86-64, AArch64), which is all tapegrad targets.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "io/npy assumes a little-endian host");

// Where a dtype's descr parts go: kind ('f', 'i', 'u', 'b') and item size.
struct Descr {
  char kind;
  std::size_t size;
};

bool parse_canonical(const std::string& d, Descr& out) {
  static const char* const known[] = {"<f4", "<f8", "|i1", "<i2", "<i4", "<i8",
                                      "|u1", "<u2", "<u4", "<u8", "|b1"};
  if (std::find(std::begin(known), std::end(known), d) == std::end(known)) return false;
  out = {d[1], static_cast<std::size_t>(d[2] - '0')};
  return true;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Reorders fortran (column-major) bytes into C order, element by element.
std::vector<char> fortran_to_c(const std::vector<char>& in, const Shape& shape, std::size_t item) {
  const std::size_t rank = shape.size(), n = in.size() / std::max<std::size_t>(item, 1);
  std::vector<char> out(in.size());
  std::vector<std::size_t> idx(rank, 0), fstride(rank, 1);
  for (std::size_t k = 1; k < rank; ++k) fstride[k] = fstride[k - 1] * shape[k - 1];
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t f = 0;
    for (std::size_t k = 0; k < rank; ++k) f += idx[k] * fstride[k];
    std::memcpy(&out[c * item], &in[f * item], item);
    for (std::size_t k = rank; k-- > 0;) {  // odometer over the C-order index
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

template <class I>
I load(const NpyArray& a, std::size_t k) {
  I v;
  std::memcpy(&v, &a.data[k * sizeof(I)], sizeof(I));
  return v;
}

std::int64_t label_at(const NpyArray& a, std::size_t k, const std::string& p) {
  switch (a.dtype[1] == 'i' ? a.dtype[2] - '0' : 10 + a.dtype[2] - '0') {
    case 1: return load<std::int8_t>(a, k);
    case 2: return load<std::int16_t>(a, k);
    case 4: return load<std::int32_t>(a, k);
    case 8: return load<std::int64_t>(a, k);
    case 11: return load<std::uint8_t>(a, k);
    case 12: return load<std::uint16_t>(a, k);
    case 14: return load<std::uint32_t>(a, k);
    default: break;
  }
  const std::uint64_t u = load<std::uint64_t>(a, k);
  if (u > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    fail(p, "label ", u, " at index ", k, " does not fit in int64");
  return static_cast<std::int64_t>(u);
}

std::string prefix(const NpyArray& a, const char* fn) {
  return std::string(fn) + ": " + (a.source.empty() ? std::string("array") : a.source) + ": ";
}

}  // namespace

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

std::size_t npy_item_size(const std::string& dtype) {
  Descr d{};
  if (!parse_canonical(dtype, d)) fail("npy: unsupported dtype '", npy_excerpt(dtype), "'");
  return d.size;
}
bool npy_is_float(const std::string& dtype) { return dtype == "<f4" || dtype == "<f8"; }
bool npy_is_integer(const std::string& dtype) {
  Descr d{};
  return parse_canonical(dtype, d) && (d.kind == 'i' || d.kind == 'u');
}

NpyArray read_npy(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail("read_npy: ", path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(file.get()), &st) != 0) fail("read_npy: ", path, ": cannot stat: ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("read_npy: ", path, ": is a directory");
  if (!S_ISREG(st.st_mode)) fail("read_npy: ", path, ": not a regular file");
  const std::size_t file_size = static_cast<std::size_t>(st.st_size);
  auto read_exact = [&](void* buf, std::size_t n, const char* what) {
    if (n && std::fread(buf, 1, n, file.get()) != n)
      fail("read_npy: ", path, ": ", std::ferror(file.get()) ? "read error in " : "unexpected end of file in ",
           what);
  };

  unsigned char pre[12] = {};
  if (file_size >= 6) read_exact(pre, 6, "the magic string");
  if (file_size < 6 || std::memcmp(pre, "\x93NUMPY", 6) != 0)
    fail("read_npy: ", path, ": not a .npy file (it does not start with \\x93NUMPY)");
  if (file_size < 10) fail("read_npy: ", path, ": truncated header (", file_size, " bytes)");
  read_exact(pre + 6, 4, "the header length");
  const int major = pre[6], minor = pre[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    fail("read_npy: ", path, ": unsupported format version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  std::size_t header_len = pre[8] | (pre[9] << 8), offset = 10;
  if (major >= 2) {
    if (file_size < 12) fail("read_npy: ", path, ": truncated header (", file_size, " bytes)");
    read_exact(pre + 10, 2, "the header length");
    header_len |= (std::size_t(pre[10]) << 16) | (std::size_t(pre[11]) << 24);
    offset = 12;
  }
  if (header_len > detail::kNpyMaxHeader) fail("read_npy: ", path, ": implausible header length ", header_len);
  if (offset + header_len > file_size)
    fail("read_npy: ", path, ": truncated header: it claims ", header_len, " bytes but the file has ",
         file_size - offset, " after the prelude");
  std::string header(header_len, '\0');
  read_exact(&header[0], header_len, "the header");

  detail::NpyHeader parsed = detail::parse_npy_header(header, path);
  const std::string& descr = parsed.descr;
  const bool fortran = parsed.fortran_order;
  Shape& shape = parsed.shape;

  // Canonicalise the byte order: '<', '>', '=' (native) and, for one byte, '|'.
  NpyArray a;
  a.source = path;
  bool swap = false;
  if (descr.size() == 3 && std::strchr("<>=|", descr[0])) {
    std::string c = descr;
    const bool one_byte = descr[2] == '1';
    c[0] = one_byte ? '|' : descr[0] == '|' ? '?' : '<';
    Descr d{};
    if (parse_canonical(c, d)) {
      a.dtype = c;
      swap = !one_byte && descr[0] == '>';
    }
  }
  if (a.dtype.empty())
    fail("read_npy: ", path, ": unsupported dtype '", npy_excerpt(descr),
         "' (supported: float32/64, int8/16/32/64, uint8/16/32/64, bool; either byte order)");
  const std::size_t item = npy_item_size(a.dtype);

  // Even a shape with a zero dimension must have a representable size once the zero is dropped.
  std::size_t count = 1;
  bool empty = false;
  for (std::size_t d : shape) {
    if (d == 0) {
      empty = true;
    } else {
      if (count > std::numeric_limits<std::size_t>::max() / item / d)
        fail("read_npy: ", path, ": absurd shape ", shape_str(shape), ": its size in bytes overflows");
      count *= d;
    }
  }
  if (empty) count = 0;
  const std::size_t need = count * item, have = file_size - offset - header_len;
  if (have < need)
    fail("read_npy: ", path, ": truncated data: shape ", shape_str(shape), " of ", descr, " needs ", need,
         " bytes, the file has ", have);
  if (have > need)
    fail("read_npy: ", path, ": ", have - need, " unexpected bytes after the data of shape ", shape_str(shape),
         " (one array per file)");
  a.data.resize(need);
  read_exact(a.data.data(), need, "the data");
  if (swap)
    for (std::size_t k = 0; k < need; k += item) std::reverse(&a.data[k], &a.data[k] + item);
  if (fortran && shape.size() > 1) a.data = fortran_to_c(a.data, shape, item);
  a.shape = std::move(shape);
  return a;
}

void write_npy(const std::string& path, const NpyArray& a) {
  Descr d{};
  if (!parse_canonical(a.dtype, d)) fail("write_npy: ", path, ": unsupported dtype '", npy_excerpt(a.dtype), "'");
  if (a.data.size() != a.size() * d.size)
    fail("write_npy: ", path, ": ", a.data.size(), " data bytes do not match shape ", shape_str(a.shape), " of ",
         a.dtype);
  const std::string head = detail::encode_npy_header(a.dtype, a.shape);

  const std::vector<char>* data = &a.data;

  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) fail("write_npy: ", path, ": cannot create a temporary file: ", std::strerror(errno));
  auto give_up = [&](const char* what) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    fail("write_npy: ", path, ": ", what, ": ", std::strerror(e));
  };
  auto write_all = [&](const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) give_up("write failed");
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  };
  write_all(head.data(), head.size());
  write_all(data->data(), data->size());
  if (::fsync(fd) != 0) give_up("fsync failed");
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) give_up("close failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) give_up("cannot rename the temporary file into place");
  // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

template <class T>
NpyArray to_npy(const xt::xarray<T>& t) {
  NpyArray a;
  a.dtype = std::is_same<T, float>::value ? "<f4" : std::is_same<T, double>::value ? "<f8" : "<i8";
  a.shape = to_shape(t.shape());
  a.data.resize(t.size() * sizeof(T));
  std::size_t k = 0;
  for (const T& v : t) std::memcpy(&a.data[sizeof(T) * k++], &v, sizeof(T));
  return a;
}

template <class T>
Tensor<T> npy_to_tensor(const NpyArray& a) {
  if (!npy_is_float(a.dtype))
    fail(prefix(a, "npy_to_tensor"), "expected a floating-point array (<f4 or <f8), got dtype ", a.dtype);
  if (a.data.size() != a.size() * npy_item_size(a.dtype))
    fail(prefix(a, "npy_to_tensor"), "data size does not match shape ", shape_str(a.shape));
  Tensor<T> t(a.shape);
  const bool f4 = a.dtype == "<f4";
  std::size_t k = 0;
  for (T& v : t) {
    if (f4) {
      float x;
      std::memcpy(&x, &a.data[4 * k++], 4);
      v = static_cast<T>(x);
    } else {
      double x;
      std::memcpy(&x, &a.data[8 * k++], 8);
      v = static_cast<T>(x);
    }
  }
  return t;
}

IndexTensor npy_to_index(const NpyArray& a) {
  const std::string p = prefix(a, "npy_to_index");
  if (npy_is_float(a.dtype)) fail(p, "dtype ", a.dtype, " is not integral (labels need an integer dtype)");
  if (a.dtype == "|b1") fail(p, "dtype |b1 (bool) is a mask, not integer labels");
  if (!npy_is_integer(a.dtype)) fail(p, "unsupported dtype '", npy_excerpt(a.dtype), "' for labels");
  const std::size_t item = npy_item_size(a.dtype);
  if (a.data.size() != a.size() * item) fail(p, "data size does not match shape ", shape_str(a.shape));
  IndexTensor t(a.shape);
  for (std::size_t k = 0; k < t.size(); ++k) t.data()[k] = label_at(a, k, p);
  return t;
}

template NpyArray to_npy<float>(const xt::xarray<float>&);
template NpyArray to_npy<double>(const xt::xarray<double>&);
template NpyArray to_npy<std::int64_t>(const xt::xarray<std::int64_t>&);
template Tensor<float> npy_to_tensor<float>(const NpyArray&);
template Tensor<double> npy_to_tensor<double>(const NpyArray&);

}  // namespace tapegrad
