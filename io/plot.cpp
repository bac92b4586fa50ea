#include "io/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"

namespace tapegrad {
namespace {

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{35, 35, 35};
constexpr Rgb kFrame{120, 120, 120};
constexpr Rgb kGrid{228, 228, 228};
constexpr std::size_t kText = 2;    // labels, ticks, captions
constexpr std::size_t kTitle = 3;   // titles
constexpr long kCap = 7;            // stb_easy_font cap height in font units
constexpr long kTick = 5;           // tick mark length
constexpr long kPad = 14;

// ---- nice numbers ----

struct Nice {
  double mantissa;  // 1, 2 or 5
  int exponent;
  // k * mantissa * 10^exponent, dividing by an exact power of ten so 40*2/100 is 0.8.
  double times(double k) const {
    double v = k * mantissa;
    return exponent >= 0 ? v * std::pow(10.0, exponent) : v / std::pow(10.0, -exponent);
  }
};

// Heckbert's nice number: 1, 2 or 5 times a power of ten, near x.
Nice nice_step(double x) {
  int e = static_cast<int>(std::floor(std::log10(x)));
  double f = x / std::pow(10.0, e);
  double m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  if (m == 10) m = 1, ++e;
  return {m, e};
}

std::vector<double> ticks_with_step(double lo, double hi, std::size_t target, Nice& step) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !std::isfinite(hi - lo) || lo > hi)
    fail("nice_ticks: need a finite range lo <= hi, got [", lo, ", ", hi, "]");
  if (hi - lo <= 1e-12 * std::max(std::fabs(lo), std::fabs(hi))) {  // one value: show a range around it
    double d = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= d, hi += d;
  }
  step = nice_step((hi - lo) / static_cast<double>(std::max<std::size_t>(target, 2) - 1));
  double unit = step.times(1);
  double first = std::floor(lo / unit + 1e-9), last = std::ceil(hi / unit - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; ++k) ticks.push_back(k == 0 ? 0.0 : step.times(k));
  return ticks;
}

// Ticks inside [lo, hi] (data range plus margins), with the step that produced them.
std::vector<double> inner_ticks(double lo, double hi, std::size_t target, double& step_out) {
  Nice step{};
  std::vector<double> all = ticks_with_step(lo, hi, target, step), inside;
  step_out = step.times(1);
  for (double t : all)
    if (t >= lo - 1e-9 * step_out && t <= hi + 1e-9 * step_out) inside.push_back(t);
  return inside;
}

long max_label_width(const std::vector<double>& ticks, double step) {
  long w = 0;
  for (double t : ticks) w = std::max(w, static_cast<long>(text_width(format_tick(t, step), kText)));
  return w;
}

}  // namespace

// ---- ticks ----

std::vector<double> nice_ticks(double lo, double hi, std::size_t target) {
  Nice step{};
  return ticks_with_step(lo, hi, target, step);
}

