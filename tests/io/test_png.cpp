// write_png (io/png.cpp): the file is a valid PNG with exactly the image's pixels
// (read back by a small decoder here, independent of cairo), and every failure
// leaves the target as it was and no temporary file behind.
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <gmock/gmock.h>

#include <tapegrad/io/png.hpp>
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
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_ / "ro", fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_);
  }

  std::set<std::string> entries(const fs::path& dir) const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
  }
  std::set<std::string> entries() const { return entries(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

Image pattern(std::size_t w, std::size_t h, unsigned seed) {
  Image img = Image::filled(w, h, {0, 0, 0});
  for (std::size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<std::uint8_t>((i * 37 + seed * 101) % 256);
  return img;
}

// Pseudo-random bytes: a PNG of these does not compress.
Image noise(std::size_t w, std::size_t h) {
  Image img = Image::filled(w, h, {0, 0, 0});
  std::uint32_t s = 12345;
  for (std::uint8_t& b : img.rgb) b = static_cast<std::uint8_t>((s = s * 1664525u + 1013904223u) >> 24);
  return img;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

// Decodes an 8-bit RGB, non-interlaced PNG, checking the signature, every chunk's
// CRC and the IHDR fields; any deviation is a test failure and an empty image.
Image read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.compare(0, 8, "\x89PNG\r\n\x1a\n", 8) != 0) {
    ADD_FAILURE() << path << ": no PNG signature";
    return {};
  }
  std::size_t w = 0, h = 0, at = 8;
  std::string idat;
  bool ended = false;
  while (!ended) {
    if (at + 12 > file.size()) {
      ADD_FAILURE() << path << ": truncated at byte " << at;
      return {};
    }
    const std::uint32_t len = be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    if (at + 12 + len > file.size()) {
      ADD_FAILURE() << path << ": chunk " << type << " runs past the end";
      return {};
    }
    const auto* bytes = reinterpret_cast<const Bytef*>(file.data() + at + 4);
    if (crc32(0, bytes, len + 4) != be32(file, at + 8 + len)) ADD_FAILURE() << path << ": bad CRC in " << type;
    const std::string data = file.substr(at + 8, len);
    if (type == "IHDR") {
      w = be32(data, 0), h = be32(data, 4);
      EXPECT_EQ(data.substr(8, 5), std::string("\x08\x02\x00\x00\x00", 5)) << "8-bit RGB, deflate, no interlace";
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  EXPECT_EQ(at, file.size()) << "bytes after IEND";
  const std::size_t stride = w * 3;
  std::vector<std::uint8_t> raw(h * (stride + 1));
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    ADD_FAILURE() << path << ": IDAT does not inflate to " << raw.size() << " bytes";
    return {};
  }
  Image img{w, h, std::vector<std::uint8_t>(h * stride)};
  for (std::size_t y = 0; y < h; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* src = &raw[y * (stride + 1) + 1];
    std::uint8_t* row = &img.rgb[y * stride];
    const std::uint8_t* up = y > 0 ? &img.rgb[(y - 1) * stride] : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? row[i - 3] : 0, b = up ? up[i] : 0, c = up && i >= 3 ? up[i - 3] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: ADD_FAILURE() << path << ": filter " << int(filter) << " in row " << y; return {};
      }
      row[i] = static_cast<std::uint8_t>(src[i] + pred);
    }
  }
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
  const Image random = noise(64, 9);  // every byte value, every filter's arithmetic
  write_png(path("b.png"), random);
  EXPECT_EQ(read_png(path("b.png")).rgb, random.rgb);
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
    EXPECT_EQ(std::string(e.what()),
              "write_png: cannot create a temporary file next to '" + target + "': No such file or directory");
  }
  EXPECT_TRUE(entries().empty());
}

