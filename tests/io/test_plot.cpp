// Ticks and line charts (io/plot.cpp), checked on their pixels: exact colours where
// cairo fills whole pixels (background, frame, grid, swatches), series colours along
// the curves, and anti-aliased text ink where each label belongs. Image grids:
// tests/io/test_plot_grid.cpp.
#include <climits>
#include <cmath>

#include <gmock/gmock.h>

#include <tapegrad/io/plot.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Is `c` present within `radius` pixels of (x, y)?
bool colour_near(const Image& img, double x, double y, Rgb c, long radius) {
  for (long dy = -radius; dy <= radius; ++dy)
    for (long dx = -radius; dx <= radius; ++dx) {
      long px = std::lround(std::floor(x)) + dx, py = std::lround(std::floor(y)) + dy;
      if (px >= 0 && py >= 0 && px < static_cast<long>(img.width) && py < static_cast<long>(img.height) &&
          img.pixel(static_cast<std::size_t>(px), static_cast<std::size_t>(py)) == c)
        return true;
    }
  return false;
}

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

// Pixels of column x, rows [y0, y1), whose colour is neither neutral nor white: curves.
std::size_t coloured_run(const Image& img, double x, double y0, double y1) {
  std::size_t n = 0;
  for (auto y = static_cast<std::size_t>(y0); y < static_cast<std::size_t>(y1); ++y) {
    const Rgb p = img.pixel(static_cast<std::size_t>(x), y);
    n += !(p.r == p.g && p.g == p.b);
  }
  return n;
}

void expect_ticks(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12) << "tick " << i;
}

TEST(NiceTicks, NarrowRangeGetsStepsOfTwoHundredths) {
  const std::vector<double> ticks = nice_ticks(0.8, 0.9);
  expect_ticks(ticks, {0.80, 0.82, 0.84, 0.86, 0.88, 0.90});
  std::vector<std::string> labels;
  for (double t : ticks) labels.push_back(format_tick(t, 0.02));
  EXPECT_THAT(labels, ElementsAre("0.80", "0.82", "0.84", "0.86", "0.88", "0.90"));
}

TEST(NiceTicks, StepsAreOneTwoOrFiveTimesAPowerOfTen) {
  expect_ticks(nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  expect_ticks(nice_ticks(1, 20), {0, 5, 10, 15, 20});       // outer ticks enclose the range
  expect_ticks(nice_ticks(-3, 7), {-4, -2, 0, 2, 4, 6, 8});
  expect_ticks(nice_ticks(0, 0.0037), {0, 0.001, 0.002, 0.003, 0.004});
  expect_ticks(nice_ticks(0.31, 2.3, 4), {0, 0.5, 1, 1.5, 2, 2.5});  // 1.99 / 3 = 0.66 -> 0.5
  const std::vector<double> one = nice_ticks(5, 5);  // a single value still gets a range around it
  ASSERT_GE(one.size(), 3u);
  EXPECT_LT(one.front(), 5.0);
  EXPECT_GT(one.back(), 5.0);
  try {
    nice_ticks(1, 0);
    FAIL() << "no error for lo > hi";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("nice_ticks: need a finite range lo <= hi, got [1, 0]"));
  }
  EXPECT_THROW(nice_ticks(0, NAN), Error);
}

TEST(FormatTick, DecimalsFollowTheStep) {
  EXPECT_EQ(format_tick(20, 5), "20");
  EXPECT_EQ(format_tick(2.5, 0.5), "2.5");
  EXPECT_EQ(format_tick(0.004, 0.001), "0.004");
  EXPECT_EQ(format_tick(-1e-17, 0.1), "0.0");  // no "-0.0" from rounding noise
  EXPECT_EQ(format_tick(-0.6, 0.2), "-0.6");
  EXPECT_THROW(format_tick(1, 0), Error);
}

