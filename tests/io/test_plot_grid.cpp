// Image grids (io/plot_grid.cpp), checked on their pixels: each tile's exact colours
// through its colormap, upscaled in blocks, with its border and caption, the title as
// anti-aliased text ink, and the messages of rejected input.
#include <climits>
#include <cmath>

#include <gmock/gmock.h>

#include <tapegrad/io/plot.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;

// Text pixels in [x0, x1) x [y0, y1): text is dark gray ink over white, anti-aliased
// in gray, so its pixels are neutral (r == g == b); `edge` counts the partly covered
// ones, which a bitmap font would not have.
struct Ink {
  std::size_t count = 0, edge = 0;
  long x0 = LONG_MAX, y0 = LONG_MAX, x1 = -1, y1 = -1;  // bounding box, inclusive
  double cx() const { return (x0 + x1 + 1) / 2.0; }
  double cy() const { return (y0 + y1 + 1) / 2.0; }
  long w() const { return x1 - x0 + 1; }
  long h() const { return y1 - y0 + 1; }
};
Ink ink(const Image& img, double x0, double y0, double x1, double y1) {
  Ink k;
  for (auto y = static_cast<long>(std::max(0.0, y0)); y < std::min<long>(static_cast<long>(y1), img.height); ++y)
    for (auto x = static_cast<long>(std::max(0.0, x0)); x < std::min<long>(static_cast<long>(x1), img.width); ++x) {
      const Rgb p = img.pixel(static_cast<std::size_t>(x), static_cast<std::size_t>(y));
      if (p.r != p.g || p.g != p.b || p.r > 200) continue;
      ++k.count;
      k.edge += p.r > 80;
      k.x0 = std::min(k.x0, x), k.x1 = std::max(k.x1, x), k.y0 = std::min(k.y0, y), k.y1 = std::max(k.y1, y);
    }
  return k;
}

// Tile i at its layout position, upscaled by nearest neighbour (uniform blocks),
// each tile normalised to its own min and max.
TEST(ImageGrid, LayoutAndPerTileNormalisation) {
  Tensor<double> tiles = xt::zeros<double>({3, 2, 3});
  for (std::size_t k = 0; k < 6; ++k) tiles(0, k / 3, k % 3) = static_cast<double>(k);         // 0..5
  for (std::size_t k = 0; k < 6; ++k) tiles(1, k / 3, k % 3) = 7.0;                            // constant
  for (std::size_t k = 0; k < 6; ++k) tiles(2, k / 3, k % 3) = -100.0 + 10.0 * static_cast<double>(k);  // -100..-50
  ImageGridOptions o;
  o.columns = 2;
  o.scale = 4;
  const std::vector<std::string> names{"Bag", "Coat", "Ankle boot"};
  const Image img = image_grid(tiles, names, o);
  const GridLayout g = grid_layout(3, 2, 3, names, o);
  ASSERT_EQ(img.width, g.width);
  ASSERT_EQ(img.height, g.height);
  EXPECT_EQ(g.tile_width, 12u);
  EXPECT_EQ(g.tile_height, 8u);
  EXPECT_EQ(g.origin_y(0), g.origin_y(1));   // two per row
  EXPECT_GT(g.origin_x(1), g.origin_x(0) + g.tile_width);
  EXPECT_GT(g.origin_y(2), g.origin_y(0) + g.tile_height);
  EXPECT_EQ(g.origin_x(2), g.origin_x(0));

  auto block = [&](std::size_t i, std::size_t r, std::size_t c) {
    const std::size_t x = g.origin_x(i) + c * 4, y = g.origin_y(i) + r * 4;
    for (std::size_t dy = 0; dy < 4; ++dy)
      for (std::size_t dx = 0; dx < 4; ++dx) EXPECT_EQ(img.pixel(x + dx, y + dy), img.pixel(x, y));
    return img.pixel(x, y).r;
  };
  const int expected0[] = {0, 51, 102, 153, 204, 255};  // round(255 k / 5)
  for (std::size_t k = 0; k < 6; ++k) EXPECT_EQ(block(0, k / 3, k % 3), expected0[k]) << "k=" << k;
  EXPECT_EQ(block(1, 1, 2), 128);  // a constant tile is mid-gray
  EXPECT_EQ(block(2, 0, 0), 0);    // its own min, though all values are negative
  EXPECT_EQ(block(2, 1, 2), 255);
  // the caption sits below its tile: text ink in the band under tile 2
  std::size_t ink = 0;
  for (std::size_t y = g.origin_y(2) + g.tile_height + 2; y < g.origin_y(2) + g.cell_height; ++y)
    for (std::size_t x = 0; x < img.width; ++x) ink += img.pixel(x, y).r < 80;
  EXPECT_GT(ink, 40u);
}

