#pragma once
// What the pictures (io/plot.cpp's line charts, io/plot_grid.cpp's image grids) draw
// with: a cairo image surface with its context (Canvas), the fonts, text measured and
// drawn, and segments clipped to a box. Internal to those two files; io/plot.hpp is
// the public interface. Text is DejaVu Sans, loaded by FreeType from its file (see
// io/plot.hpp); invalid UTF-8 and control characters are drawn as '?'.
// cairo's two handle types are declared here as <cairo.h> declares them, so this
// header needs no cairo include path; the .cpp files that call cairo include it.
#include <cstddef>
#include <string>
#include <vector>

#include <tapegrad/io/png.hpp>

typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace tapegrad::detail {

// ---- the look charts and grids share ----

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kInk{35, 35, 35};
constexpr double kPad = 14;  // outer margin
constexpr double kPi = 3.14159265358979323846;

struct Font {
  bool bold;
  double size;  // pixels per em
};
constexpr Font kTitleFont{true, 18};

// The height of the band above the plot or grid: the title with padding, or
// `without` when there is no title.
double title_band(const std::string& title, double title_cap, double without);
// v rounded up to whole pixels, 0 for a negative v.
std::size_t pixels(double v);

// ---- a cairo image surface with its context ----

enum class Align { left, centre, right };
enum class Pixels { rgb, coverage };  // CAIRO_FORMAT_RGB24, CAIRO_FORMAT_A8

class Canvas {
 public:
  // `who` (e.g. "line_chart") starts every error message.
  Canvas(std::size_t width, std::size_t height, const char* who, Pixels format = Pixels::rgb);
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  ~Canvas();

  cairo_t* cr() const { return cr_; }
  cairo_surface_t* surface() const { return surface_; }
  void check() const;  // a tapegrad::Error if cairo failed

  void colour(Rgb c) const;
  void paint(Rgb c) const;
  // Fills [x0, x1) x [y0, y1); whole-pixel edges give exact colours.
  void rect(double x0, double y0, double x1, double y1, Rgb c) const;

  // ---- text ----
  void use(const Font& f) const;
  double width(const std::string& text, const Font& f) const;
  double cap(const Font& f) const;  // height of a capital letter above the baseline
  double descent(const Font& f) const;
  // `text` with its capitals' top at `top`, starting at, centred on or ending at x.
  void text(double x, double top, const std::string& text, const Font& f, Rgb c, Align a) const;
  // `text` reading upwards, the capitals' top at x = left, centred on the row cy.
  void text_up(double left, double cy, const std::string& text, const Font& f, Rgb c) const;

  // ---- pixels ----
  Image image() const;
  // A coverage canvas's coverage at (x, y), in [0, 1].
  double alpha(std::size_t x, std::size_t y) const;
  void flush() const;
  // Direct pixel writes into an RGB canvas: flush() first, dirty() after.
  void put(std::size_t x, std::size_t y, Rgb c) const;
  void dirty() const;

 private:
  const char* who_;
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

// ---- clipped polylines ----

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
bool clip(Pt& a, Pt& b, const Box& box);

// Polylines in pixels (a single point is a dot) and marker positions.
struct Trace {
  std::vector<std::vector<Pt>> lines;
  std::vector<Pt> markers;
};
// Strokes t's polylines with round caps and joins and fills a disc at each marker,
// in the context's current source colour.
void draw_trace(cairo_t* cr, const Trace& t, double line_width, double marker_radius);

}  // namespace tapegrad::detail