TEST(LineChart, HasTheRequestedSizeAndIsNotBlank) {
  Series s{"loss", {1, 2, 3, 4, 5}, {2.3, 1.2, 0.8, 0.6, 0.5}};
  LineChartOptions o;
  o.title = "Loss";
  o.x_label = "epoch";
  o.y_label = "loss";
  const Image img = line_chart({s}, o);
  ASSERT_EQ(img.width, 800u);
  ASSERT_EQ(img.height, 500u);
  ASSERT_EQ(img.rgb.size(), 800u * 500u * 3u);
  std::size_t ink = 0, dark = 0;
  for (std::size_t y = 0; y < img.height; ++y)
    for (std::size_t x = 0; x < img.width; ++x) {
      Rgb p = img.pixel(x, y);
      ink += p != Rgb{255, 255, 255};
      dark += p.r < 80 && p.g < 80 && p.b < 80;  // text
    }
  EXPECT_GT(ink, 800u * 500u / 50);  // grid, frame, text and the curve
  EXPECT_LT(ink, 800u * 500u / 3);   // but mostly white
  EXPECT_GT(dark, 500u);
  EXPECT_EQ(img.pixel(0, 0), (Rgb{255, 255, 255}));
  EXPECT_EQ(img.pixel(799, 499), (Rgb{255, 255, 255}));
}

// The curves pass through their data points, in their own colours, and nowhere else.
TEST(LineChart, SeriesPixelsLieAtTheirDataPositions) {
  Series flat{"", {0, 10}, {1, 1}}, diagonal{"", {0, 5, 10}, {0, 5, 10}};  // no names: no legend
  LineChartOptions o;
  o.max_points_with_markers = 0;
  const Image img = line_chart({flat, diagonal}, o);
  const ChartFrame f = chart_frame({flat, diagonal}, o);
  for (double x : {2.0, 5.0, 8.0}) {
    EXPECT_TRUE(colour_near(img, f.x_to_px(x), f.y_to_px(1), series_colour(0), 1)) << "flat at x=" << x;
    EXPECT_TRUE(colour_near(img, f.x_to_px(x), f.y_to_px(x), series_colour(1), 1)) << "diagonal at x=" << x;
  }
  EXPECT_FALSE(colour_near(img, f.x_to_px(2), f.y_to_px(8), series_colour(0), 4));
  EXPECT_FALSE(colour_near(img, f.x_to_px(2), f.y_to_px(8), series_colour(1), 4));
  EXPECT_FALSE(colour_near(img, f.x_to_px(8), f.y_to_px(3), series_colour(1), 4));
  EXPECT_NE(series_colour(0), series_colour(1));
  // the frame encloses the data with a margin and ticks inside the range
  EXPECT_LT(f.x_min, 0.0);
  EXPECT_GT(f.x_max, 10.0);
  expect_ticks(f.y_ticks, {0, 2, 4, 6, 8, 10});
  EXPECT_GT(f.left, 30.0);
  EXPECT_LT(f.right, 800.0);
}

TEST(LineChart, GapInTheDataBreaksTheLine) {
  Series s{"", {0, 1, 2, 3, 4}, {0, 0, NAN, 0, 0}};
  LineChartOptions o;
  o.max_points_with_markers = 0;
  o.y_min = -1, o.y_max = 1;
  const Image img = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  EXPECT_EQ(f.y_min, -1.0);
  EXPECT_EQ(f.y_max, 1.0);
  EXPECT_TRUE(colour_near(img, f.x_to_px(0.5), f.y_to_px(0), series_colour(0), 1));
  EXPECT_TRUE(colour_near(img, f.x_to_px(3.5), f.y_to_px(0), series_colour(0), 1));
  EXPECT_FALSE(colour_near(img, f.x_to_px(2), f.y_to_px(0), series_colour(0), 3));
}

// Data rising from lower left to upper right leaves the upper-left corner free.
TEST(LineChart, LegendGoesToAFreeCorner) {
  Series s{"train accuracy", {0, 10}, {0, 10}};
  LineChartOptions o;
  o.max_points_with_markers = 0;
  const Image img = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  auto swatch_in = [&](double x0, double x1, double y0, double y1) {
    for (auto y = static_cast<std::size_t>(y0); y < static_cast<std::size_t>(y1); ++y) {
      std::size_t run = 0;
      for (auto x = static_cast<std::size_t>(x0); x < static_cast<std::size_t>(x1); ++x) {
        run = img.pixel(x, y) == series_colour(0) ? run + 1 : 0;
        if (run >= 20) return true;  // a horizontal stroke: the diagonal curve has none
      }
    }
    return false;
  };
  const double mx = (f.left + f.right) / 2, my = (f.top + f.bottom) / 2;
  EXPECT_TRUE(swatch_in(f.left, mx, f.top, my));
  EXPECT_FALSE(swatch_in(mx, f.right, f.top, my));
  EXPECT_FALSE(swatch_in(f.left, f.right, my, f.bottom));
}

