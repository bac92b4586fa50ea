#pragma once
// 8-bit RGB images and an atomic PNG writer (cairo encodes): a reader of the target
// path sees either the old file or the complete new one, never a partial image.
// io/plot.hpp draws charts and image grids into an Image.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tapegrad {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(Rgb a, Rgb c) { return a.r == c.r && a.g == c.g && a.b == c.b; }
  friend bool operator!=(Rgb a, Rgb c) { return !(a == c); }
};

// Row-major, top row first, 3 bytes (r, g, b) per pixel: rgb.size() == width * height * 3.
struct Image {
  std::size_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;

  static Image filled(std::size_t width, std::size_t height, Rgb colour);
  // Bounds-checked access; throws tapegrad::Error outside the image.
  Rgb pixel(std::size_t x, std::size_t y) const;
  void set_pixel(std::size_t x, std::size_t y, Rgb colour);
};

// The largest width and height write_png takes (cairo's image surface limit).
constexpr std::size_t kMaxPngSide = 32767;

// Writes `image` as an 8-bit RGB PNG: encodes into a temporary file next to `path`,
// fsyncs it, then renames it over `path`. On any failure the temporary file is
// removed, `path` is untouched, and tapegrad::Error names the file.
void write_png(const std::string& path, const Image& image);

}  // namespace tapegrad
