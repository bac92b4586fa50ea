#pragma once
// Plots for the training demos, drawn with cairo into an Image that write_png saves:
// line charts (loss or accuracy per epoch) and image grids (learned class templates,
// as cs231n shows linear-classifier weights). Text is DejaVu Sans, anti-aliased,
// loaded by FreeType straight from /usr/share/fonts/truetype/dejavu/ (Debian's
// fonts-dejavu-core), so no fontconfig setting changes a picture; a missing font
// file is a tapegrad::Error naming it. Text is UTF-8; invalid bytes and control
// characters are drawn as '?'.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/io/png.hpp>

namespace tapegrad {

// ---- line charts (io/plot.cpp) ----

// One curve; points with a non-finite x or y break the line there.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LineChartOptions {
  std::string title, x_label, y_label;
  std::size_t width = 800, height = 500;
  // Fixed y range (e.g. 0 and 1 for accuracy); NaN fits the data on nice tick values.
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  // Dots mark the data points of a series that has at most this many points.
  std::size_t max_points_with_markers = 40;
};

// Where line_chart puts things: the plot area [left, right) x [top, bottom) in pixels
// and the data range it spans; x_min maps to the left edge, y_max to the top edge.
struct ChartFrame {
  double left = 0, top = 0, right = 0, bottom = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  std::vector<double> x_ticks, y_ticks;  // the ticks that are drawn (all inside the range)
  double x_step = 1, y_step = 1;
  double x_to_px(double x) const { return left + (x - x_min) / (x_max - x_min) * (right - left); }
  double y_to_px(double y) const { return bottom - (y - y_min) / (y_max - y_min) * (bottom - top); }
};

// "Nice" ticks (Heckbert, Graphics Gems 1990): a step of 1, 2 or 5 times a power of
// ten giving about `target` ticks, from the multiple at or below lo to the one at or
// above hi. nice_ticks(0.8, 0.9) = 0.80, 0.82, ..., 0.90. A zero-width range is widened.
std::vector<double> nice_ticks(double lo, double hi, std::size_t target = 6);
// The tick label with as many decimals as the step needs: format_tick(0.8, 0.02) = "0.80".
std::string format_tick(double value, double step);
// Series i's colour (the Tableau 10 palette, cycling).
Rgb series_colour(std::size_t i);

ChartFrame chart_frame(const std::vector<Series>& series, const LineChartOptions& options = {});
// Title, axis labels, ticks with labels, grid, one 2 px anti-aliased line per series
// in series_colour(i) (dots at the data points of short series; a segment leaving
// the plot area is clipped at its edge), and a legend, when any series has a name,
// in the corner of the plot area that hides the least of the curves.
Image line_chart(const std::vector<Series>& series, const LineChartOptions& options = {});

// ---- image grids (io/plot_grid.cpp) ----

enum class Colormap {
  gray,       // each tile's min -> black, max -> white
  diverging,  // blue (negative) - near-white (0) - red (positive), scaled by the tile's max |value|
};
// t in [0, 1]; t is clamped.
Rgb colormap_colour(Colormap map, double t);

struct ImageGridOptions {
  std::size_t columns = 5;  // tiles per row
  std::size_t scale = 8;    // nearest-neighbour upscaling of each tile
  Colormap colormap = Colormap::gray;
  std::string title;
};

// Where image_grid puts tile i: its top-left pixel is tile_origin(i); it is
// tile_width x tile_height pixels, with its caption centred below it.
struct GridLayout {
  std::size_t width = 0, height = 0;  // of the whole image
  std::size_t columns = 0, tile_width = 0, tile_height = 0;
  std::size_t margin = 0, top = 0, cell_width = 0, cell_height = 0, gap = 0;
  std::size_t origin_x(std::size_t i) const;
  std::size_t origin_y(std::size_t i) const;
};

GridLayout grid_layout(std::size_t count, std::size_t rows, std::size_t cols,
                       const std::vector<std::string>& names, const ImageGridOptions& options = {});

// tiles has shape (count, rows, cols); names is empty or has one caption per tile.
// Each tile is normalised to its own range (see Colormap), so weak and strong
// templates are equally visible.
template <class T>
Image image_grid(const Tensor<T>& tiles, const std::vector<std::string>& names,
                 const ImageGridOptions& options = {});

}  // namespace tapegrad