TEST(LineChart, BackgroundFrameGridAndTicksAreExactColours) {
  Series s{"", {0, 10}, {0, 0}};
  LineChartOptions o;
  o.y_min = 0, o.y_max = 1;
  o.max_points_with_markers = 0;
  const Image img = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  const Rgb white{255, 255, 255}, frame{120, 120, 120}, grid{228, 228, 228};
  EXPECT_EQ(img.pixel(0, 0), white);
  EXPECT_EQ(img.pixel(static_cast<std::size_t>(f.right) + 5, static_cast<std::size_t>(f.top) + 5), white);
  const auto L = static_cast<std::size_t>(f.left), T = static_cast<std::size_t>(f.top);
  const auto R = static_cast<std::size_t>(f.right), B = static_cast<std::size_t>(f.bottom);
  for (std::size_t y : {T, (T + B) / 2, B - 1}) {  // the frame hugs the plot area
    EXPECT_EQ(img.pixel(L - 1, y), frame) << y;
    EXPECT_EQ(img.pixel(R, y), frame) << y;
  }
  EXPECT_EQ(img.pixel((L + R) / 2, T - 1), frame);
  EXPECT_EQ(img.pixel((L + R) / 2, B), frame);
  expect_ticks(f.x_ticks, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});  // about one per 80 px
  expect_ticks(f.y_ticks, {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0});  // one per 55 px
  const auto col = static_cast<std::size_t>(std::floor(f.x_to_px(4)));
  const auto row = static_cast<std::size_t>(std::floor(f.y_to_px(0.6)));
  EXPECT_EQ(img.pixel(col, static_cast<std::size_t>(f.y_to_px(0.5))), grid);  // vertical grid line at x = 4
  EXPECT_EQ(img.pixel(static_cast<std::size_t>(f.x_to_px(5.5)), row), grid);   // horizontal one at y = 0.6
  EXPECT_EQ(img.pixel(static_cast<std::size_t>(f.x_to_px(5.5)), row + 3), white);
  EXPECT_EQ(img.pixel(col, B + 3), frame);    // tick marks outside the frame
  EXPECT_EQ(img.pixel(L - 4, row), frame);
  EXPECT_EQ(img.pixel(col, B + 9), white);    // then a gap, then the label
}

TEST(LineChart, TextIsAntiAliasedInkWhereEachLabelBelongs) {
  Series s{"", {1, 2, 3, 4, 5}, {2.3, 1.2, 0.8, 0.6, 0.5}};
  LineChartOptions o;
  o.title = "Training loss per epoch";
  o.x_label = "epoch";
  o.y_label = "hinge loss";
  const Image img = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  const double W = static_cast<double>(img.width), H = static_cast<double>(img.height);

  const Ink title = ink(img, 0, 0, W, f.top - 2);
  EXPECT_GT(title.count, 300u);
  EXPECT_GT(title.edge, 100u);  // anti-aliased: many partly covered pixels
  EXPECT_NEAR(title.cx(), W / 2, 3);
  EXPECT_GT(title.w(), 150);    // one line of bold 18 px text
  EXPECT_GE(title.h(), 12);
  EXPECT_LE(title.h(), 24);

  const Ink x_label = ink(img, f.left, f.bottom + 28, f.right, H);  // below the tick labels
  EXPECT_GT(x_label.count, 60u);
  EXPECT_GT(x_label.edge, 20u);
  EXPECT_NEAR(x_label.cx(), (f.left + f.right) / 2, 3);
  EXPECT_GT(x_label.w(), 2 * x_label.h());  // horizontal text

  const Ink y_label = ink(img, 0, f.top, 34, f.bottom);  // left of the tick labels
  EXPECT_GT(y_label.count, 80u);
  EXPECT_GT(y_label.h(), 3 * y_label.w());  // reads upwards
  EXPECT_NEAR(y_label.cy(), (f.top + f.bottom) / 2, 3);
  EXPECT_GE(y_label.x0, 10);  // in the margin (ascenders rise a pixel above the capitals)

  // y tick labels end just left of their tick marks, x tick labels sit centred under theirs
  const Ink y_ticks = ink(img, 34, f.top - 8, f.left - 6, f.bottom + 8);
  EXPECT_GT(y_ticks.count, 100u);
  EXPECT_LE(y_ticks.x1, static_cast<long>(f.left) - 1 - 5 - 4);
  EXPECT_GT(y_ticks.x0, y_label.x1 + 8);  // the axis label clear of the tick labels
  const double x3 = std::floor(f.x_to_px(3)) + 0.5;
  const Ink three = ink(img, x3 - 12, f.bottom + 7, x3 + 12, f.bottom + 26);
  EXPECT_GT(three.count, 15u);
  EXPECT_NEAR(three.cx(), x3, 1.5);
}

