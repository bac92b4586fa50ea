// The .npz container under checkpoints: the bytes zip_npz writes, read back by
// an independent walker (as Python's zipfile reads them); round trips; every
// truncation and every single-byte change rejected; the strict .npy entry
// codec with its errors; and the file: atomic replacement that survives SIGKILL.
#include <tapegrad/io/zip.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <gmock/gmock.h>
#include <zlib.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

const std::string kWhere = "test: a.npz: ";

std::uint32_t le(const std::string& s, std::size_t at, int n) {
  std::uint32_t v = 0;
  for (int k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[at + k]);
  return v;
}

NpyArray array(const char* dtype, Shape shape, const std::string& data) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.assign(data.begin(), data.end());
  return a;
}

// Three entries: a (2, 3) float32, a 0-d int64 and an empty byte string.
std::vector<NpzEntry> sample() {
  return {{"param/W", npy_entry_bytes(array("<f4", {2, 3}, std::string(24, '\x3f')))},
          {"meta/epoch", npy_entry_bytes(array("<i8", {}, std::string("\x07\0\0\0\0\0\0\0", 8)))},
          {"meta/name", npy_entry_bytes(array("|u1", {0}, ""))}};
}

std::string error_of(const std::string& z) {
  try {
    unzip_npz(z.data(), z.size(), kWhere);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Zip, LayoutIsAStoredArchiveThatNumpyReads) {
  const std::vector<NpzEntry> es = sample();
  const std::string z = zip_npz(es, kWhere);
  // End record: one disk, 3 entries, the central directory right before it.
  const std::size_t end = z.size() - 22;
  EXPECT_EQ(le(z, end, 4), 0x06054b50u);
  EXPECT_EQ(le(z, end + 4, 4), 0u);   // disk numbers
  EXPECT_EQ(le(z, end + 8, 2), 3u);   // entries on this disk
  EXPECT_EQ(le(z, end + 10, 2), 3u);  // entries in all
  EXPECT_EQ(le(z, end + 20, 2), 0u);  // no comment
  const std::size_t cd = le(z, end + 16, 4);
  EXPECT_EQ(cd + le(z, end + 12, 4), end);
  std::size_t local = 0, central = cd;
  for (const NpzEntry& e : es) {
    SCOPED_TRACE(e.name);
    const std::string name = e.name + ".npy";
    const auto crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(e.bytes.data()),
                                                      static_cast<uInt>(e.bytes.size())));
    // Local header, then the name and the bytes, entries back to back.
    EXPECT_EQ(le(z, local, 4), 0x04034b50u);
    EXPECT_EQ(le(z, local + 4, 2), 20u);  // version 2.0 needed
    EXPECT_EQ(le(z, local + 6, 2), 0u);   // no flags: no data descriptor, no encryption
    EXPECT_EQ(le(z, local + 8, 2), 0u);   // method 0: stored, as numpy.load handles
    EXPECT_EQ(le(z, local + 10, 4), 33u << 16);  // 00:00, 1980-01-01: the same entries, the same bytes
    EXPECT_EQ(le(z, local + 14, 4), crc);
    EXPECT_EQ(le(z, local + 18, 4), e.bytes.size());
    EXPECT_EQ(le(z, local + 22, 4), e.bytes.size());
    EXPECT_EQ(le(z, local + 26, 2), name.size());
    EXPECT_EQ(le(z, local + 28, 2), 0u);  // no extra field
    EXPECT_EQ(z.substr(local + 30, name.size()), name);
    EXPECT_EQ(z.substr(local + 30 + name.size(), e.bytes.size()), e.bytes);
    // Central directory record pointing back at it.
    EXPECT_EQ(le(z, central, 4), 0x02014b50u);
    EXPECT_EQ(le(z, central + 4, 4), 20u | (20u << 16));
    EXPECT_EQ(le(z, central + 8, 4), 0u);
    EXPECT_EQ(le(z, central + 12, 4), 33u << 16);
    EXPECT_EQ(le(z, central + 16, 4), crc);
    EXPECT_EQ(le(z, central + 20, 4), e.bytes.size());
    EXPECT_EQ(le(z, central + 24, 4), e.bytes.size());
    EXPECT_EQ(le(z, central + 28, 2), name.size());
    EXPECT_EQ(z.substr(central + 30, 12), std::string(12, '\0'));  // extra, comment, disk, attributes
    EXPECT_EQ(le(z, central + 42, 4), local);
    EXPECT_EQ(z.substr(central + 46, name.size()), name);
    local += 30 + name.size() + e.bytes.size();
    central += 46 + name.size();
  }
  EXPECT_EQ(local, cd);
  EXPECT_EQ(central, end);
  EXPECT_EQ(zip_npz(es, kWhere), z);  // deterministic
}

