#include <tapegrad/io/plot.hpp>

#include <cairo-ft.h>
#include <cairo.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <system_error>

#include <tapegrad/core/error.hpp>

namespace tapegrad {
namespace {

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{35, 35, 35};
constexpr Rgb kFrame{120, 120, 120};
constexpr Rgb kGrid{228, 228, 228};
constexpr Rgb kTileBorder{200, 200, 200};
constexpr double kPad = 14;      // outer margin
constexpr double kTick = 5;      // tick mark length
constexpr double kTickGap = 6;   // between a tick mark and its label
constexpr double kLabelGap = 12;  // between tick labels and the axis label
constexpr double kLineWidth = 2, kMarkerRadius = 3;
constexpr double kPi = 3.14159265358979323846;

// ---- fonts ----

// DejaVu Sans from its file: FreeType reads it, cairo renders it. No fontconfig
// lookup is involved, so the pictures do not depend on the machine's font setup.
constexpr const char* kFontDir = "/usr/share/fonts/truetype/dejavu/";

struct Font {
  bool bold;
  double size;  // pixels per em
};
constexpr Font kTickFont{false, 13}, kLabelFont{false, 14}, kLegendFont{false, 13}, kCaptionFont{false, 13},
    kTitleFont{true, 18};

cairo_font_face_t* load_face(FT_Library library, const char* file, const char* who) {
  const std::string path = std::string(kFontDir) + file;
  if (std::FILE* fp = std::fopen(path.c_str(), "rb")) {
    std::fclose(fp);
  } else {
    fail(who, ": cannot open the font '", path, "': ", std::error_code(errno, std::generic_category()).message(),
         " (install fonts-dejavu-core)");
  }
  FT_Face face = nullptr;
  if (FT_Error e = FT_New_Face(library, path.c_str(), 0, &face))
    fail(who, ": FreeType cannot load the font '", path, "' (error ", e, ")");
  cairo_font_face_t* cf = cairo_ft_font_face_create_for_ft_face(face, 0);
  static const cairo_user_data_key_t key{};
  if (cairo_font_face_status(cf) != CAIRO_STATUS_SUCCESS ||
      cairo_font_face_set_user_data(cf, &key, face, [](void* f) { FT_Done_Face(static_cast<FT_Face>(f)); }) !=
          CAIRO_STATUS_SUCCESS) {
    cairo_font_face_destroy(cf);
    FT_Done_Face(face);
    fail(who, ": cairo cannot use the font '", path, "'");
  }
  return cf;
}

// Loaded once per process and kept for its lifetime; cairo serialises the faces' use.
cairo_font_face_t* face(const Font& font, const char* who) {
  struct Faces {
    FT_Library library = nullptr;
    cairo_font_face_t *regular = nullptr, *bold = nullptr;
  };
  static const Faces faces = [who] {
    Faces f;
    if (FT_Error e = FT_Init_FreeType(&f.library)) fail(who, ": cannot initialise FreeType (error ", e, ")");
    f.regular = load_face(f.library, "DejaVuSans.ttf", who);
    f.bold = load_face(f.library, "DejaVuSans-Bold.ttf", who);
    return f;
  }();
  return font.bold ? faces.bold : faces.regular;
}

// UTF-8 as cairo accepts it: a byte that does not start a well-formed sequence, and
// a well-formed sequence that is overlong, a surrogate, past U+10FFFF or a control
// character, each become one '?' (cairo would refuse the whole string).
std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c >= 0xc0 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf7 ? 4 : 0;
    bool well_formed = n > 0 && i + n <= s.size();
    std::uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1fu : n == 3 ? c & 0x0fu : c & 0x07u;
    for (std::size_t k = 1; well_formed && k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      well_formed = (d & 0xc0) == 0x80;
      cp = (cp << 6) | (d & 0x3fu);
    }
    if (!well_formed) {
      out += '?';
      ++i;
      continue;
    }
    const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    const bool ok = cp >= least[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && cp >= 0x20 &&
                    !(cp >= 0x7f && cp < 0xa0);
    if (ok) out.append(s, i, n);
    else out += '?';
    i += n;
  }
  return out;
}

// ---- a cairo image surface with its context ----

enum class Align { left, centre, right };

class Canvas {
 public:
  Canvas(std::size_t width, std::size_t height, const char* who, cairo_format_t format = CAIRO_FORMAT_RGB24)
      : who_(who),
        surface_(cairo_image_surface_create(format, static_cast<int>(width), static_cast<int>(height))),
        cr_(cairo_create(surface_)) {
    check();
    // Grey anti-aliasing (no colour fringes), vertical-only hinting and whole-pixel
    // advances: crisp small text whose widths are the same wherever it is measured.
    cairo_font_options_t* o = cairo_font_options_create();
    cairo_font_options_set_antialias(o, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(o, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_hint_metrics(o, CAIRO_HINT_METRICS_ON);
    cairo_set_font_options(cr_, o);
    cairo_font_options_destroy(o);
  }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  ~Canvas() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }

  cairo_t* cr() const { return cr_; }
  void check() const {
    cairo_status_t s = cairo_status(cr_);
    if (s == CAIRO_STATUS_SUCCESS) s = cairo_surface_status(surface_);
    if (s != CAIRO_STATUS_SUCCESS) fail(who_, ": cairo failed: ", cairo_status_to_string(s));
  }

  void colour(Rgb c) const { cairo_set_source_rgb(cr_, c.r / 255.0, c.g / 255.0, c.b / 255.0); }
  void paint(Rgb c) const {
    colour(c);
    cairo_paint(cr_);
  }
  // Fills [x0, x1) x [y0, y1); whole-pixel edges give exact colours.
  void rect(double x0, double y0, double x1, double y1, Rgb c) const {
    if (x1 <= x0 || y1 <= y0) return;
    colour(c);
    cairo_rectangle(cr_, x0, y0, x1 - x0, y1 - y0);
    cairo_fill(cr_);
  }

  // ---- text ----
  void use(const Font& f) const {
    cairo_set_font_face(cr_, face(f, who_));
    cairo_set_font_size(cr_, f.size);
  }
  double width(const std::string& text, const Font& f) const {
    if (text.empty()) return 0;
    use(f);
    cairo_text_extents_t e;
    cairo_text_extents(cr_, printable(text).c_str(), &e);
    return e.x_advance;
  }
  double cap(const Font& f) const {  // height of a capital letter above the baseline
    use(f);
    cairo_text_extents_t e;
    cairo_text_extents(cr_, "H", &e);
    return -e.y_bearing;
  }
  double descent(const Font& f) const {
    use(f);
    cairo_font_extents_t e;
    cairo_font_extents(cr_, &e);
    return e.descent;
  }
  // `text` with its capitals' top at `top`, starting at, centred on or ending at x.
  void text(double x, double top, const std::string& text, const Font& f, Rgb c, Align a) const {
    if (text.empty()) return;
    const double w = width(text, f);
    const double x0 = a == Align::left ? x : a == Align::centre ? x - w / 2 : x - w;
    colour(c);
    cairo_move_to(cr_, std::round(x0), std::round(top + cap(f)));
    cairo_show_text(cr_, printable(text).c_str());
    cairo_new_path(cr_);
  }
  // `text` reading upwards, the capitals' top at x = left, centred on the row cy.
  void text_up(double left, double cy, const std::string& text, const Font& f, Rgb c) const {
    if (text.empty()) return;
    const double w = width(text, f);
    cairo_save(cr_);
    cairo_translate(cr_, std::round(left + cap(f)), std::round(cy + w / 2));
    cairo_rotate(cr_, -kPi / 2);
    colour(c);
    use(f);
    cairo_move_to(cr_, 0, 0);
    cairo_show_text(cr_, printable(text).c_str());
    cairo_new_path(cr_);
    cairo_restore(cr_);
  }

  // ---- pixels ----
  Image image() const {
    check();
    cairo_surface_flush(surface_);
    const auto w = static_cast<std::size_t>(cairo_image_surface_get_width(surface_));
    const auto h = static_cast<std::size_t>(cairo_image_surface_get_height(surface_));
    const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface_));
    const unsigned char* data = cairo_image_surface_get_data(surface_);
    Image img{w, h, std::vector<std::uint8_t>(w * h * 3)};
    for (std::size_t y = 0; y < h; ++y) {
      const auto* row = reinterpret_cast<const std::uint32_t*>(data + y * stride);
      std::uint8_t* p = img.rgb.data() + y * w * 3;
      for (std::size_t x = 0; x < w; ++x, p += 3) {
        p[0] = static_cast<std::uint8_t>(row[x] >> 16);
        p[1] = static_cast<std::uint8_t>(row[x] >> 8);
        p[2] = static_cast<std::uint8_t>(row[x]);
      }
    }
    return img;
  }
  // An A8 canvas's coverage at (x, y), in [0, 1].
  double alpha(std::size_t x, std::size_t y) const {
    return cairo_image_surface_get_data(surface_)[y * static_cast<std::size_t>(cairo_image_surface_get_stride(surface_)) + x] /
           255.0;
  }
  void flush() const { cairo_surface_flush(surface_); }
  // Direct pixel writes into an RGB24 canvas: flush() first, dirty() after.
  void put(std::size_t x, std::size_t y, Rgb c) const {
    auto* row = reinterpret_cast<std::uint32_t*>(cairo_image_surface_get_data(surface_) +
                                                 y * static_cast<std::size_t>(cairo_image_surface_get_stride(surface_)));
    row[x] = (std::uint32_t{c.r} << 16) | (std::uint32_t{c.g} << 8) | c.b;
  }
  void dirty() const { cairo_surface_mark_dirty(surface_); }
  cairo_surface_t* surface() const { return surface_; }