// Cairo refuses invalid UTF-8 outright; the chart draws it as '?' instead, and
// accents and other scripts DejaVu covers come out as themselves.
TEST(LineChart, AnyBytesInTextAreDrawnAndTheChartCompletes) {
  Series s{"caf\xc3\xa9 \xff", {0, 1, 2}, {0, 1, 4}};
  LineChartOptions o, bad, question;
  o.title = "na\xc3\xafve \xce\xbb";  // "naïve λ"
  bad.title = "a\xff\xc3(b\tc\xed\xa0\x80\xc0\xaf";  // stray byte, cut sequence, tab, surrogate, overlong '/'
  question.title = "a?" "?(b?c??";  // split: "??(" would be a trigraph
  const Image img = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  EXPECT_GT(ink(img, 0, 0, static_cast<double>(img.width), f.top - 2).count, 100u);
  EXPECT_TRUE(colour_near(img, f.x_to_px(1), f.y_to_px(1), series_colour(0), 1));  // drawing went on
  const Image a = line_chart({s}, bad), b = line_chart({s}, question);
  EXPECT_EQ(a.rgb, b.rgb);
  EXPECT_THROW(line_chart({Series{"\xc3", {}, {1}}}), Error);  // input errors still name the series
}

// A fixed range cuts off data outside it: the segment is clipped at the frame, even
// when the point is astronomically far away, and nothing is drawn outside the plot area.
TEST(LineChart, SegmentsLeavingTheRangeAreClippedAtItsEdge) {
  Series s{"", {0, 1, 2, 3, 4}, {0.5, 0.5, 1e30, 0.5, 0.5}};
  LineChartOptions o;
  o.max_points_with_markers = 0;
  o.y_min = 0, o.y_max = 1;
  const Image img = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  EXPECT_TRUE(colour_near(img, f.x_to_px(0.5), f.y_to_px(0.5), series_colour(0), 1));
  EXPECT_TRUE(colour_near(img, f.x_to_px(3.5), f.y_to_px(0.5), series_colour(0), 1));
  EXPECT_TRUE(colour_near(img, f.x_to_px(1), f.y_to_px(0.9), series_colour(0), 1));  // the steep rise
  EXPECT_TRUE(colour_near(img, f.x_to_px(3), f.y_to_px(0.9), series_colour(0), 1));  // and fall
  EXPECT_FALSE(colour_near(img, f.x_to_px(2), f.y_to_px(0.5), series_colour(0), 4));
  std::size_t outside = 0;
  for (std::size_t y = 0; y < img.height; ++y)
    for (std::size_t x = 0; x < img.width; ++x) {
      const bool in = x >= f.left && x < f.right && y >= f.top && y < f.bottom;
      const Rgb p = img.pixel(x, y);
      outside += !in && !(p.r == p.g && p.g == p.b);
    }
  EXPECT_EQ(outside, 0u);
}

TEST(LineChart, ShortSeriesGetDotsAtTheirDataPoints) {
  Series s{"", {0, 1, 2, 3, 4}, {1, 1, 1, 1, 1}};
  LineChartOptions o;  // 5 points: markers
  const Image dotted = line_chart({s}, o);
  o.max_points_with_markers = 4;
  const Image plain = line_chart({s}, o);
  const ChartFrame f = chart_frame({s}, o);
  const double y = f.y_to_px(1);
  EXPECT_GE(coloured_run(dotted, f.x_to_px(2), y - 8, y + 8), 5u);  // a dot of radius 3
  EXPECT_LE(coloured_run(dotted, f.x_to_px(2.5), y - 8, y + 8), 3u);  // a 2 px line between dots
  EXPECT_LE(coloured_run(plain, f.x_to_px(2), y - 8, y + 8), 3u);
  EXPECT_GE(coloured_run(plain, f.x_to_px(2), y - 8, y + 8), 2u);
  const Image single = line_chart({Series{"", {0, 1, 2}, {1, NAN, 0}}}, o);  // isolated points are dots
  const ChartFrame g = chart_frame({Series{"", {0, 1, 2}, {1, NAN, 0}}}, o);
  EXPECT_TRUE(colour_near(single, g.x_to_px(0), g.y_to_px(1), series_colour(0), 1));
  EXPECT_TRUE(colour_near(single, g.x_to_px(2), g.y_to_px(0), series_colour(0), 1));
  EXPECT_FALSE(colour_near(single, g.x_to_px(1), g.y_to_px(0.5), series_colour(0), 4));
}

