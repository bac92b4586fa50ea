#include <tapegrad/io/png.hpp>

#include <cairo.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

Image Image::filled(std::size_t width, std::size_t height, Rgb colour) {
  Image image{width, height, std::vector<std::uint8_t>(width * height * 3)};
  for (std::size_t i = 0; i < width * height; ++i) {
    image.rgb[3 * i] = colour.r;
    image.rgb[3 * i + 1] = colour.g;
    image.rgb[3 * i + 2] = colour.b;
  }
  return image;
}

Rgb Image::pixel(std::size_t x, std::size_t y) const {
  if (x >= width || y >= height || rgb.size() != width * height * 3)
    fail("Image::pixel: (", x, ", ", y, ") is outside a ", width, "x", height, " image");
  const std::uint8_t* p = &rgb[3 * (y * width + x)];
  return {p[0], p[1], p[2]};
}

void Image::set_pixel(std::size_t x, std::size_t y, Rgb colour) {
  if (x >= width || y >= height || rgb.size() != width * height * 3)
    fail("Image::set_pixel: (", x, ", ", y, ") is outside a ", width, "x", height, " image");
  std::uint8_t* p = &rgb[3 * (y * width + x)];
  p[0] = colour.r;
  p[1] = colour.g;
  p[2] = colour.b;
}

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;

// The image as a cairo RGB24 surface: one native-endian 0x00RRGGBB word per pixel.
Surface to_surface(const Image& image, const std::string& path) {
  const int w = static_cast<int>(image.width), h = static_cast<int>(image.height);
  Surface s(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h));
  if (cairo_surface_status(s.get()) != CAIRO_STATUS_SUCCESS)
    fail("write_png: cairo cannot hold the ", w, "x", h, " image for '", path,
         "': ", cairo_status_to_string(cairo_surface_status(s.get())));
  unsigned char* data = cairo_image_surface_get_data(s.get());
  const std::size_t stride = static_cast<std::size_t>(cairo_image_surface_get_stride(s.get()));
  for (std::size_t y = 0; y < image.height; ++y) {
    auto* row = reinterpret_cast<std::uint32_t*>(data + y * stride);
    const std::uint8_t* p = image.rgb.data() + y * image.width * 3;
    for (std::size_t x = 0; x < image.width; ++x, p += 3)
      row[x] = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
  }
  cairo_surface_mark_dirty(s.get());
  return s;
}

// Owns the temporary file until it has been renamed over the target.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    static std::atomic<unsigned> counter{0};
    int err = 0;
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      err = errno;
      if (err != EEXIST) break;
    }
    path_.clear();
    fail("write_png: cannot create a temporary file next to '", target, "': ", errno_text(err));
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // close reports delayed write errors on some file systems, so its result matters.
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
  int fd_ = -1;
};

// cairo's PNG encoder hands its output to this callback in pieces.
struct Sink {
  int fd;
  int error = 0;  // errno of the first failed write
};

cairo_status_t write_all(void* closure, const unsigned char* data, unsigned int length) {
  auto* sink = static_cast<Sink*>(closure);
  while (length > 0) {
    ssize_t n = ::write(sink->fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      sink->error = errno;
      return CAIRO_STATUS_WRITE_ERROR;
    }
    data += n;
    length -= static_cast<unsigned int>(n);
  }
  return CAIRO_STATUS_SUCCESS;
}

// Makes the rename itself durable; best effort, the image is already complete.
void sync_directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_png(const std::string& path, const Image& image) {
  if (path.empty()) fail("write_png: the path is empty");
  if (image.width == 0 || image.height == 0)
    fail("write_png: cannot write an empty ", image.width, "x", image.height, " image to '", path, "'");
  if (image.width > kMaxPngSide || image.height > kMaxPngSide)
    fail("write_png: a ", image.width, "x", image.height, " image is larger than cairo's ", kMaxPngSide, "x",
         kMaxPngSide, " limit ('", path, "')");
  if (image.rgb.size() != image.width * image.height * 3)
    fail("write_png: a ", image.width, "x", image.height, " RGB image needs ", image.width * image.height * 3,
         " bytes but has ", image.rgb.size(), " ('", path, "')");

  const Surface surface = to_surface(image, path);  // before the disk is touched
  TempFile temp(path);
  Sink sink{temp.fd()};
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface.get(), write_all, &sink);
  if (sink.error != 0)
    fail("write_png: cannot write the temporary file for '", path, "': ", errno_text(sink.error));
  if (status != CAIRO_STATUS_SUCCESS)
    fail("write_png: cairo failed encoding '", path, "': ", cairo_status_to_string(status));
  if (::fsync(temp.fd()) != 0) fail("write_png: cannot fsync '", temp.path(), "': ", errno_text(errno));
  if (temp.close() != 0) fail("write_png: cannot close '", temp.path(), "': ", errno_text(errno));
  if (std::rename(temp.path().c_str(), path.c_str()) != 0)
    fail("write_png: cannot rename '", temp.path(), "' to '", path, "': ", errno_text(errno));
  temp.release();
  sync_directory_of(path);
}

}  // namespace tapegrad
