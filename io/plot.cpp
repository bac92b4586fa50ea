#include <tapegrad/io/plot.hpp>

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <tapegrad/core/error.hpp>
#include <tapegrad/io/draw.hpp>

namespace tapegrad {

// From io/draw.hpp: the canvas, the look charts and grids share, clipped polylines.
using detail::Align, detail::Canvas, detail::Font, detail::Pixels;
using detail::kInk, detail::kPad, detail::kTitleFont, detail::kWhite, detail::pixels, detail::title_band;
using detail::Box, detail::clip, detail::draw_trace, detail::Pt, detail::Trace;

namespace {

constexpr Rgb kFrame{120, 120, 120};
constexpr Rgb kGrid{228, 228, 228};
constexpr double kTick = 5;      // tick mark length
constexpr double kTickGap = 6;   // between a tick mark and its label
constexpr double kLabelGap = 12;  // between tick labels and the axis label
constexpr double kLineWidth = 2, kMarkerRadius = 3;
constexpr Font kTickFont{false, 13}, kLabelFont{false, 14}, kLegendFont{false, 13};

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

// ---- line chart layout ----

// The measured text heights a chart's layout depends on.
struct ChartText {
  double tick_cap, label_cap, label_descent, title_cap, legend_cap;
  explicit ChartText(const Canvas& c)
      : tick_cap(c.cap(kTickFont)),
        label_cap(c.cap(kLabelFont)),
        label_descent(c.descent(kLabelFont)),
        title_cap(c.cap(kTitleFont)),
        legend_cap(c.cap(kLegendFont)) {}
};


ChartFrame frame_of(const std::vector<Series>& series, const LineChartOptions& o, const Canvas& m) {
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
  // Margins like matplotlib's: 3% of the span in x, 5% in y, unless the bound is fixed.
  ChartFrame f;
  double x_pad = 0.03 * (x_hi - x_lo), y_pad = 0.05 * (y_hi - y_lo);
  f.x_min = x_lo - x_pad, f.x_max = x_hi + x_pad;
  f.y_min = fixed_lo ? y_lo : y_lo - y_pad, f.y_max = fixed_hi ? y_hi : y_hi + y_pad;

  const ChartText t(m);
  f.top = title_band(o.title, t.title_cap, 24);
  const double bottom_margin = 1 + kTick + kTickGap + t.tick_cap +
                               (o.x_label.empty() ? 0 : kLabelGap + t.label_cap + t.label_descent) + kPad;
  f.bottom = std::floor(static_cast<double>(o.height) - bottom_margin);
  auto y_target = static_cast<std::size_t>(std::max(4.0, (f.bottom - f.top) / 55));
  f.y_ticks = inner_ticks(f.y_min, f.y_max, y_target, f.y_step);
  double label_w = 0;
  for (double v : f.y_ticks) label_w = std::max(label_w, m.width(format_tick(v, f.y_step), kTickFont));
  f.left = std::ceil(kPad + (o.y_label.empty() ? 0 : t.label_cap + t.label_descent + kLabelGap) + label_w +
                     kTickGap + kTick + 1);
  f.right = static_cast<double>(o.width) - 30;
  auto x_target = static_cast<std::size_t>(std::max(4.0, (f.right - f.left) / 80));
  f.x_ticks = inner_ticks(f.x_min, f.x_max, x_target, f.x_step);
  return f;
}

// ---- line chart drawing ----

// A series in pixels (polylines, a single point a dot, and the marker positions),
// every coordinate inside `box` so that cairo's fixed-point range is never exceeded.
Trace trace(const Series& s, const ChartFrame& f, const Box& box, bool markers) {
  const std::size_t n = s.x.size();
  std::vector<Pt> p(n);
  std::vector<char> ok(n);
  for (std::size_t i = 0; i < n; ++i) {
    p[i] = {f.x_to_px(s.x[i]), f.y_to_px(s.y[i])};
    ok[i] = std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && std::isfinite(p[i].x) && std::isfinite(p[i].y);
  }
  Trace t;
  std::vector<Pt> line;
  auto finish = [&] {
    if (line.size() >= 2) t.lines.push_back(line);
    line.clear();
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (!ok[i]) {  // a gap in the data breaks the line
      finish();
      continue;
    }
    if (markers && box.contains(p[i])) t.markers.push_back(p[i]);
    const bool prev = i > 0 && ok[i - 1], next = i + 1 < n && ok[i + 1];
    if (!prev && !next && box.contains(p[i])) t.lines.push_back({p[i], p[i]});  // an isolated point: a dot
    if (!prev) continue;
    Pt a = p[i - 1], b = p[i];
    if (!clip(a, b, box)) {
      finish();
      continue;
    }
    if (line.empty() || line.back() != a) {  // the previous segment left the box, or this is the first
      finish();
      line.push_back(a);
    }
    line.push_back(b);
  }
  finish();
  return t;
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
  const Canvas measure(1, 1, "line_chart");
  return frame_of(series, o, measure);
}

Image line_chart(const std::vector<Series>& series, const LineChartOptions& o) {
  const ChartFrame f = chart_frame(series, o);  // checks everything before the canvas is allocated
  Canvas c(o.width, o.height, "line_chart");
  const ChartText text(c);
  c.paint(kWhite);
  const double L = f.left, T = f.top, R = f.right, B = f.bottom;
  auto col = [&](double x) { return std::clamp(std::floor(f.x_to_px(x)), L, R - 1); };
  auto row = [&](double y) { return std::clamp(std::floor(f.y_to_px(y)), T, B - 1); };

  // Grid lines and tick marks are whole pixels, so they stay crisp.
  for (double t : f.x_ticks) {
    c.rect(col(t), T, col(t) + 1, B, kGrid);
    c.rect(col(t), B + 1, col(t) + 1, B + 1 + kTick, kFrame);
    c.text(col(t) + 0.5, B + 1 + kTick + kTickGap, format_tick(t, f.x_step), kTickFont, kInk, Align::centre);
  }
  for (double t : f.y_ticks) {
    c.rect(L, row(t), R, row(t) + 1, kGrid);
    c.rect(L - 1 - kTick, row(t), L - 1, row(t) + 1, kFrame);
    c.text(L - 1 - kTick - kTickGap, row(t) + 0.5 - text.tick_cap / 2, format_tick(t, f.y_step), kTickFont, kInk,
           Align::right);
  }
  c.rect(L - 1, T - 1, R + 1, T, kFrame);
  c.rect(L - 1, B, R + 1, B + 1, kFrame);
  c.rect(L - 1, T - 1, L, B + 1, kFrame);
  c.rect(R, T - 1, R + 1, B + 1, kFrame);

  // The curves, clipped to the plot area; each is also drawn into a coverage mask
  // of the plot area, where the legend looks for the corner that hides the least.
  const std::size_t pw = pixels(R - L), ph = pixels(B - T);
  Canvas occupied(pw, ph, "line_chart", Pixels::coverage);
  cairo_translate(occupied.cr(), -L, -T);
  const Box box{L - 8, T - 8, R + 8, B + 8};
  cairo_save(c.cr());
  cairo_rectangle(c.cr(), L, T, R - L, B - T);
  cairo_clip(c.cr());
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Trace t = trace(series[k], f, box, series[k].x.size() <= o.max_points_with_markers);
    c.colour(series_colour(k));
    draw_trace(c.cr(), t, kLineWidth, kMarkerRadius);
    draw_trace(occupied.cr(), t, kLineWidth, kMarkerRadius);
  }
  cairo_restore(c.cr());
  occupied.check();
  occupied.flush();