TEST(LineChart, LegendListsEverySeriesWithItsSwatch) {
  Series a{"train", {0, 10}, {10, 0}}, b{"test", {0, 10}, {9, 0}};  // falling: the upper right is free
  LineChartOptions o;
  o.max_points_with_markers = 0;
  const Image img = line_chart({a, b}, o);
  const ChartFrame f = chart_frame({a, b}, o);
  std::vector<std::size_t> rows[2];  // rows holding a 28 px run of each series colour
  for (std::size_t y = static_cast<std::size_t>(f.top); y < static_cast<std::size_t>(f.bottom); ++y)
    for (int k = 0; k < 2; ++k) {
      std::size_t run = 0, best = 0;
      for (auto x = static_cast<std::size_t>(f.left); x < static_cast<std::size_t>(f.right); ++x) {
        run = img.pixel(x, y) == series_colour(static_cast<std::size_t>(k)) ? run + 1 : 0;
        best = std::max(best, run);
      }
      if (best == 28) rows[k].push_back(y);
    }
  ASSERT_EQ(rows[0].size(), 3u);  // a 3 px tall swatch
  ASSERT_EQ(rows[1].size(), 3u);
  EXPECT_GT(rows[1][0], rows[0][2] + 10);  // one entry under the other, in series order
  EXPECT_LT(rows[0][0], (f.top + f.bottom) / 2);
  // the names are text to the right of the swatches, inside the plot's upper right
  const Ink names = ink(img, (f.left + f.right) / 2, f.top + 12, f.right - 12, rows[1][2] + 12.0);
  EXPECT_GT(names.count, 60u);
  EXPECT_GT(names.edge, 20u);
}

TEST(LineChart, RejectsBadInput) {
  EXPECT_THROW(line_chart({}), Error);
  try {
    line_chart({Series{"test", {1, 2, 3}, {1, 2}}});
    FAIL() << "no error for mismatched sizes";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("line_chart: series 'test' has 3 x values but 2 y values"));
  }
  EXPECT_THROW(line_chart({Series{"nan", {1, 2}, {NAN, NAN}}}), Error);
  LineChartOptions tiny;
  tiny.width = 10;
  EXPECT_THROW(line_chart({Series{"a", {1}, {1}}}, tiny), Error);
  LineChartOptions upside_down;
  upside_down.y_min = 1, upside_down.y_max = 0;
  EXPECT_THROW(line_chart({Series{"a", {1}, {1}}}, upside_down), Error);
}

// Every rejected chart names the function and the offending value.
TEST(PlotErrors, MessagesNameTheProblem) {
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message([] { format_tick(1, 0); }), "format_tick: need a finite value and a step > 0, got 1, 0");
  EXPECT_EQ(message([] { line_chart({}); }), "line_chart: no series to plot");
  LineChartOptions tiny;
  tiny.width = 10;
  EXPECT_EQ(message([&] { line_chart({Series{"a", {1}, {1}}}, tiny); }),
            "line_chart: a 10x500 chart is outside 240x180 .. 20000x20000");
  EXPECT_EQ(message([] { line_chart({Series{"nan", {1, 2}, {NAN, NAN}}}); }),
            "line_chart: no series has a point with finite x and y");
  LineChartOptions upside_down;
  upside_down.y_min = 1, upside_down.y_max = 0;
  EXPECT_EQ(message([&] { line_chart({Series{"a", {1}, {1}}}, upside_down); }),
            "line_chart: fixed y range [1, 0] is not a finite range with y_min < y_max");
}

}  // namespace
}  // namespace tapegrad
