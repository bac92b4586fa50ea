#include <tapegrad/io/idx.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

#include <zlib.h>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

namespace {

// Larger than any sane IDX payload (Fashion-MNIST's train images are 47 MB).
constexpr std::uint64_t kMaxPayload = std::uint64_t(1) << 31;

class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    errno = 0;
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) fail("read_idx: cannot open '", path, "': ", errno ? std::strerror(errno) : "gzopen failed");
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; returns how many arrived. A zlib error (corrupt or
  // truncated gzip) is an Error; a clean end of file is a short count.
  std::size_t read(void* dst, std::size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = gzread(f_, out + got, chunk);
      if (r < 0) fail_zlib();
      if (r == 0) {
        check_error();
        break;
      }
      got += static_cast<std::size_t>(r);
    }
    return got;
  }
  // Throws the pending zlib error, if any (gzread reports a truncated gzip
  // stream as Z_BUF_ERROR only through gzerror).
  void check_error() {
    int code = Z_OK;
    gzerror(f_, &code);
    if (code != Z_OK && code != Z_STREAM_END) fail_zlib();
  }

 private:
  [[noreturn]] void fail_zlib() {
    int code = Z_OK;
    const char* msg = gzerror(f_, &code);
    fail("read_idx: '", path_, "': corrupt or truncated gzip data (", msg ? msg : "zlib error", ")");
  }
  std::string path_;
  gzFile f_ = nullptr;
};

std::uint32_t big_endian_u32(const unsigned char* b) {
  return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | std::uint32_t(b[3]);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

IdxBytes read_idx(const std::string& path, std::size_t rank) {
  GzFile f(path);
  unsigned char head[4];
  if (f.read(head, 4) != 4) fail("read_idx: '", path, "': file too short for an IDX header");
  const std::uint32_t magic = big_endian_u32(head);
  const std::uint32_t expected = 0x800u + static_cast<std::uint32_t>(rank);
  if (magic != expected)
    fail("read_idx: '", path, "': wrong magic ", hex32(magic), ", expected ", hex32(expected),
         " (unsigned-byte IDX of rank ", rank, ")");

  IdxBytes out;
  out.dims.resize(rank);
  std::uint64_t total = 1;
  bool absurd = false;
  for (std::size_t k = 0; k < rank; ++k) {
    unsigned char b[4];
    if (f.read(b, 4) != 4) fail("read_idx: '", path, "': file ends inside the IDX header (dimension ", k, ")");
    out.dims[k] = big_endian_u32(b);
    absurd = absurd || out.dims[k] == 0;
    total *= out.dims[k];
    absurd = absurd || total > kMaxPayload;
  }
  if (absurd) fail("read_idx: '", path, "': absurd dimensions ", shape_str(out.dims), " (zero or over 2 GiB)");

  // Grow the buffer as the data arrives, reading chunks of 1 MiB, then as much
  // as already arrived (few gzread calls for a real file): a 14-byte file that
  // claims 2 GiB must not make us allocate 2 GiB.
  std::size_t got = 0;
  while (got < total) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(total - got, std::max<std::size_t>(got, std::size_t(1) << 20)));
    out.data.reserve(got + want);
    out.data.resize(got + want);
    const std::size_t r = f.read(out.data.data() + got, want);
    got += r;
    if (r < want) break;
  }
  if (got != total)
    fail("read_idx: '", path, "': short read: dimensions ", shape_str(out.dims), " need ", total,
         " data bytes, the file holds ", got);
  unsigned char extra;
  if (f.read(&extra, 1) != 0)  // also makes zlib verify the gzip trailer
    fail("read_idx: '", path, "': trailing bytes after the ", total, " data bytes of ", shape_str(out.dims));
  return out;
}

Tensor<float> load_idx_images(const std::string& path) {
  IdxBytes raw = read_idx(path, 3);
  const std::size_t n = raw.dims[0], features = raw.dims[1] * raw.dims[2];
  Tensor<float> images = Tensor<float>::from_shape({n, features});
  float* dst = images.data();
  for (std::size_t i = 0; i < raw.data.size(); ++i) dst[i] = static_cast<float>(raw.data[i]) / 255.0f;
  return images;
}

IndexTensor load_idx_labels(const std::string& path, std::int64_t num_classes) {
  IdxBytes raw = read_idx(path, 1);
  IndexTensor labels = IndexTensor::from_shape({raw.dims[0]});
  for (std::size_t i = 0; i < raw.data.size(); ++i) {
    const std::int64_t y = raw.data[i];
    if (y >= num_classes)
      fail("load_idx_labels: '", path, "': label ", y, " at index ", i, " is outside [0, ", num_classes, ")");
    labels(i) = y;
  }
  return labels;
}

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("TAPEGRAD_FASHION_MNIST_DIR");
  if (env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(const std::string& dir) {
  auto path = [&](const char* stem) {
    const std::string plain = dir + "/" + stem;
    const std::string gz = plain + ".gz";
    return !file_exists(gz) && file_exists(plain) ? plain : gz;
  };
  auto load_split = [&](const char* images_stem, const char* labels_stem, Tensor<float>& x, IndexTensor& y) {
    const std::string xp = path(images_stem), yp = path(labels_stem);
    x = load_idx_images(xp);
    y = load_idx_labels(yp, 10);
    if (x.shape(0) != y.size())
      fail("load_fashion_mnist: '", xp, "' holds ", x.shape(0), " images but '", yp, "' holds ", y.size(),
           " labels");
  };
  Dataset d;
  load_split("train-images-idx3-ubyte", "train-labels-idx1-ubyte", d.train_images, d.train_labels);
  load_split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", d.test_images, d.test_labels);
  if (d.train_images.shape(1) != d.test_images.shape(1))
    fail("load_fashion_mnist: '", path("t10k-images-idx3-ubyte"), "' has ", d.test_images.shape(1),
         " pixels per image but the training images have ", d.train_images.shape(1));
  return d;
}

Tensor<float> center(Tensor<float>& train, Tensor<float>& test) {
  if (train.dimension() != 2 || test.dimension() != 2 || train.shape(1) != test.shape(1))
    fail("center: expects train (N, D) and test (M, D), got ", shape_str(train.shape()), " and ",
         shape_str(test.shape()));
  const std::size_t n = train.shape(0), d = train.shape(1);
  if (n == 0) fail("center: train ", shape_str(train.shape()), " has no rows to take a mean over");
  // Accumulate in double: 60000 float additions per pixel would lose digits.
  std::vector<double> sum(d, 0.0);
  const float* x = train.data();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) sum[j] += x[i * d + j];
  Tensor<float> mean = Tensor<float>::from_shape({d});
  for (std::size_t j = 0; j < d; ++j) mean(j) = static_cast<float>(sum[j] / static_cast<double>(n));
  auto subtract = [&](Tensor<float>& t) {
    float* p = t.data();
    const std::size_t rows = t.shape(0);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < d; ++j) p[i * d + j] -= mean(j);
  };
  subtract(train);
  subtract(test);
  return mean;
}

}  // namespace tapegrad
