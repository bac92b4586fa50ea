#include <tapegrad/io/plot.hpp>

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <tapegrad/core/error.hpp>
#include <tapegrad/io/draw.hpp>

namespace tapegrad {

// From io/draw.hpp: the canvas and the look charts and grids share.
using detail::Align, detail::Canvas, detail::Font;
using detail::kInk, detail::kPad, detail::kTitleFont, detail::kWhite, detail::pixels, detail::title_band;

namespace {

constexpr Rgb kTileBorder{200, 200, 200};
constexpr Font kCaptionFont{false, 13};
constexpr double kCaptionGap = 8;  // between a tile and its caption

GridLayout layout_of(std::size_t count, std::size_t rows, std::size_t cols, const std::vector<std::string>& names,
                     const ImageGridOptions& o, const Canvas& m) {
  if (count == 0 || rows == 0 || cols == 0)
    fail("image_grid: need at least one non-empty tile, got ", count, " tiles of ", rows, "x", cols);
  if (o.columns == 0 || o.scale == 0) fail("image_grid: columns and scale must be positive, got ", o.columns, " and ", o.scale);
  if (!names.empty() && names.size() != count)
    fail("image_grid: ", names.size(), " names for ", count, " tiles (give one per tile, or none)");
  GridLayout g;
  g.columns = std::min(o.columns, count);
  g.tile_width = cols * o.scale, g.tile_height = rows * o.scale;
  double caption_w = 0;
  for (const std::string& n : names) caption_w = std::max(caption_w, m.width(n, kCaptionFont));
  g.cell_width = std::max(g.tile_width, pixels(caption_w) + 4);
  g.cell_height = g.tile_height + (names.empty() ? 0 : pixels(kCaptionGap + m.cap(kCaptionFont) + m.descent(kCaptionFont)));
  g.gap = 20;
  g.top = pixels(title_band(o.title, m.cap(kTitleFont), 20));
  const std::size_t grid_rows = (count + g.columns - 1) / g.columns;
  const std::size_t grid_w = g.columns * g.cell_width + (g.columns - 1) * g.gap;
  g.width = std::max(grid_w + 40, pixels(m.width(o.title, kTitleFont)) + 40);
  g.margin = (g.width - grid_w) / 2;
  g.height = g.top + grid_rows * g.cell_height + (grid_rows - 1) * g.gap + 20;
  if (g.width > 20000 || g.height > 20000)
    fail("image_grid: a ", g.width, "x", g.height, " image is too large (reduce scale or columns)");
  return g;
}

}  // namespace

Rgb colormap_colour(Colormap map, double t) {
  t = std::isnan(t) ? 0.5 : std::clamp(t, 0.0, 1.0);
  if (map == Colormap::gray) {
    auto v = static_cast<std::uint8_t>(std::lround(t * 255));
    return {v, v, v};
  }
  // ColorBrewer RdBu (11 classes), reversed so that negative is blue and positive red.
  static const Rgb rdbu[] = {{5, 48, 97},     {33, 102, 172}, {67, 147, 195}, {146, 197, 222},
                             {209, 229, 240}, {247, 247, 247}, {253, 219, 199}, {244, 165, 130},
                             {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};
  double pos = t * 10;
  auto i = std::min<std::size_t>(static_cast<std::size_t>(pos), 9);
  double u = pos - static_cast<double>(i);
  auto mix = [u](std::uint8_t a, std::uint8_t b) { return static_cast<std::uint8_t>(std::lround(a + (b - a) * u)); };
  return {mix(rdbu[i].r, rdbu[i + 1].r), mix(rdbu[i].g, rdbu[i + 1].g), mix(rdbu[i].b, rdbu[i + 1].b)};
}

std::size_t GridLayout::origin_x(std::size_t i) const {
  return margin + (i % columns) * (cell_width + gap) + (cell_width - tile_width) / 2;
}
std::size_t GridLayout::origin_y(std::size_t i) const { return top + (i / columns) * (cell_height + gap); }

GridLayout grid_layout(std::size_t count, std::size_t rows, std::size_t cols, const std::vector<std::string>& names,
                       const ImageGridOptions& o) {
  const Canvas measure(1, 1, "image_grid");
  return layout_of(count, rows, cols, names, o, measure);
}

template <class T>
Image image_grid(const Tensor<T>& tiles, const std::vector<std::string>& names, const ImageGridOptions& o) {
  if (tiles.dimension() != 3)
    fail("image_grid: expected tiles of shape (count, rows, cols), got ", shape_str(tiles.shape()));
  const std::size_t count = tiles.shape()[0], rows = tiles.shape()[1], cols = tiles.shape()[2];
  const GridLayout g = grid_layout(count, rows, cols, names, o);
  for (std::size_t i = 0; i < count; ++i)  // every check before drawing
    for (std::size_t k = 0; k < rows * cols; ++k)
      if (const T v = tiles.data()[i * rows * cols + k]; !std::isfinite(static_cast<double>(v)))
        fail("image_grid: tile ", i, " has the non-finite value ", v, " at (", k / cols, ", ", k % cols, ")");

  Canvas c(g.width, g.height, "image_grid");
  c.paint(kWhite);
  c.text(static_cast<double>(g.width) / 2, kPad, o.title, kTitleFont, kInk, Align::centre);
  // Each tile is a rows x cols surface of colormap colours, upscaled by nearest neighbour.
  Canvas tile(cols, rows, "image_grid");
  for (std::size_t i = 0; i < count; ++i) {
    const T* v = tiles.data() + i * rows * cols;
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t k = 0; k < rows * cols; ++k)
      lo = std::min(lo, static_cast<double>(v[k])), hi = std::max(hi, static_cast<double>(v[k]));
    // gray: min -> 0, max -> 1. diverging: 0 -> 0.5 and the larger |value| -> 0 or 1,
    // so the colour's side always tells the sign. A constant tile is mid-gray / neutral.
    const double amax = std::max(std::fabs(lo), std::fabs(hi));
    auto level = [&](double x) {
      if (o.colormap == Colormap::gray) return hi > lo ? (x - lo) / (hi - lo) : 0.5;
      return amax > 0 ? 0.5 + 0.5 * x / amax : 0.5;
    };
    tile.flush();
    for (std::size_t k = 0; k < rows * cols; ++k)
      tile.put(k % cols, k / cols, colormap_colour(o.colormap, level(static_cast<double>(v[k]))));
    tile.dirty();

    const auto x0 = static_cast<double>(g.origin_x(i)), y0 = static_cast<double>(g.origin_y(i));
    const auto tw = static_cast<double>(g.tile_width), th = static_cast<double>(g.tile_height);
    c.rect(x0 - 1, y0 - 1, x0 + tw + 1, y0 + th + 1, kTileBorder);
    cairo_t* cr = c.cr();
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, static_cast<double>(o.scale), static_cast<double>(o.scale));
    cairo_set_source_surface(cr, tile.surface(), 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, static_cast<double>(cols), static_cast<double>(rows));
    cairo_fill(cr);
    cairo_restore(cr);
    if (!names.empty()) c.text(x0 + tw / 2, y0 + th + kCaptionGap, names[i], kCaptionFont, kInk, Align::centre);
  }
  return c.image();
}

template Image image_grid<float>(const Tensor<float>&, const std::vector<std::string>&, const ImageGridOptions&);
template Image image_grid<double>(const Tensor<double>&, const std::vector<std::string>&, const ImageGridOptions&);

}  // namespace tapegrad
