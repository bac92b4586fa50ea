#include "io/png.hpp"

#include <fcntl.h>
#include <png.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "core/error.hpp"

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

// libpng reports errors through a callback that must not return. We longjmp back into
// encode() (libpng is C: unwinding a C++ exception through its frames is not allowed),
// so the callbacks copy the message into this plain struct first.
struct PngStatus {
  char error[256];
  char warning[256];
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* status = static_cast<PngStatus*>(png_get_error_ptr(png));
  std::snprintf(status->error, sizeof status->error, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp png, png_const_charp message) {
  auto* status = static_cast<PngStatus*>(png_get_error_ptr(png));
  if (status->warning[0] == '\0') std::snprintf(status->warning, sizeof status->warning, "%s", message);
}

// Plain C on purpose: between setjmp and a longjmp no object with a destructor may live
// in this frame, and `png`/`info` are not modified after setjmp (so need no volatile).
bool encode(std::FILE* fp, const Image& image, PngStatus* status) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, status, on_png_error, on_png_warning);
  if (png == nullptr) {
    std::snprintf(status->error, sizeof status->error, "cannot create the libpng write struct");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(status->error, sizeof status->error, "cannot create the libpng info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, fp);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const std::size_t stride = image.width * 3;
  for (std::size_t y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.rgb.data() + y * stride));  // libpng does not write to it
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Owns the temporary file until it has been renamed over the target.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    static std::atomic<unsigned> counter{0};
    int err = 0;
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
      int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        fp_ = ::fdopen(fd, "wb");
        if (fp_ == nullptr) {
          int err = errno;
          ::close(fd);
          ::unlink(path_.c_str());
          fail("write_png: cannot open a stream on the temporary file for '", target, "': ", errno_text(err));
        }
        return;
      }
      err = errno;
      if (err != EEXIST) break;
    }
    fail("write_png: cannot create a temporary file next to '", target, "': ", errno_text(err));
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fp_ != nullptr) std::fclose(fp_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  std::FILE* stream() const { return fp_; }
  const std::string& path() const { return path_; }
  // fclose reports delayed write errors (e.g. a full disk), so its result matters.
  int close() {
    int rc = std::fclose(fp_);
    fp_ = nullptr;
    return rc;
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
  std::FILE* fp_ = nullptr;
};

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
  if (image.width > PNG_UINT_31_MAX || image.height > PNG_UINT_31_MAX)
    fail("write_png: ", image.width, "x", image.height, " is too large for PNG ('", path, "')");
  if (image.rgb.size() != image.width * image.height * 3)
    fail("write_png: a ", image.width, "x", image.height, " RGB image needs ", image.width * image.height * 3,
         " bytes but has ", image.rgb.size(), " ('", path, "')");

  TempFile temp(path);
  PngStatus status{};
  if (!encode(temp.stream(), image, &status)) {
    std::string detail = status.error;
    if (status.warning[0] != '\0') detail += std::string(" (") + status.warning + ")";
    fail("write_png: libpng failed writing '", path, "': ", detail);
  }
  if (std::fflush(temp.stream()) != 0) fail("write_png: cannot flush '", temp.path(), "': ", errno_text(errno));
  if (::fsync(::fileno(temp.stream())) != 0)
    fail("write_png: cannot fsync '", temp.path(), "': ", errno_text(errno));
  if (temp.close() != 0) fail("write_png: cannot close '", temp.path(), "': ", errno_text(errno));
  if (std::rename(temp.path().c_str(), path.c_str()) != 0)
    fail("write_png: cannot rename '", temp.path(), "' to '", path, "': ", errno_text(errno));
  temp.release();
  sync_directory_of(path);
}

}  // namespace tapegrad