  // Legend: in the corner of the plot area that covers the least of the curves.
  double name_w = 0;
  for (const Series& s : series) name_w = std::max(name_w, c.width(s.name, kLegendFont));
  if (name_w > 0) {
    const double line_h = std::ceil(text.legend_cap + 11), swatch = 28;
    const double lw = std::ceil(12 + swatch + 10 + name_w + 12), lh = 10 + static_cast<double>(series.size()) * line_h;
    double best_x = R - 10 - lw, best_y = T + 10, best = INFINITY;
    for (int corner = 0; corner < 4; ++corner) {
      const double x0 = corner % 2 == 0 ? R - 10 - lw : L + 10, y0 = corner < 2 ? T + 10 : B - 10 - lh;
      double cost = 0;
      for (double y = std::max(y0, T); y < std::min(y0 + lh, B); ++y)
        for (double x = std::max(x0, L); x < std::min(x0 + lw, R); ++x)
          cost += occupied.alpha(static_cast<std::size_t>(x - L), static_cast<std::size_t>(y - T));
      if (cost < best - 1e-9) best = cost, best_x = x0, best_y = y0;
    }
    c.rect(best_x, best_y, best_x + lw, best_y + lh, kFrame);
    c.rect(best_x + 1, best_y + 1, best_x + lw - 1, best_y + lh - 1, kWhite);
    for (std::size_t k = 0; k < series.size(); ++k) {
      const double y = best_y + 10 + static_cast<double>(k) * line_h, mid = std::round(y + text.legend_cap / 2);
      c.rect(best_x + 12, mid - 1, best_x + 12 + swatch, mid + 2, series_colour(k));
      c.text(best_x + 12 + swatch + 10, y, series[k].name, kLegendFont, kInk, Align::left);
    }
  }

  c.text(static_cast<double>(o.width) / 2, kPad, o.title, kTitleFont, kInk, Align::centre);
  c.text((L + R) / 2, B + 1 + kTick + kTickGap + text.tick_cap + kLabelGap, o.x_label, kLabelFont, kInk, Align::centre);
  c.text_up(kPad, (T + B) / 2, o.y_label, kLabelFont, kInk);
  return c.image();
}

}  // namespace tapegrad
