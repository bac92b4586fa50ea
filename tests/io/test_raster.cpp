// The raster primitives of io/raster.cpp: fills, text, coverage lines, blending.
#include "io/raster.hpp"

#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kBlack{0, 0, 0};

std::size_t count(const Image& img, Rgb c) {
  std::size_t n = 0;
  for (std::size_t y = 0; y < img.height; ++y)
    for (std::size_t x = 0; x < img.width; ++x) n += img.pixel(x, y) == c;
  return n;
}

TEST(FillRect, FillsTheHalfOpenBoxClippedToTheImage) {
  Image img = Image::filled(5, 4, kWhite);
  const Rgb red{200, 10, 20};
  fill_rect(img, -2, 1, 3, 10, red);  // x in [0, 3), y in [1, 4) after clipping
  for (std::size_t y = 0; y < 4; ++y)
    for (std::size_t x = 0; x < 5; ++x) EXPECT_EQ(img.pixel(x, y), (x < 3 && y >= 1 ? red : kWhite)) << x << "," << y;
  fill_rect(img, 3, 0, 3, 4, kBlack);     // empty: x0 == x1
  fill_rect(img, 10, 10, 20, 20, kBlack);  // entirely outside
  fill_rect(img, 4, 3, 2, 1, kBlack);      // reversed corners: empty
  EXPECT_EQ(count(img, kBlack), 0u);
}

TEST(Text, DrawsInsideItsBoxAndReplacesNonAscii) {
  EXPECT_EQ(text_width("", 2), 0u);
  EXPECT_EQ(text_width("T-shirt/top", 2), 2 * text_width("T-shirt/top", 1));
  EXPECT_EQ(text_width("\xc3\xa9\n\t", 1), text_width("????", 1));  // UTF-8 é, newline, tab
  Image img = Image::filled(200, 60, {255, 255, 255});
  const std::string text = "Ankle boot";
  draw_text(img, 10, 20, text, {0, 0, 0}, 2);
  const std::size_t w = text_width(text, 2), h = text_height(2);
  std::size_t inside = 0, outside = 0;
  for (std::size_t y = 0; y < img.height; ++y)
    for (std::size_t x = 0; x < img.width; ++x) {
      if (img.pixel(x, y) != Rgb{0, 0, 0}) continue;
      (x >= 10 && x < 10 + w && y >= 20 && y < 20 + h ? inside : outside) += 1;
    }
  EXPECT_GT(inside, 100u);
  EXPECT_EQ(outside, 0u);
  draw_text(img, -50, -5, text, {0, 0, 0}, 2);  // clipped, not out of bounds
  draw_text(img, 190, 55, text, {0, 0, 0}, 2);
}

// Reading upwards is draw_text turned 90° counter-clockwise: the pixel (u, v) of
// the text drawn at (0, 0) lands on (x + v, y + width − 1 − u).
TEST(Text, UpwardTextIsTheTextRotated) {
  const std::string text = "Loss 0.5g";
  const std::size_t scale = 2, w = text_width(text, scale), h = text_height(scale);
  Image flat = Image::filled(w, h, kWhite);
  draw_text(flat, 0, 0, text, kBlack, scale);
  const long x = 7, y = 11;
  Image up = Image::filled(h + 20, w + 30, kWhite);
  draw_text_up(up, x, y, text, kBlack, scale);
  std::size_t ink = 0;
  for (std::size_t v = 0; v < h; ++v)
    for (std::size_t u = 0; u < w; ++u) {
      const bool inked = flat.pixel(u, v) == kBlack;
      ink += inked;
      EXPECT_EQ(up.pixel(x + v, y + w - 1 - u) == kBlack, inked) << "u=" << u << " v=" << v;
    }
  EXPECT_GT(ink, 100u);
  EXPECT_EQ(count(up, kBlack), ink);  // nothing outside the rotated box
  draw_text_up(up, -30, -200, text, kBlack, scale);  // clipped, not out of bounds
}

