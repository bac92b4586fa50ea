#pragma once
// The raster primitives io/plot draws with: clipped rectangle fills, text
// (stb_easy_font's integer quads, scaled up) and anti-aliased lines rasterised
// to a coverage mask and blended in.
#include <cstddef>
#include <string>
#include <vector>

#include "io/png.hpp"

namespace tapegrad {

// Fills [x0, x1) x [y0, y1); pixels outside the image are clipped.
void fill_rect(Image& image, long x0, long y0, long x1, long y1, Rgb colour);

// ---- text ----

// Ink width and height of `text` drawn at `scale` (stb_easy_font units times scale).
std::size_t text_width(const std::string& text, std::size_t scale);
std::size_t text_height(std::size_t scale);  // cap height plus descender
// Draws `text` with its top-left ink corner at (x, y); characters outside printable
// ASCII are drawn as '?'. Pixels outside the image are clipped.
void draw_text(Image& image, long x, long y, const std::string& text, Rgb colour, std::size_t scale);
// Draws `text` reading upwards (rotated 90° counter-clockwise), its baseline side
// to the right: its ink box is [x, x + text_height) x [y, y + text_width), with the
// first character at the bottom.
void draw_text_up(Image& image, long x, long y, const std::string& text, Rgb colour, std::size_t scale);
// Draws `text` with its top at y, centred on the column cx (rounded to a pixel).
void draw_text_centred(Image& image, double cx, long y, const std::string& text, Rgb colour, std::size_t scale);

// ---- lines ----

// Per-pixel coverage in [0, 1] of a w x h region, for anti-aliasing: pixel (x, y)
// covers the square [x, x + 1) x [y, y + 1), whose centre is (x + 0.5, y + 0.5).
struct Coverage {
  std::size_t w = 0, h = 0;
  std::vector<float> a;  // row-major, w * h

  Coverage(std::size_t width, std::size_t height) : w(width), h(height), a(width * height, 0.0f) {}
  // Raises pixel (x, y) to at least c.
  void mark(long x, long y, double c);
  // The capsule of radius r around the segment (ax, ay)-(bx, by): a pixel whose
  // centre is at distance d gets min(1, r + 0.5 - d) when d < r + 0.5. A segment of
  // zero length is a dot of radius r. Pixels outside the region are skipped.
  void segment(double ax, double ay, double bx, double by, double r);
};

// Blends `colour` over the image with the coverage as alpha, the region's top-left
// pixel at (x0, y0): p = round(p·(1 − a) + colour·a). The region must lie inside
// the image.
void blend(Image& image, long x0, long y0, const Coverage& coverage, Rgb colour);

}  // namespace tapegrad