TEST(ImageGrid, DivergingMapCentresZero) {
  Tensor<float> tiles = {{{-1.0f, 0.0f, 2.0f}}};  // one 1x3 tile
  ImageGridOptions o;
  o.colormap = Colormap::diverging;
  o.scale = 2;
  const Image img = image_grid(tiles, {}, o);
  const GridLayout g = grid_layout(1, 1, 3, {}, o);
  const std::size_t x = g.origin_x(0), y = g.origin_y(0);
  EXPECT_EQ(img.pixel(x + 4, y), (Rgb{103, 0, 31}));     // +max|v| -> darkest red
  EXPECT_EQ(img.pixel(x + 2, y), (Rgb{247, 247, 247}));  // zero -> neutral
  EXPECT_EQ(img.pixel(x, y), (Rgb{107, 172, 209}));      // -1/2 of max|v| -> t = 0.25, light blue
  EXPECT_EQ(colormap_colour(Colormap::diverging, 0.0), (Rgb{5, 48, 97}));
  EXPECT_EQ(colormap_colour(Colormap::gray, 0.5), (Rgb{128, 128, 128}));
}

// Every pixel of every tile is its value through the colormap, upscaled in exact
// blocks; a light gray border frames each tile and the title is centred text above.
TEST(ImageGrid, EveryTilePixelMapsThroughTheColormap) {
  Tensor<double> tiles = xt::zeros<double>({4, 5, 7});
  for (std::size_t i = 0; i < tiles.size(); ++i) tiles.data()[i] = std::sin(0.7 * static_cast<double>(i)) * (1 + i % 3);
  ImageGridOptions o;
  o.columns = 3;
  o.scale = 3;
  o.colormap = Colormap::diverging;
  o.title = "Class templates";
  const std::vector<std::string> names{"a", "b", "c", "d"};
  const Image img = image_grid(tiles, names, o);
  const GridLayout g = grid_layout(4, 5, 7, names, o);
  for (std::size_t i = 0; i < 4; ++i) {
    const double* v = tiles.data() + i * 35;
    double amax = 0;
    for (std::size_t k = 0; k < 35; ++k) amax = std::max(amax, std::fabs(v[k]));
    for (std::size_t y = 0; y < g.tile_height; ++y)
      for (std::size_t x = 0; x < g.tile_width; ++x)
        ASSERT_EQ(img.pixel(g.origin_x(i) + x, g.origin_y(i) + y),
                  colormap_colour(Colormap::diverging, 0.5 + 0.5 * v[(y / 3) * 7 + x / 3] / amax))
            << "tile " << i << " pixel " << x << ", " << y;
    const Rgb border{200, 200, 200};
    EXPECT_EQ(img.pixel(g.origin_x(i) - 1, g.origin_y(i) - 1), border);
    EXPECT_EQ(img.pixel(g.origin_x(i) + g.tile_width, g.origin_y(i) + g.tile_height), border);
    EXPECT_EQ(img.pixel(g.origin_x(i) - 2, g.origin_y(i) + 2), (Rgb{255, 255, 255}));
  }
  const Ink title = ink(img, 0, 0, static_cast<double>(img.width), static_cast<double>(g.top) - 2);
  EXPECT_GT(title.count, 150u);
  EXPECT_GT(title.edge, 50u);
  EXPECT_NEAR(title.cx(), img.width / 2.0, 3);
  EXPECT_GE(img.width, static_cast<std::size_t>(title.w()) + 40);  // the image is wide enough for its title
}

TEST(ImageGrid, RejectsBadInput) {
  try {
    image_grid(Tensor<double>(xt::zeros<double>({4, 4})), {});
    FAIL() << "no error for a rank-2 input";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("image_grid: expected tiles of shape (count, rows, cols), got (4, 4)"));
  }
  Tensor<double> tiles = xt::zeros<double>({2, 3, 3});
  EXPECT_THROW(image_grid(tiles, {"only one"}), Error);
  tiles(1, 2, 0) = NAN;
  try {
    image_grid(tiles, {});
    FAIL() << "no error for NaN";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("image_grid: tile 1 has the non-finite value nan at (2, 0)"));
  }
  // every rejected grid names the function and the offending value
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message([] { image_grid(Tensor<double>(xt::zeros<double>({0, 3, 3})), {}); }),
            "image_grid: need at least one non-empty tile, got 0 tiles of 3x3");
  ImageGridOptions no_columns;
  no_columns.columns = 0;
  EXPECT_EQ(message([&] { image_grid(Tensor<double>(xt::zeros<double>({2, 3, 3})), {}, no_columns); }),
            "image_grid: columns and scale must be positive, got 0 and 8");
  ImageGridOptions huge;
  huge.scale = 1000;
  EXPECT_EQ(message([&] { image_grid(Tensor<double>(xt::zeros<double>({2, 30, 30})), {}, huge); }),
            "image_grid: a 60060x30040 image is too large (reduce scale or columns)");
  EXPECT_EQ(message([] { image_grid(Tensor<double>(xt::zeros<double>({2, 3, 3})), {"only one"}); }),
            "image_grid: 1 names for 2 tiles (give one per tile, or none)");
}

}  // namespace
}  // namespace tapegrad
