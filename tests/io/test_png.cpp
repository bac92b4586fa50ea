#include <png.h>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include <gmock/gmock.h>

#include "io/png.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh directory per test, removed afterwards.
class PngTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tapegrad_png_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename().string());
    return names;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

Image pattern(std::size_t w, std::size_t h, unsigned seed) {
  Image img = Image::filled(w, h, {0, 0, 0});
  for (std::size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<std::uint8_t>((i * 37 + seed * 101) % 256);
  return img;
}

// Reads with libpng's own (simplified) reader, converting to 8-bit RGB.
Image read_png(const std::string& path) {
  png_image im{};
  im.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&im, path.c_str())) ADD_FAILURE() << "libpng cannot open " << path << ": " << im.message;
  im.format = PNG_FORMAT_RGB;
  Image img{im.width, im.height, std::vector<std::uint8_t>(PNG_IMAGE_SIZE(im))};
  if (!png_image_finish_read(&im, nullptr, img.rgb.data(), 0, nullptr)) ADD_FAILURE() << "libpng cannot read " << path << ": " << im.message;
  return img;
}

TEST_F(PngTest, RoundTripPreservesEveryPixel) {
  const Image img = pattern(37, 23, 1);  // odd sizes: no row padding assumptions
  write_png(path("a.png"), img);
  const Image back = read_png(path("a.png"));
  EXPECT_EQ(back.width, 37u);
  EXPECT_EQ(back.height, 23u);
  EXPECT_EQ(back.rgb, img.rgb);
  EXPECT_EQ(entries(), std::set<std::string>{"a.png"});  // no temporary file left behind
}

TEST_F(PngTest, OverwritesAnExistingFile) {
  write_png(path("a.png"), pattern(5, 4, 1));
  write_png(path("a.png"), pattern(3, 6, 2));
  const Image back = read_png(path("a.png"));
  EXPECT_EQ(back.width, 3u);
  EXPECT_EQ(back.rgb, pattern(3, 6, 2).rgb);
  EXPECT_EQ(entries(), std::set<std::string>{"a.png"});
}

TEST_F(PngTest, MissingDirectoryThrowsNamingTheFileAndCreatesNothing) {
  const std::string target = path("no/such/dir/a.png");
  try {
    write_png(target, pattern(2, 2, 1));
    FAIL() << "no error for a missing directory";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("write_png: cannot create a temporary file next to '" + target + "'"));
  }
  EXPECT_TRUE(entries().empty());
}

// The rename is the last step: when it fails, the complete temporary file must go.
TEST_F(PngTest, FailedRenameRemovesTheTemporaryFile) {
  fs::create_directories(path("a.png/inside"));  // a non-empty directory cannot be replaced by a file
  try {
    write_png(path("a.png"), pattern(4, 4, 1));
    FAIL() << "no error when the target is a directory";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("write_png: cannot rename '" + path("a.png") + ".tmp."));
    EXPECT_THAT(e.what(), HasSubstr("' to '" + path("a.png") + "'"));
  }
  EXPECT_EQ(entries(), std::set<std::string>{"a.png"});
  EXPECT_TRUE(fs::is_directory(path("a.png")));
}

// libpng rejects widths above its user limit (1e6) inside png_set_IHDR, after the
// temporary file exists: the error must come back through longjmp as an Error, the
// temporary file must be removed, and the previous image must survive untouched.
TEST_F(PngTest, LibpngErrorLeavesThePreviousFileIntact) {
  const Image old = pattern(6, 5, 3);
  write_png(path("a.png"), old);
  const Image wide = Image::filled(1000001, 1, {1, 2, 3});
  try {
    write_png(path("a.png"), wide);
    FAIL() << "no error for a width libpng refuses";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("write_png: libpng failed writing '" + path("a.png") + "': Invalid IHDR data"));
    EXPECT_THAT(e.what(), HasSubstr("width exceeds user limit"));
  }
  EXPECT_EQ(entries(), std::set<std::string>{"a.png"});
  EXPECT_EQ(read_png(path("a.png")).rgb, old.rgb);
}

TEST_F(PngTest, RejectsInconsistentImagesBeforeTouchingTheDisk) {
  Image short_buffer{4, 3, std::vector<std::uint8_t>(35)};
  try {
    write_png(path("a.png"), short_buffer);
    FAIL() << "no error for a short buffer";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("write_png: a 4x3 RGB image needs 36 bytes but has 35 ('" + path("a.png") + "')"));
  }
  EXPECT_THROW(write_png(path("a.png"), Image{}), Error);
  EXPECT_THROW(write_png("", pattern(1, 1, 0)), Error);
  EXPECT_TRUE(entries().empty());
}

TEST(Image, FilledPixelAccessAndBounds) {
  Image img = Image::filled(3, 2, {10, 20, 30});
  ASSERT_EQ(img.rgb.size(), 18u);
  EXPECT_EQ(img.pixel(2, 1), (Rgb{10, 20, 30}));
  img.set_pixel(1, 1, {1, 2, 3});
  EXPECT_EQ(img.rgb[3 * (1 * 3 + 1) + 2], 3);  // row-major, 3 bytes per pixel
  EXPECT_EQ(img.pixel(1, 1), (Rgb{1, 2, 3}));
  try {
    img.pixel(3, 0);
    FAIL() << "no error outside the image";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Image::pixel: (3, 0) is outside a 3x2 image"));
  }
  EXPECT_THROW(img.set_pixel(0, 2, {}), Error);
}

TEST(WritePng, EmptyPathAndEmptyImageAreRefused) {
  EXPECT_THAT([] { write_png("", Image::filled(2, 2, {})); },
              ::testing::ThrowsMessage<Error>(::testing::StrEq("write_png: the path is empty")));
  EXPECT_THAT([] { write_png("never-written.png", Image{}); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::StrEq("write_png: cannot write an empty 0x0 image to 'never-written.png'")));
  EXPECT_FALSE(fs::exists("never-written.png"));
}

TEST(Image, SetPixelOutsideTheImageIsAnError) {
  Image img = Image::filled(3, 2, {1, 2, 3});
  EXPECT_THAT([&] { img.set_pixel(0, 2, {}); },
              ::testing::ThrowsMessage<Error>(::testing::StrEq("Image::set_pixel: (0, 2) is outside a 3x2 image")));
  EXPECT_EQ(img.pixel(0, 1), (Rgb{1, 2, 3}));
}

}  // namespace
}  // namespace tapegrad