 private:
  const char* who_;
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

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

double title_band(const std::string& title, double title_cap, double without) {
  return title.empty() ? without : std::ceil(kPad + title_cap + 2 * kPad);
}

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

struct Pt {
  double x, y;
  bool operator!=(const Pt& p) const { return x != p.x || y != p.y; }
};
struct Box {
  double x0, y0, x1, y1;
  bool contains(Pt p) const { return p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1; }
};

// Liang–Barsky: clips a-b to the box; false if nothing is left. An end inside the
// box is left exactly as it was.
bool clip(Pt& a, Pt& b, const Box& box) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  if (!std::isfinite(dx) || !std::isfinite(dy)) return false;
  double t0 = 0, t1 = 1;
  const double p[4] = {-dx, dx, -dy, dy}, q[4] = {a.x - box.x0, box.x1 - a.x, a.y - box.y0, box.y1 - a.y};
  for (int k = 0; k < 4; ++k) {
    if (p[k] == 0) {
      if (q[k] < 0) return false;
      continue;
    }
    const double r = q[k] / p[k];
    if (p[k] < 0) t0 = std::max(t0, r);
    else t1 = std::min(t1, r);
    if (t0 > t1) return false;
  }
  const Pt a0 = a;
  if (t1 < 1) b = {a0.x + t1 * dx, a0.y + t1 * dy};
  if (t0 > 0) a = {a0.x + t0 * dx, a0.y + t0 * dy};
  return true;
}