TEST(Zip, NpyEntriesAreNumpysVersion1Layout) {
  const std::string b = npy_entry_bytes(array("<f4", {2, 3}, std::string(24, 'x')));
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = le(b, 8, 2);
  EXPECT_EQ(header_len, 118u);  // 10 + 118 = 128: the data start 64-byte aligned
  EXPECT_EQ(b.substr(10, header_len),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') + "\n");
  EXPECT_EQ(b.substr(128), std::string(24, 'x'));
  EXPECT_THAT(npy_entry_bytes(array("<i8", {5}, std::string(40, '\0'))), HasSubstr("'shape': (5,), }"));
  EXPECT_THAT(npy_entry_bytes(array("<i8", {}, std::string(8, '\0'))), HasSubstr("'shape': (), }"));
}

TEST(Zip, RoundTripsEntriesAndArrays) {
  const std::vector<NpzEntry> es = sample();
  const std::string z = zip_npz(es, kWhere);
  const std::vector<NpzEntry> back = unzip_npz(z.data(), z.size(), kWhere);
  ASSERT_EQ(back.size(), es.size());
  for (std::size_t k = 0; k < es.size(); ++k) {
    EXPECT_EQ(back[k].name, es[k].name);
    EXPECT_EQ(back[k].bytes, es[k].bytes);
  }
  const NpyArray w = parse_npy_entry(back[0], kWhere);
  EXPECT_EQ(w.dtype, "<f4");
  EXPECT_EQ(w.shape, (Shape{2, 3}));
  EXPECT_EQ(std::string(w.data.begin(), w.data.end()), std::string(24, '\x3f'));
  const NpyArray epoch = parse_npy_entry(back[1], kWhere);
  EXPECT_EQ(epoch.shape, Shape{});
  EXPECT_EQ(epoch.data.size(), 8u);
  EXPECT_EQ(epoch.data[0], 7);
  const NpyArray name = parse_npy_entry(back[2], kWhere);
  EXPECT_EQ(name.shape, Shape{0});
  EXPECT_TRUE(name.data.empty());
  const std::vector<std::size_t> rank3 = {4, 0, 2};
  const NpyArray empty = parse_npy_entry({"e", npy_entry_bytes(array("<f8", rank3, ""))}, kWhere);
  EXPECT_EQ(empty.shape, rank3);
}

TEST(Zip, EveryTruncationAndEverySingleByteChangeIsAnError) {
  const std::string z = zip_npz(sample(), kWhere);
  for (std::size_t n = 0; n < z.size(); ++n)
    ASSERT_THAT(error_of(z.substr(0, n)), StartsWith(kWhere)) << "truncated to " << n << " of " << z.size();
  for (unsigned char flip : {0x01, 0x80, 0xFF})
    for (std::size_t at = 0; at < z.size(); ++at) {
      std::string bad = z;
      bad[at] = char(bad[at] ^ flip);
      ASSERT_THAT(error_of(bad), StartsWith(kWhere)) << "byte " << at << " ^ " << int(flip);
    }
  EXPECT_THAT(error_of(z + '\0'), HasSubstr("no ZIP end record"));
  EXPECT_THAT(error_of(""), HasSubstr("only 0 bytes: truncated, or not a checkpoint"));
}

TEST(Zip, ReaderErrorsNameTheProblem) {
  const std::string z = zip_npz(sample(), kWhere);
  const std::size_t data = 30 + std::strlen("param/W.npy");
  std::string bad = z;
  bad[data + 130] ^= 0x40;  // a data byte of param/W
  EXPECT_THAT(error_of(bad), HasSubstr("ZIP entry 'param/W' fails its CRC-32 check (stored "));
  // A consistent archive whose local header says "deflated": only the rebuild catches it.
  bad = z;
  bad[8] = 8;
  EXPECT_EQ(error_of(bad), kWhere + "byte 8 differs from the ZIP layout save_checkpoint writes: corrupted, or not "
                                    "written by tapegrad");
  const std::string none = zip_npz({}, kWhere);
  EXPECT_EQ(none.size(), 22u);
  EXPECT_EQ(error_of(none), kWhere + "the ZIP archive holds no entries");
  // An entry whose name lacks ".npy" (the central directory's copy edited).
  bad = z;
  bad[bad.find("param/W.npy", z.size() / 2) + 8] = 'x';
  EXPECT_THAT(error_of(bad), HasSubstr("ZIP entry 'param/W.xpy' is not a .npy array"));
  // The end record claims a directory that does not end where it starts.
  bad = z;
  bad[z.size() - 22 + 12] ^= 1;
  EXPECT_THAT(error_of(bad), HasSubstr("does not end where the end record starts"));
}

TEST(Zip, WriterRefusesMoreThan65535Entries) {
  std::vector<NpzEntry> es(65536, NpzEntry{"e", ""});
  EXPECT_THAT([&] { zip_npz(es, kWhere); },
              ThrowsMessage<Error>(HasSubstr(kWhere + "the checkpoint would take 5636118 bytes in 65536 entries: "
                                                      "over the ZIP limits")));
  es.pop_back();
  EXPECT_EQ(zip_npz(es, kWhere).size(), 5636118u - (30 + 46 + 2 * 5));  // 86 bytes per entry
}

std::string entry_error(const std::string& bytes) {
  try {
    parse_npy_entry({"x\ty", bytes}, kWhere);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Zip, NpyEntryParserAcceptsOnlyWhatTheWriterWrites) {
  const std::string good = npy_entry_bytes(array("<f8", {3}, std::string(24, '\0')));
  EXPECT_EQ(entry_error(good), "no error");
  for (const char* dtype : {"<f4", "<f8", "<i8", "<u8", "|u1"})
    EXPECT_EQ(entry_error(npy_entry_bytes(array(dtype, {0}, ""))), "no error") << dtype;
  const std::string prefix = kWhere + "entry 'x\\x09y': ";
  for (const char* dtype : {">f8", "|b1", "<i4", "<f2", ""})
    EXPECT_THAT(entry_error(npy_entry_bytes(array(dtype, {0}, ""))),
                StartsWith(prefix + "malformed or unexpected .npy header")) << dtype;
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THAT(entry_error(fortran), StartsWith(prefix + "malformed or unexpected .npy header \"{'descr': '<f8', "
                                                        "'fortran_order': True , 'shape': (3,), }"));
  std::string spaced = good;  // NumPy would read it; the layout is not the one written
  spaced.replace(spaced.find(", }"), 3, ",} ");
  EXPECT_THAT(entry_error(spaced), StartsWith(prefix + "malformed or unexpected .npy header"));
  std::string v2 = good;
  v2[6] = 2;
  EXPECT_EQ(entry_error(v2), prefix + "not a version 1.0 .npy array");
  EXPECT_EQ(entry_error(good.substr(0, 100)), prefix + "the .npy header runs past the entry");
  EXPECT_EQ(entry_error(good + "12345678"), prefix + "shape (3) of <f8 does not match its 32 data bytes");
  EXPECT_EQ(entry_error(good.substr(0, good.size() - 1)), prefix + "shape (3) of <f8 does not match its 23 data bytes");
  // Absurd shapes saturate instead of overflowing the element count.
  const std::string huge = npy_entry_bytes(array("<f8", {999999999999, 999999999999, 999999999999}, ""));
  EXPECT_THAT(entry_error(huge + std::string(8, '\0')), HasSubstr("does not match its 8 data bytes"));
}

TEST(Zip, Crc32AndEscapes) {
  EXPECT_EQ(crc32_of("123456789", 9), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(crc32_of("6789", 4, crc32_of("12345", 5)), 0xCBF43926u);
  EXPECT_EQ(crc32_of("", 0), 0u);
  EXPECT_EQ(escaped("plain name/0"), "plain name/0");
  EXPECT_EQ(escaped(std::string("a\\b\n\0\x7f\xff", 7)), "a\\x5cb\\x0a\\x00\\x7f\\xff");
  EXPECT_EQ(escaped(std::string(80, 'q')), std::string(80, 'q'));
  EXPECT_EQ(escaped(std::string(81, 'q')), std::string(80, 'q') + "...");
  EXPECT_EQ(escaped(std::string(30, '\x01')), [] {
    std::string s;
    for (int k = 0; k < 20; ++k) s += "\\x01";
    return s + "...";
  }());
}

namespace fs = std::filesystem;

class ZipFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("tapegrad_zip_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& f : fs::directory_iterator(dir_)) names.push_back(f.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string error_of(const std::function<void()>& f) const {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

TEST_F(ZipFile, WritesAndReadsWholeFiles) {
  const std::string z = zip_npz(sample(), kWhere);
  write_npz_file(path("a.npz"), z, kWhere);
  EXPECT_EQ(read_npz_file(path("a.npz"), kWhere), z);
  write_npz_file(path("a.npz"), "", kWhere);  // replaced, even by nothing
  EXPECT_EQ(read_npz_file(path("a.npz"), kWhere), "");
  EXPECT_EQ(files(), std::vector<std::string>{"a.npz"});
  EXPECT_EQ(error_of([&] { read_npz_file(path("absent.npz"), kWhere); }),
            kWhere + "cannot open: No such file or directory");
  EXPECT_EQ(error_of([&] { read_npz_file(dir_.string(), kWhere); }), kWhere + "not a regular file");
}

TEST_F(ZipFile, FailedWritesLeaveTheOldFileAndNoTemporary) {
  write_npz_file(path("a.npz"), "old", kWhere);
  EXPECT_EQ(error_of([&] { write_npz_file(path("no/such/dir/a.npz"), "new", kWhere); }),
            kWhere + "cannot create a temporary file beside it: No such file or directory");
  fs::create_directories(path("taken.npz"));
  EXPECT_EQ(error_of([&] { write_npz_file(path("taken.npz"), "new", kWhere); }),
            kWhere + "cannot rename the temporary file into place: Is a directory (the previous checkpoint, if "
                     "any, is unchanged)");
  EXPECT_EQ(read_npz_file(path("a.npz"), kWhere), "old");
  EXPECT_EQ(files(), (std::vector<std::string>{"a.npz", "taken.npz"}));  // every temporary removed
}

// Version k of an archive: a (32, 32) float array of k and k itself as <i8.
std::string version(std::int64_t k) {
  const std::vector<float> w(32 * 32, static_cast<float>(k));
  std::string data(reinterpret_cast<const char*>(w.data()), w.size() * 4);
  return zip_npz({{"k", npy_entry_bytes(array("<i8", {}, std::string(reinterpret_cast<const char*>(&k), 8)))},
                  {"w", npy_entry_bytes(array("<f4", {32, 32}, data))}},
                 kWhere);
}

// A child process replaces the file with ever newer versions; the parent
// SIGKILLs it at random moments. After every kill the file must be one complete
// version, never a mix, and never older than the last one seen.
TEST_F(ZipFile, SurvivesSigkillAtRandomMoments) {
  const std::string p = path("live.npz");
  write_npz_file(p, version(0), kWhere);
  std::mt19937 rng(20240601);
  std::int64_t last = 0;
  int kills = 0, advanced = 0;
  const auto start = std::chrono::steady_clock::now();
  while (kills < 150 && std::chrono::steady_clock::now() - start < std::chrono::seconds(12)) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(30);  // never outlive a crashed parent for long
      try {
        for (std::int64_t k = last + 1;; ++k) write_npz_file(p, version(k), kWhere);
      } catch (...) {
        ::_exit(3);
      }
    }
    ::usleep(std::uniform_int_distribution<unsigned>(0, 15000)(rng));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writing child failed: " << status;
    ++kills;
    const std::string z = read_npz_file(p, kWhere);
    const std::vector<NpzEntry> es = unzip_npz(z.data(), z.size(), kWhere);
    std::int64_t k = 0;
    std::memcpy(&k, parse_npy_entry(es.at(0), kWhere).data.data(), 8);
    ASSERT_GE(k, last) << "kill " << kills << " went back in time";
    ASSERT_EQ(z, version(k)) << "kill " << kills;
    advanced += k > last;
    last = k;
  }
  std::size_t temporaries = files().size() - 1;
  std::printf("[ kill test ] %d kills in %.1f s, %d advanced the file (last version %lld), %zu stale temporaries\n",
              kills, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), advanced,
              static_cast<long long>(last), temporaries);
  EXPECT_GE(kills, 50);
  EXPECT_GT(advanced, 0);
}

}  // namespace
}  // namespace tapegrad