std::string format_tick(double value, double step) {
  if (!(step > 0) || !std::isfinite(value)) fail("format_tick: need a finite value and a step > 0, got ", value, ", ", step);
  if (std::fabs(value) < step * 1e-6) value = 0;  // no "-0.00"
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char buf[64];
  if (std::fabs(value) >= 1e7 || decimals > 8)
    std::snprintf(buf, sizeof buf, "%.4g", value);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

Rgb series_colour(std::size_t i) {
  static const Rgb palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return palette[i % 10];
}

// ---- line charts ----

ChartFrame chart_frame(const std::vector<Series>& series, const LineChartOptions& o) {
  if (series.empty()) fail("line_chart: no series to plot");
  if (o.width < 240 || o.height < 180 || o.width > 20000 || o.height > 20000)
    fail("line_chart: a ", o.width, "x", o.height, " chart is outside 240x180 .. 20000x20000");
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : series) {
    if (s.x.size() != s.y.size())
      fail("line_chart: series '", s.name, "' has ", s.x.size(), " x values but ", s.y.size(), " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
        y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
      }
  }
  if (x_lo > x_hi) fail("line_chart: no series has a point with finite x and y");
  const bool fixed_lo = !std::isnan(o.y_min), fixed_hi = !std::isnan(o.y_max);
  if ((fixed_lo && !std::isfinite(o.y_min)) || (fixed_hi && !std::isfinite(o.y_max)) ||
      (fixed_lo && fixed_hi && !(o.y_min < o.y_max)))
    fail("line_chart: fixed y range [", o.y_min, ", ", o.y_max, "] is not a finite range with y_min < y_max");
  if (fixed_lo) y_lo = o.y_min;
  if (fixed_hi) y_hi = o.y_max;
  if (y_lo >= y_hi) {  // constant data, or a fixed bound on the wrong side of it
    double d = y_lo == 0 ? 1.0 : std::fabs(y_lo) * 0.1;
    if (!fixed_lo) y_lo -= d;
    if (!fixed_hi || y_lo >= y_hi) y_hi = y_lo + 2 * d;
  }
  if (x_lo == x_hi) x_lo -= 1, x_hi += 1;
  // Margins like matplotlib's: 3% of the span on each side, unless the bound is fixed.
  ChartFrame f;
  double x_pad = 0.03 * (x_hi - x_lo), y_pad = 0.05 * (y_hi - y_lo);
  f.x_min = x_lo - x_pad, f.x_max = x_hi + x_pad;
  f.y_min = fixed_lo ? y_lo : y_lo - y_pad, f.y_max = fixed_hi ? y_hi : y_hi + y_pad;

  const long text_h = static_cast<long>(text_height(kText)), cap = kCap * static_cast<long>(kText);
  f.top = static_cast<double>(o.title.empty() ? 24 : kPad + kCap * static_cast<long>(kTitle) + 2 * kPad);
  long bottom_margin = kTick + 8 + cap + (o.x_label.empty() ? 0 : 14 + text_h) + kPad;
  f.bottom = static_cast<double>(static_cast<long>(o.height) - bottom_margin);
  auto y_target = static_cast<std::size_t>(std::max(4.0, (f.bottom - f.top) / 55));
  f.y_ticks = inner_ticks(f.y_min, f.y_max, y_target, f.y_step);
  f.left = static_cast<double>(kPad + (o.y_label.empty() ? 0 : text_h + 12) + max_label_width(f.y_ticks, f.y_step) +
                               8 + kTick);
  f.right = static_cast<double>(o.width) - 30;
  auto x_target = static_cast<std::size_t>(std::max(4.0, (f.right - f.left) / 80));
  f.x_ticks = inner_ticks(f.x_min, f.x_max, x_target, f.x_step);
  return f;
}