TEST(Text, CentredTextStartsHalfItsWidthLeftOfTheCentre) {
  const std::string text = "Ankle boot";
  const std::size_t w = text_width(text, 2);
  ASSERT_EQ(w % 2, 0u);
  Image a = Image::filled(200, 30, kWhite), b = a;
  draw_text_centred(a, 100.0, 5, text, kBlack, 2);
  draw_text(b, 100 - static_cast<long>(w / 2), 5, text, kBlack, 2);
  EXPECT_EQ(a.rgb, b.rgb);
  EXPECT_GT(count(a, kBlack), 50u);
}

// A horizontal segment of radius 1 along y = 5.5: full coverage on its row,
// r + 0.5 − d = 0.5 on the rows beside it, none further out or past the caps.
TEST(Coverage, SegmentIsACapsuleWithASoftEdge) {
  Coverage c(12, 12);
  ASSERT_EQ(c.a.size(), 144u);
  c.segment(2, 5.5, 8, 5.5, 1.0);
  auto at = [&](std::size_t x, std::size_t y) { return c.a[y * 12 + x]; };
  for (std::size_t x = 2; x < 8; ++x) {
    EXPECT_FLOAT_EQ(at(x, 5), 1.0f) << x;
    EXPECT_FLOAT_EQ(at(x, 4), 0.5f) << x;
    EXPECT_FLOAT_EQ(at(x, 6), 0.5f) << x;
    EXPECT_EQ(at(x, 3), 0.0f) << x;
    EXPECT_EQ(at(x, 7), 0.0f) << x;
  }
  EXPECT_FLOAT_EQ(at(8, 5), 1.0f);  // centre 0.5 past the end: d = 0.5
  EXPECT_EQ(at(9, 5), 0.0f);        // d = 1.5 = r + 0.5
  EXPECT_FLOAT_EQ(at(0, 5), 0.0f);
  EXPECT_FLOAT_EQ(at(1, 5), 1.0f);
  // Coverage only rises: a fainter mark leaves a stronger one.
  c.mark(4, 5, 0.25);
  EXPECT_FLOAT_EQ(at(4, 5), 1.0f);
  c.mark(0, 0, 0.25);
  EXPECT_FLOAT_EQ(at(0, 0), 0.25f);
  // A zero-length segment is a dot; off-region geometry is clipped.
  Coverage dot(9, 9);
  dot.segment(4.5, 4.5, 4.5, 4.5, 3.0);
  EXPECT_FLOAT_EQ(dot.a[4 * 9 + 4], 1.0f);
  EXPECT_FLOAT_EQ(dot.a[4 * 9 + 6], 1.0f);  // d = 2
  EXPECT_FLOAT_EQ(dot.a[4 * 9 + 7], 0.5f);  // d = 3
  EXPECT_FLOAT_EQ(dot.a[4 * 9 + 8], 0.0f);  // d = 4
  EXPECT_FLOAT_EQ(dot.a[7 * 9 + 4], 0.5f);  // the same below the centre
  Coverage off(4, 4);
  off.segment(-100, -100, -50, 200, 1.0);
  off.segment(1e6, 1e6, 2e6, 2e6, 2.0);
  for (float v : off.a) EXPECT_EQ(v, 0.0f);
}

TEST(Blend, MixesTheColourInByCoverage) {
  Image img = Image::filled(4, 3, {100, 100, 100});
  Coverage c(2, 2);
  c.a = {1.0f, 0.5f, 0.0f, 0.25f};
  blend(img, 1, 1, c, {200, 0, 50});
  EXPECT_EQ(img.pixel(1, 1), (Rgb{200, 0, 50}));
  EXPECT_EQ(img.pixel(2, 1), (Rgb{150, 50, 75}));
  EXPECT_EQ(img.pixel(1, 2), (Rgb{100, 100, 100}));
  EXPECT_EQ(img.pixel(2, 2), (Rgb{125, 75, 88}));  // 100·0.75 + 50·0.25 = 87.5 rounds up
  for (std::size_t y = 0; y < 3; ++y) {
    EXPECT_EQ(img.pixel(0, y), (Rgb{100, 100, 100}));
    EXPECT_EQ(img.pixel(3, y), (Rgb{100, 100, 100}));
  }
  for (std::size_t x = 0; x < 4; ++x) EXPECT_EQ(img.pixel(x, 0), (Rgb{100, 100, 100}));
}

}  // namespace
}  // namespace tapegrad
