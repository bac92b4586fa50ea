#include "io/raster.hpp"

#include <algorithm>
#include <cmath>

// stb_easy_font (v1.1) is header-only with every function static: nothing to define,
// but the functions we do not call would warn.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace tapegrad {
namespace {

struct Quad {
  long x0, y0, x1, y1;  // font units; stb_easy_font emits integer, axis-aligned quads
};

std::vector<Quad> text_quads(const std::string& text) {
  std::string s = text;
  for (char& ch : s)  // the font covers printable ASCII only; others would index outside its tables
    if (ch < 32 || ch > 126) ch = '?';
  std::vector<char> buffer((s.size() + 1) * 12 * 64);  // at most 11 quads of 64 bytes per character
  int n = stb_easy_font_print(0, 0, s.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  std::vector<Quad> quads(static_cast<std::size_t>(n));
  for (int q = 0; q < n; ++q) {  // vertex 0 is the top-left corner, vertex 2 the bottom-right
    const float* v0 = reinterpret_cast<const float*>(buffer.data() + q * 64);
    const float* v2 = reinterpret_cast<const float*>(buffer.data() + q * 64 + 32);
    quads[static_cast<std::size_t>(q)] = {std::lround(v0[0]), std::lround(v0[1]), std::lround(v2[0]),
                                          std::lround(v2[1])};
  }
  return quads;
}

}  // namespace

void fill_rect(Image& img, long x0, long y0, long x1, long y1, Rgb c) {
  x0 = std::max(x0, 0L), y0 = std::max(y0, 0L);
  x1 = std::min(x1, static_cast<long>(img.width)), y1 = std::min(y1, static_cast<long>(img.height));
  for (long y = y0; y < y1; ++y)
    for (long x = x0; x < x1; ++x) {
      std::uint8_t* p = &img.rgb[3 * (static_cast<std::size_t>(y) * img.width + static_cast<std::size_t>(x))];
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
}

// ---- text ----

std::size_t text_width(const std::string& text, std::size_t scale) {
  long w = 0;
  for (const Quad& q : text_quads(text)) w = std::max(w, q.x1);
  return static_cast<std::size_t>(w) * scale;
}

std::size_t text_height(std::size_t scale) { return 9 * scale; }

void draw_text(Image& image, long x, long y, const std::string& text, Rgb colour, std::size_t scale) {
  const long s = static_cast<long>(scale);
  for (const Quad& q : text_quads(text)) fill_rect(image, x + q.x0 * s, y + q.y0 * s, x + q.x1 * s, y + q.y1 * s, colour);
}

// Font (u, v) goes to (x + v, bottom − u): the text ends at y and starts at y + width.
void draw_text_up(Image& img, long x, long y, const std::string& text, Rgb c, std::size_t scale) {
  const long s = static_cast<long>(scale), bottom = y + static_cast<long>(text_width(text, scale));
  for (const Quad& q : text_quads(text)) fill_rect(img, x + q.y0 * s, bottom - q.x1 * s, x + q.y1 * s, bottom - q.x0 * s, c);
}

void draw_text_centred(Image& img, double cx, long y, const std::string& text, Rgb c, std::size_t scale) {
  draw_text(img, std::lround(cx - static_cast<double>(text_width(text, scale)) / 2), y, text, c, scale);
}

// ---- lines ----

void Coverage::mark(long x, long y, double c) {
  float& v = a[static_cast<std::size_t>(y) * w + static_cast<std::size_t>(x)];
  v = std::max(v, static_cast<float>(c));
}

// Coverage = r + 0.5 − distance: a box filter's area, approximately, for a pixel the edge crosses.
void Coverage::segment(double ax, double ay, double bx, double by, double r) {
  long x0 = std::max(0L, static_cast<long>(std::floor(std::min(ax, bx) - r - 1)));
  long x1 = std::min(static_cast<long>(w), static_cast<long>(std::ceil(std::max(ax, bx) + r + 1)));
  long y0 = std::max(0L, static_cast<long>(std::floor(std::min(ay, by) - r - 1)));
  long y1 = std::min(static_cast<long>(h), static_cast<long>(std::ceil(std::max(ay, by) + r + 1)));
  double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  for (long y = y0; y < y1; ++y)
    for (long x = x0; x < x1; ++x) {
      double px = x + 0.5 - ax, py = y + 0.5 - ay;
      double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
      double d = std::hypot(px - t * dx, py - t * dy);
      if (d < r + 0.5) mark(x, y, std::min(1.0, r + 0.5 - d));
    }
}

void blend(Image& img, long x0, long y0, const Coverage& cov, Rgb c) {
  for (std::size_t i = 0; i < cov.w * cov.h; ++i) {
    const float a = cov.a[i];
    if (a <= 0) continue;
    std::uint8_t* p = &img.rgb[3 * ((static_cast<std::size_t>(y0) + i / cov.w) * img.width +
                                    static_cast<std::size_t>(x0) + i % cov.w)];
    p[0] = static_cast<std::uint8_t>(std::lround(p[0] * (1 - a) + c.r * a));
    p[1] = static_cast<std::uint8_t>(std::lround(p[1] * (1 - a) + c.g * a));
    p[2] = static_cast<std::uint8_t>(std::lround(p[2] * (1 - a) + c.b * a));
  }
}

}  // namespace tapegrad