Image line_chart(const std::vector<Series>& series, const LineChartOptions& o) {
  const ChartFrame f = chart_frame(series, o);
  Image img = Image::filled(o.width, o.height, kWhite);
  const long L = std::lround(f.left), T = std::lround(f.top), R = std::lround(f.right), B = std::lround(f.bottom);
  const long cap = kCap * static_cast<long>(kText);
  auto col = [&](double x) { return std::clamp(static_cast<long>(std::floor(f.x_to_px(x))), L, R - 1); };
  auto row = [&](double y) { return std::clamp(static_cast<long>(std::floor(f.y_to_px(y))), T, B - 1); };

  for (double t : f.x_ticks) {
    fill_rect(img, col(t), T, col(t) + 1, B, kGrid);
    fill_rect(img, col(t), B + 1, col(t) + 1, B + 1 + kTick, kFrame);
    draw_text_centred(img, col(t) + 0.5, B + 1 + kTick + 8, format_tick(t, f.x_step), kInk, kText);
  }
  for (double t : f.y_ticks) {
    fill_rect(img, L, row(t), R, row(t) + 1, kGrid);
    fill_rect(img, L - 1 - kTick, row(t), L - 1, row(t) + 1, kFrame);
    std::string label = format_tick(t, f.y_step);
    long w = static_cast<long>(text_width(label, kText));
    draw_text(img, L - 1 - kTick - 8 - w, row(t) - cap / 2, label, kInk, kText);
  }
  fill_rect(img, L - 1, T - 1, R + 1, T, kFrame);
  fill_rect(img, L - 1, B, R + 1, B + 1, kFrame);
  fill_rect(img, L - 1, T - 1, L, B + 1, kFrame);
  fill_rect(img, R, T - 1, R + 1, B + 1, kFrame);

  // Each series is rasterised to a coverage mask over the plot area, then blended in.
  const std::size_t pw = static_cast<std::size_t>(R - L), ph = static_cast<std::size_t>(B - T);
  std::vector<float> occupied(pw * ph, 0.0f);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    Coverage cov(pw, ph);
    const bool markers = s.x.size() <= o.max_points_with_markers;
    bool have_prev = false;
    double px = 0, py = 0;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      double x = f.x_to_px(s.x[i]) - L, y = f.y_to_px(s.y[i]) - T;
      if (!std::isfinite(x) || !std::isfinite(y) || std::fabs(x) > 1e7 || std::fabs(y) > 1e7) {
        have_prev = false;  // a gap in the data breaks the line
        continue;
      }
      if (have_prev) cov.segment(px, py, x, y, 1.0);
      if (markers) cov.segment(x, y, x, y, 3.0);
      px = x, py = y, have_prev = true;
    }
    for (std::size_t i = 0; i < pw * ph; ++i) occupied[i] = std::max(occupied[i], cov.a[i]);
    blend(img, L, T, cov, series_colour(k));
  }

  // Legend: in the corner of the plot area that covers the least of the curves.
  long name_w = 0;
  for (const Series& s : series) name_w = std::max(name_w, static_cast<long>(text_width(s.name, kText)));
  if (name_w > 0) {
    const long line_h = cap + 12, swatch = 28;
    const long lw = 12 + swatch + 10 + name_w + 12, lh = 10 + static_cast<long>(series.size()) * line_h;
    long best_x = R - 10 - lw, best_y = T + 10;
    double best = INFINITY;
    for (int corner = 0; corner < 4; ++corner) {
      long x0 = corner % 2 == 0 ? R - 10 - lw : L + 10, y0 = corner < 2 ? T + 10 : B - 10 - lh;
      double cost = 0;
      for (long y = std::max(y0, T); y < std::min(y0 + lh, B); ++y)
        for (long x = std::max(x0, L); x < std::min(x0 + lw, R); ++x)
          cost += occupied[static_cast<std::size_t>(y - T) * pw + static_cast<std::size_t>(x - L)];
      if (cost < best - 1e-9) best = cost, best_x = x0, best_y = y0;
    }
    fill_rect(img, best_x, best_y, best_x + lw, best_y + lh, kFrame);
    fill_rect(img, best_x + 1, best_y + 1, best_x + lw - 1, best_y + lh - 1, kWhite);
    for (std::size_t k = 0; k < series.size(); ++k) {
      long y = best_y + 10 + static_cast<long>(k) * line_h;
      fill_rect(img, best_x + 12, y + cap / 2 - 1, best_x + 12 + swatch, y + cap / 2 + 2, series_colour(k));
      draw_text(img, best_x + 12 + swatch + 10, y, series[k].name, kInk, kText);
    }
  }

  if (!o.title.empty()) draw_text_centred(img, o.width / 2.0, kPad, o.title, kInk, kTitle);
  if (!o.x_label.empty()) draw_text_centred(img, (L + R) / 2.0, B + 1 + kTick + 8 + cap + 14, o.x_label, kInk, kText);
  if (!o.y_label.empty()) {
    long w = static_cast<long>(text_width(o.y_label, kText));
    draw_text_up(img, kPad, std::lround((T + B) / 2.0 - w / 2.0), o.y_label, kInk, kText);
  }
  return img;
}