// A directory its user cannot write to: the old file stays, nothing is added. Root
// may write anywhere, so the attempt runs in a child process as user nobody then.
TEST_F(PngTest, ReadOnlyDirectoryKeepsTheOldFileAndAddsNothing) {
  const fs::path ro = dir_ / "ro";
  fs::create_directory(ro);
  const Image old = pattern(6, 5, 3);
  write_png((ro / "a.png").string(), old);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                          fs::perms::others_read | fs::perms::others_exec);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child reports the error message through the pipe
    ::close(out[0]);
    std::string message = "no error";
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) message = "cannot become nobody";
    else {
      try {
        write_png((ro / "a.png").string(), pattern(4, 4, 9));
      } catch (const Error& e) {
        message = e.what();
      }
    }
    (void)!::write(out[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(out[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(message, "write_png: cannot create a temporary file next to '" + (ro / "a.png").string() +
                         "': Permission denied");
  EXPECT_EQ(entries(ro), std::set<std::string>{"a.png"});
  EXPECT_EQ(read_png((ro / "a.png").string()).rgb, old.rgb);
}

// The rename is the last step: when it fails, the complete temporary file must go.
TEST_F(PngTest, FailedRenameRemovesTheTemporaryFile) {
  fs::create_directories(path("a.png/inside"));  // a non-empty directory cannot be replaced by a file
  try {
    write_png(path("a.png"), pattern(4, 4, 1));
    FAIL() << "no error when the target is a directory";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("write_png: cannot rename '" + path("a.png") + ".tmp."));
    EXPECT_THAT(e.what(), HasSubstr("' to '" + path("a.png") + "': Is a directory"));
  }
  EXPECT_EQ(entries(), std::set<std::string>{"a.png"});
  EXPECT_TRUE(fs::is_directory(path("a.png")));
}

// A write that fails midway (here: past a file size limit, as a full disk would)
// comes back from cairo's encoder as an Error naming the file and the reason; the
// partial temporary file is removed and the previous image survives untouched.
TEST_F(PngTest, FailedWriteMidwayLeavesThePreviousFileIntact) {
  const Image old = pattern(6, 5, 3);
  write_png(path("a.png"), old);
  const Image big = noise(200, 200);  // about 120 kB of PNG
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 16384;
  void (*previous)(int) = ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message = "no error";
  try {
    write_png(path("a.png"), big);
  } catch (const Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, previous);
  EXPECT_EQ(message, "write_png: cannot write the temporary file for '" + path("a.png") + "': File too large");
  EXPECT_EQ(entries(), std::set<std::string>{"a.png"});
  EXPECT_EQ(read_png(path("a.png")).rgb, old.rgb);
  write_png(path("a.png"), big);  // and with the limit lifted it goes through
  EXPECT_EQ(read_png(path("a.png")).rgb, big.rgb);
}

TEST_F(PngTest, RejectsInconsistentImagesBeforeTouchingTheDisk) {
  Image short_buffer{4, 3, std::vector<std::uint8_t>(35)};
  try {
    write_png(path("a.png"), short_buffer);
    FAIL() << "no error for a short buffer";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("write_png: a 4x3 RGB image needs 36 bytes but has 35 ('" + path("a.png") + "')"));
  }
  EXPECT_THAT([&] { write_png(path("a.png"), Image::filled(kMaxPngSide + 1, 1, {1, 2, 3})); },
              ::testing::ThrowsMessage<Error>(::testing::StrEq(
                  "write_png: a 32768x1 image is larger than cairo's 32767x32767 limit ('" + path("a.png") + "')")));
  EXPECT_THROW(write_png(path("a.png"), Image{}), Error);
  EXPECT_THROW(write_png("", pattern(1, 1, 0)), Error);
  EXPECT_TRUE(entries().empty());
  write_png(path("wide.png"), Image::filled(kMaxPngSide, 1, {1, 2, 3}));  // the limit itself is fine
  const Image wide = read_png(path("wide.png"));
  EXPECT_EQ(wide.width, kMaxPngSide);
  EXPECT_EQ(wide.pixel(kMaxPngSide - 1, 0), (Rgb{1, 2, 3}));
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