// A series in pixels: polylines (a single point is a dot) and the marker positions,
// every coordinate inside `box` so that cairo's fixed-point range is never exceeded.
struct Trace {
  std::vector<std::vector<Pt>> lines;
  std::vector<Pt> markers;
};

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

void draw_trace(cairo_t* cr, const Trace& t) {
  cairo_set_line_width(cr, kLineWidth);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (const std::vector<Pt>& line : t.lines) {
    cairo_move_to(cr, line[0].x, line[0].y);
    for (std::size_t i = 1; i < line.size(); ++i) cairo_line_to(cr, line[i].x, line[i].y);
  }
  cairo_stroke(cr);
  for (const Pt& m : t.markers) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, m.x, m.y, kMarkerRadius, 0, 2 * kPi);
  }
  cairo_fill(cr);
}

std::size_t pixels(double v) { return static_cast<std::size_t>(std::max(0.0, std::ceil(v))); }

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
  Canvas occupied(pw, ph, "line_chart", CAIRO_FORMAT_A8);
  cairo_translate(occupied.cr(), -L, -T);
  const Box box{L - 8, T - 8, R + 8, B + 8};
  cairo_save(c.cr());
  cairo_rectangle(c.cr(), L, T, R - L, B - T);
  cairo_clip(c.cr());
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Trace t = trace(series[k], f, box, series[k].x.size() <= o.max_points_with_markers);
    c.colour(series_colour(k));
    draw_trace(c.cr(), t);
    draw_trace(occupied.cr(), t);
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

namespace {

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