// ---- image grids ----

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
  if (count == 0 || rows == 0 || cols == 0)
    fail("image_grid: need at least one non-empty tile, got ", count, " tiles of ", rows, "x", cols);
  if (o.columns == 0 || o.scale == 0) fail("image_grid: columns and scale must be positive, got ", o.columns, " and ", o.scale);
  if (!names.empty() && names.size() != count)
    fail("image_grid: ", names.size(), " names for ", count, " tiles (give one per tile, or none)");
  GridLayout g;
  g.columns = std::min(o.columns, count);
  g.tile_width = cols * o.scale, g.tile_height = rows * o.scale;
  std::size_t caption_w = 0;
  for (const std::string& n : names) caption_w = std::max(caption_w, text_width(n, kText));
  g.cell_width = std::max(g.tile_width, caption_w + 4);
  g.cell_height = g.tile_height + (names.empty() ? 0 : 10 + text_height(kText));
  g.gap = 20;
  g.top = o.title.empty() ? 20 : static_cast<std::size_t>(kPad + kCap * static_cast<long>(kTitle) + 2 * kPad);
  const std::size_t grid_rows = (count + g.columns - 1) / g.columns;
  const std::size_t grid_w = g.columns * g.cell_width + (g.columns - 1) * g.gap;
  g.width = std::max(grid_w + 40, text_width(o.title, kTitle) + 40);
  g.margin = (g.width - grid_w) / 2;
  g.height = g.top + grid_rows * g.cell_height + (grid_rows - 1) * g.gap + 20;
  if (g.width > 20000 || g.height > 20000)
    fail("image_grid: a ", g.width, "x", g.height, " image is too large (reduce scale or columns)");
  return g;
}

template <class T>
Image image_grid(const Tensor<T>& tiles, const std::vector<std::string>& names, const ImageGridOptions& o) {
  if (tiles.dimension() != 3)
    fail("image_grid: expected tiles of shape (count, rows, cols), got ", shape_str(tiles.shape()));
  const std::size_t count = tiles.shape()[0], rows = tiles.shape()[1], cols = tiles.shape()[2];
  const GridLayout g = grid_layout(count, rows, cols, names, o);
  Image img = Image::filled(g.width, g.height, kWhite);
  if (!o.title.empty()) draw_text_centred(img, g.width / 2.0, kPad, o.title, kInk, kTitle);
  const long s = static_cast<long>(o.scale);
  for (std::size_t i = 0; i < count; ++i) {
    const T* v = tiles.data() + i * rows * cols;
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t k = 0; k < rows * cols; ++k) {
      if (!std::isfinite(static_cast<double>(v[k])))
        fail("image_grid: tile ", i, " has the non-finite value ", v[k], " at (", k / cols, ", ", k % cols, ")");
      lo = std::min(lo, static_cast<double>(v[k])), hi = std::max(hi, static_cast<double>(v[k]));
    }
    // gray: min -> 0, max -> 1. diverging: 0 -> 0.5 and the larger |value| -> 0 or 1,
    // so the colour's side always tells the sign. A constant tile is mid-gray / neutral.
    const double amax = std::max(std::fabs(lo), std::fabs(hi));
    auto level = [&](double x) {
      if (o.colormap == Colormap::gray) return hi > lo ? (x - lo) / (hi - lo) : 0.5;
      return amax > 0 ? 0.5 + 0.5 * x / amax : 0.5;
    };
    const long x0 = static_cast<long>(g.origin_x(i)), y0 = static_cast<long>(g.origin_y(i));
    fill_rect(img, x0 - 1, y0 - 1, x0 + static_cast<long>(g.tile_width) + 1, y0 + static_cast<long>(g.tile_height) + 1,
              Rgb{200, 200, 200});
    for (std::size_t k = 0; k < rows * cols; ++k) {
      const long x = x0 + static_cast<long>(k % cols) * s, y = y0 + static_cast<long>(k / cols) * s;
      fill_rect(img, x, y, x + s, y + s, colormap_colour(o.colormap, level(static_cast<double>(v[k]))));
    }
    if (!names.empty())
      draw_text_centred(img, x0 + g.tile_width / 2.0, y0 + static_cast<long>(g.tile_height) + 10, names[i], kInk, kText);
  }
  return img;
}

template Image image_grid<float>(const Tensor<float>&, const std::vector<std::string>&, const ImageGridOptions&);
template Image image_grid<double>(const Tensor<double>&, const std::vector<std::string>&, const ImageGridOptions&);

}  // namespace tapegrad
