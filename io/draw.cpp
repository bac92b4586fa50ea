#include <tapegrad/io/draw.hpp>

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
#include <vector>

#include <tapegrad/core/error.hpp>

namespace tapegrad::detail {
namespace {

// ---- fonts ----

// DejaVu Sans from its file: FreeType reads it, cairo renders it. No fontconfig
// lookup is involved, so the pictures do not depend on the machine's font setup.
constexpr const char* kFontDir = "/usr/share/fonts/truetype/dejavu/";

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

}  // namespace

double title_band(const std::string& title, double title_cap, double without) {
  return title.empty() ? without : std::ceil(kPad + title_cap + 2 * kPad);
}

std::size_t pixels(double v) { return static_cast<std::size_t>(std::max(0.0, std::ceil(v))); }

// ---- Canvas ----

Canvas::Canvas(std::size_t width, std::size_t height, const char* who, Pixels format)
    : who_(who),
      surface_(cairo_image_surface_create(format == Pixels::coverage ? CAIRO_FORMAT_A8 : CAIRO_FORMAT_RGB24,
                                          static_cast<int>(width), static_cast<int>(height))),
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

Canvas::~Canvas() {
  cairo_destroy(cr_);
  cairo_surface_destroy(surface_);
}

void Canvas::check() const {
  cairo_status_t s = cairo_status(cr_);
  if (s == CAIRO_STATUS_SUCCESS) s = cairo_surface_status(surface_);
  if (s != CAIRO_STATUS_SUCCESS) fail(who_, ": cairo failed: ", cairo_status_to_string(s));
}

void Canvas::colour(Rgb c) const { cairo_set_source_rgb(cr_, c.r / 255.0, c.g / 255.0, c.b / 255.0); }

void Canvas::paint(Rgb c) const {
  colour(c);
  cairo_paint(cr_);
}

void Canvas::rect(double x0, double y0, double x1, double y1, Rgb c) const {
  if (x1 <= x0 || y1 <= y0) return;
  colour(c);
  cairo_rectangle(cr_, x0, y0, x1 - x0, y1 - y0);
  cairo_fill(cr_);
}

// ---- text ----

void Canvas::use(const Font& f) const {
  cairo_set_font_face(cr_, face(f, who_));
  cairo_set_font_size(cr_, f.size);
}

double Canvas::width(const std::string& text, const Font& f) const {
  if (text.empty()) return 0;
  use(f);
  cairo_text_extents_t e;
  cairo_text_extents(cr_, printable(text).c_str(), &e);
  return e.x_advance;
}

double Canvas::cap(const Font& f) const {
  use(f);
  cairo_text_extents_t e;
  cairo_text_extents(cr_, "H", &e);
  return -e.y_bearing;
}

double Canvas::descent(const Font& f) const {
  use(f);
  cairo_font_extents_t e;
  cairo_font_extents(cr_, &e);
  return e.descent;
}

void Canvas::text(double x, double top, const std::string& text, const Font& f, Rgb c, Align a) const {
  if (text.empty()) return;
  const double w = width(text, f);
  const double x0 = a == Align::left ? x : a == Align::centre ? x - w / 2 : x - w;
  colour(c);
  cairo_move_to(cr_, std::round(x0), std::round(top + cap(f)));
  cairo_show_text(cr_, printable(text).c_str());
  cairo_new_path(cr_);
}

void Canvas::text_up(double left, double cy, const std::string& text, const Font& f, Rgb c) const {
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

Image Canvas::image() const {
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

double Canvas::alpha(std::size_t x, std::size_t y) const {
  return cairo_image_surface_get_data(surface_)[y * static_cast<std::size_t>(cairo_image_surface_get_stride(surface_)) + x] /
         255.0;
}

void Canvas::flush() const { cairo_surface_flush(surface_); }

void Canvas::put(std::size_t x, std::size_t y, Rgb c) const {
  auto* row = reinterpret_cast<std::uint32_t*>(cairo_image_surface_get_data(surface_) +
                                               y * static_cast<std::size_t>(cairo_image_surface_get_stride(surface_)));
  row[x] = (std::uint32_t{c.r} << 16) | (std::uint32_t{c.g} << 8) | c.b;
}

void Canvas::dirty() const { cairo_surface_mark_dirty(surface_); }

// ---- clipped polylines ----

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

void draw_trace(cairo_t* cr, const Trace& t, double line_width, double marker_radius) {
  cairo_set_line_width(cr, line_width);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (const std::vector<Pt>& line : t.lines) {
    cairo_move_to(cr, line[0].x, line[0].y);
    for (std::size_t i = 1; i < line.size(); ++i) cairo_line_to(cr, line[i].x, line[i].y);
  }
  cairo_stroke(cr);
  for (const Pt& m : t.markers) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, m.x, m.y, marker_radius, 0, 2 * kPi);
  }
  cairo_fill(cr);
}

}  // namespace tapegrad::detail
