#include <tapegrad/io/npy.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;

// A .npy file exactly as NumPy writes it: magic, version, little-endian header
// length, the dict padded with spaces to a 64-byte boundary, '\n', the data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prelude = major == 1 ? 10 : 12;
  std::string h = dict;
  while ((prelude + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY") + char(major) + '\0';
  for (std::size_t k = 0; k < prelude - 8; ++k) out += char((h.size() >> (8 * k)) & 0xff);
  return out + h + data;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
         ", }";
}

// The raw bytes of values of type V, in the host's (little-endian) order.
template <class V>
std::string raw(std::initializer_list<V> values) {
  std::string s;
  for (V v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(V));
  return s;
}

class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("tapegrad_npy_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string put(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
  std::string slurp(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {})); }

  // The message of the Error that reading `bytes` raises, checked to name the file.
  std::string read_error(const std::string& bytes) const {
    const std::string p = put("bad.npy", bytes);
    try {
      read_npy(p);
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("read_npy: " + p + ": ", 0), 0u) << m;
      return m;
    }
    ADD_FAILURE() << "no error for " << bytes.size() << " bytes";
    return "";
  }

  fs::path dir_;
};

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

template <class T>
std::vector<T> values_of(const NpyArray& a) {
  std::vector<T> v(a.data.size() / sizeof(T));
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

TEST_F(Npy, RoundTripFloat32KeepsEveryBit) {
  const Tensor<float> t = {{1.5f, -0.0f, 3.4028235e38f}, {1e-45f, -7.25f, 0.1f}};
  write_npy(path("a.npy"), t);
  const std::string bytes = slurp("a.npy");
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_end = 10 + (unsigned char)bytes[8] + 256 * (unsigned char)bytes[9];
  EXPECT_EQ(header_end % 64, 0u);  // the data is aligned as NumPy aligns it
  EXPECT_EQ(bytes[header_end - 1], '\n');
  EXPECT_HAS(bytes, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(bytes.size(), header_end + 6 * 4);
  const NpyArray a = read_npy(path("a.npy"));
  EXPECT_EQ(a.dtype, "<f4");
  EXPECT_EQ(a.shape, (Shape{2, 3}));
  const Tensor<float> back = npy_to_tensor<float>(a);
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(std::memcmp(back.data(), t.data(), 6 * sizeof(float)), 0);
  EXPECT_TRUE(std::signbit(back(0, 1)));
  EXPECT_EQ(entries(), 1u);  // no temporary file left behind
}

TEST_F(Npy, RoundTripFloat64OverRanks) {
  const Tensor<double> vector = {0.1, -2.5, 1e300};
  write_npy(path("v.npy"), vector);
  EXPECT_HAS(slurp("v.npy"), "'shape': (3,), }");  // a Python 1-tuple
  EXPECT_TRUE(testing::all_close(npy_to_tensor<double>(read_npy(path("v.npy"))), vector, 0, 0));

  Tensor<double> scalar = xt::xarray<double>(3.25);
  write_npy(path("s.npy"), scalar);
  EXPECT_HAS(slurp("s.npy"), "'shape': (), }");
  const NpyArray s = read_npy(path("s.npy"));
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(npy_to_tensor<double>(s)(), 3.25);

  Tensor<double> empty(Shape{0, 4});
  write_npy(path("e.npy"), empty);
  const NpyArray e = read_npy(path("e.npy"));
  EXPECT_EQ(e.shape, (Shape{0, 4}));
  EXPECT_TRUE(e.data.empty());

  const Tensor<double> cube = testing::random_tensor({2, 3, 4}, 7);
  write_npy(path("c.npy"), cube);
  EXPECT_TRUE(testing::all_close(npy_to_tensor<double>(read_npy(path("c.npy"))), cube, 0, 0));
}

TEST_F(Npy, RoundTripInt64) {
  const IndexTensor t = {std::numeric_limits<std::int64_t>::min(), -1, 0, 9,
                         std::numeric_limits<std::int64_t>::max()};
  write_npy(path("i.npy"), t);
  const NpyArray a = read_npy(path("i.npy"));
  EXPECT_EQ(a.dtype, "<i8");
  EXPECT_EQ(npy_to_index(a), t);
}

TEST_F(Npy, OverwritesAnExistingFile) {
  put("a.npy", "old contents");
  write_npy(path("a.npy"), Tensor<double>{1.0, 2.0});
  EXPECT_EQ(npy_to_tensor<double>(read_npy(path("a.npy"))), (Tensor<double>{1.0, 2.0}));
  EXPECT_EQ(entries(), 1u);
}

TEST_F(Npy, ReadsSignedIntegerDtypesWrittenByHand) {
  const std::vector<std::int64_t> expected = {-128, -1, 0, 7, 127};
  const std::pair<const char*, std::string> files[] = {
      {"|i1", raw<std::int8_t>({-128, -1, 0, 7, 127})},
      {"<i2", raw<std::int16_t>({-128, -1, 0, 7, 127})},
      {"<i4", raw<std::int32_t>({-128, -1, 0, 7, 127})},
      {"<i8", raw<std::int64_t>({-128, -1, 0, 7, 127})},
  };
  for (const auto& [descr, data] : files) {
    SCOPED_TRACE(descr);
    const NpyArray a = read_npy(put("l.npy", npy_bytes(dict(descr, "(5,)"), data)));
    EXPECT_EQ(a.dtype, descr);
    EXPECT_TRUE(npy_is_integer(a.dtype));
    const IndexTensor labels = npy_to_index(a);
    EXPECT_EQ(std::vector<std::int64_t>(labels.begin(), labels.end()), expected);
  }
}

TEST_F(Npy, ReadsUnsignedIntegerDtypesWrittenByHand) {
  const std::pair<const char*, std::string> files[] = {
      {"|u1", raw<std::uint8_t>({0, 200, 255})},
      {"<u2", raw<std::uint16_t>({0, 200, 65535})},
      {"<u4", raw<std::uint32_t>({0, 200, 4294967295u})},
      {"<u8", raw<std::uint64_t>({0, 200, 9223372036854775807ull})},
  };
  const std::int64_t last[] = {255, 65535, 4294967295ll, 9223372036854775807ll};
  int k = 0;
  for (const auto& [descr, data] : files) {
    SCOPED_TRACE(descr);
    const IndexTensor labels = npy_to_index(read_npy(put("l.npy", npy_bytes(dict(descr, "(3,)"), data))));
    EXPECT_EQ(labels, (IndexTensor{0, 200, last[k++]}));
  }
  // '<' on a one-byte dtype is what some writers emit; it means the same as '|'.
  EXPECT_EQ(read_npy(put("b.npy", npy_bytes(dict("<u1", "(1,)"), "\x05"))).dtype, "|u1");
}

TEST_F(Npy, Uint64AboveInt64MaxIsRefused) {
  const NpyArray a = read_npy(put("l.npy", npy_bytes(dict("<u8", "(2,)"), raw<std::uint64_t>({1, 1ull << 63}))));
  try {
    npy_to_index(a);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_HAS(std::string(e.what()), "label 9223372036854775808 at index 1 does not fit in int64");
    EXPECT_HAS(std::string(e.what()), path("l.npy"));
  }
}

TEST_F(Npy, BigEndianIsByteSwapped) {
  auto be = [](std::string s, std::size_t item) {
    for (std::size_t k = 0; k < s.size(); k += item) std::reverse(s.begin() + k, s.begin() + k + item);
    return s;
  };
  const NpyArray d = read_npy(put("d.npy", npy_bytes(dict(">f8", "(2,)"), be(raw<double>({1.5, -3.0}), 8))));
  EXPECT_EQ(d.dtype, "<f8");
  EXPECT_EQ(values_of<double>(d), (std::vector<double>{1.5, -3.0}));
  const NpyArray f = read_npy(put("f.npy", npy_bytes(dict(">f4", "(1,)"), be(raw<float>({0.1f}), 4))));
  EXPECT_EQ(values_of<float>(f), std::vector<float>{0.1f});
  const NpyArray i = read_npy(put("i.npy", npy_bytes(dict(">i4", "(2,)"), be(raw<std::int32_t>({-2, 70000}), 4))));
  EXPECT_EQ(npy_to_index(i), (IndexTensor{-2, 70000}));
  const NpyArray u = read_npy(put("u.npy", npy_bytes(dict(">u2", "(1,)"), be(raw<std::uint16_t>({258}), 2))));
  EXPECT_EQ(npy_to_index(u)(0), 258);
  EXPECT_EQ(read_npy(put("n.npy", npy_bytes(dict("=f8", "(1,)"), raw<double>({2.0})))).dtype, "<f8");
}

TEST_F(Npy, FortranOrderIsTransposedToCOrder) {
  // np.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores its columns one after another.
  const NpyArray m = read_npy(put("m.npy", npy_bytes(dict("<f8", "(2, 3)", true), raw<double>({1, 4, 2, 5, 3, 6}))));
  EXPECT_EQ(npy_to_tensor<double>(m), (Tensor<double>{{1, 2, 3}, {4, 5, 6}}));
  // 3-D: element (i, j, k) sits at i + 2·j + 6·k in the file.
  std::vector<float> f(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) f[i + 2 * j + 6 * k] = 100.f * i + 10.f * j + k;
  const std::string bytes(reinterpret_cast<const char*>(f.data()), f.size() * 4);
  const Tensor<float> c = npy_to_tensor<float>(read_npy(put("c.npy", npy_bytes(dict("<f4", "(2, 3, 4)", true), bytes))));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(c(i, j, k), 100.f * i + 10.f * j + k);
  // Fortran and C order coincide for 1-D arrays.
  EXPECT_EQ(npy_to_index(read_npy(put("v.npy", npy_bytes(dict("<i8", "(2,)", true), raw<std::int64_t>({3, 4}))))),
            (IndexTensor{3, 4}));
}

TEST_F(Npy, Version2And3Headers) {
  for (int major : {2, 3}) {
    SCOPED_TRACE(major);
    const NpyArray a = read_npy(put("v.npy", npy_bytes(dict("<f8", "(2,)"), raw<double>({0.5, 0.25}), major)));
    EXPECT_EQ(values_of<double>(a), (std::vector<double>{0.5, 0.25}));
  }
}

TEST_F(Npy, FloatTensorFromTheOtherFloatDtype) {
  const NpyArray a = read_npy(put("a.npy", npy_bytes(dict("<f4", "(2,)"), raw<float>({0.1f, 2.f}))));
  EXPECT_EQ(npy_to_tensor<double>(a), (Tensor<double>{double(0.1f), 2.0}));
  const NpyArray b = read_npy(put("b.npy", npy_bytes(dict("<f8", "(1,)"), raw<double>({0.1}))));
  EXPECT_EQ(npy_to_tensor<float>(b)(0), 0.1f);
}

TEST_F(Npy, LabelsMustBeIntegral) {
  const NpyArray f = read_npy(put("f.npy", npy_bytes(dict("<f8", "(2,)"), raw<double>({1, 2}))));
  const NpyArray b = read_npy(put("b.npy", npy_bytes(dict("|b1", "(2,)"), std::string("\x01\x00", 2))));
  const NpyArray i = read_npy(put("i.npy", npy_bytes(dict("<i4", "(1,)"), raw<std::int32_t>({1}))));
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string mf = message([&] { npy_to_index(f); });
  EXPECT_HAS(mf, "not integral");
  EXPECT_HAS(mf, path("f.npy"));
  EXPECT_HAS(message([&] { npy_to_index(b); }), "bool");
  EXPECT_HAS(message([&] { npy_to_tensor<double>(i); }), "expected a floating-point array (<f4 or <f8), got dtype <i4");
}

TEST_F(Npy, FileErrors) {
  try {
    read_npy(path("missing.npy"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_HAS(std::string(e.what()), "read_npy: " + path("missing.npy") + ": cannot open: No such file");
  }
  try {
    read_npy(dir_.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_HAS(std::string(e.what()), "is a directory");
  }
  EXPECT_HAS(read_error(""), "not a .npy file");
  EXPECT_HAS(read_error("PK\x03\x04 a zip file, say"), "not a .npy file");
  EXPECT_HAS(read_error(std::string("\x93NUMPY\x01", 7)), "truncated header");
  std::string v4 = npy_bytes(dict("<f8", "(1,)"), raw<double>({1}));
  v4[6] = 4;
  EXPECT_HAS(read_error(v4), "unsupported format version 4.0");
}

TEST_F(Npy, TruncatedAndOverlongData) {
  const std::string full = npy_bytes(dict("<f4", "(4, 6)"), std::string(96, '\0'));
  EXPECT_HAS(read_error(full.substr(0, full.size() - 56)),
             "truncated data: shape (4, 6) of <f4 needs 96 bytes, the file has 40");
  EXPECT_HAS(read_error(full + "xyz"), "3 unexpected bytes after the data");
  EXPECT_HAS(read_error(full.substr(0, 40)), "truncated header");
  std::string huge = full;
  huge[8] = '\xff';
  huge[9] = '\xff';
  EXPECT_HAS(read_error(huge), "truncated header");
}

TEST_F(Npy, UnsupportedDtypesAndAbsurdShapes) {
  const std::string d(16, '\0');
  for (const char* descr : {"<c16", "|O", "<U2", "<f2", "|f8", "<M8[ns]", "f8"}) {
    SCOPED_TRACE(descr);
    EXPECT_HAS(read_error(npy_bytes(dict(descr, "(1,)"), d)), std::string("unsupported dtype '") + descr + "'");
  }
  EXPECT_HAS(read_error(npy_bytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}", d)),
             "structured dtypes are not supported");
  EXPECT_HAS(read_error(npy_bytes(dict("<f8", "(4294967296, 4294967296)"), d)), "absurd shape");
  EXPECT_HAS(read_error(npy_bytes(dict("<f8", "(0, 4294967296, 4294967296)"), "")), "absurd shape");
  EXPECT_HAS(read_error(npy_bytes(dict("<f8", "(99999999999999999999,)"), d)), "dimension too large");
  EXPECT_HAS(read_error(npy_bytes(dict("<f8", "(1000000, 1000000)"), d)), "truncated data");
}

TEST_F(Npy, FailedWritesLeaveNoFile) {
  const std::string nowhere = path("no/such/dir/a.npy");
  try {
    write_npy(nowhere, Tensor<double>{1.0, 2.0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_HAS(std::string(e.what()), "write_npy: " + nowhere + ": cannot create a temporary file");
  }
  // The rename onto a directory fails after the data was written: the temporary goes too.
  fs::create_directory(path("taken"));
  try {
    write_npy(path("taken"), Tensor<float>{1.f, 2.f});
    FAIL();
  } catch (const Error& e) {
    EXPECT_HAS(std::string(e.what()), "cannot rename");
  }
  EXPECT_EQ(entries(), 1u);  // only "taken", empty
  EXPECT_TRUE(fs::is_empty(path("taken")));

  NpyArray bad;
  bad.dtype = "<f8";
  bad.shape = {3};
  bad.data.resize(16);
  try {
    write_npy(path("bad.npy"), bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_HAS(std::string(e.what()), "16 data bytes do not match shape (3) of <f8");
  }
  bad.dtype = ">f8";
  bad.data.resize(24);
  EXPECT_THROW(write_npy(path("bad.npy"), bad), Error);
  EXPECT_FALSE(fs::exists(path("bad.npy")));
}

TEST_F(Npy, NotARegularFileAndImplausibleHeaderLength) {
  try {
    read_npy("/dev/null");
    FAIL() << "no error for /dev/null";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "read_npy: /dev/null: not a regular file");
  }
  // Format 2.0 has a 32-bit header length; over 1 MiB is refused before reading it.
  std::string v2 = npy_bytes(dict("<f8", "(1,)"), raw<double>({1}), 2);
  v2[8] = 0, v2[9] = 0, v2[10] = 0x20, v2[11] = 0;  // 0x200000 = 2 MiB
  EXPECT_EQ(read_error(v2), "read_npy: " + path("bad.npy") + ": implausible header length 2097152");
}

// Arrays made in memory (no source file) are named "array" in messages.
TEST_F(Npy, InMemoryArrayErrors) {
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message([] { npy_item_size("<c16"); }), "npy: unsupported dtype '<c16'");
  NpyArray a;
  a.dtype = "<f8";
  a.shape = {2};
  a.data.resize(3);
  EXPECT_EQ(message([&] { npy_to_tensor<double>(a); }), "npy_to_tensor: array: data size does not match shape (2)");
  a.dtype = "<i4";
  EXPECT_EQ(message([&] { npy_to_index(a); }), "npy_to_index: array: data size does not match shape (2)");
  a.dtype = "<c16";
  EXPECT_EQ(message([&] { npy_to_index(a); }), "npy_to_index: array: unsupported dtype '<c16' for labels");
  a.dtype = "|b1";
  a.data.resize(2);
  EXPECT_EQ(message([&] { npy_to_index(a); }), "npy_to_index: array: dtype |b1 (bool) is a mask, not integer labels");
  a.dtype = ">f8";
  a.data.resize(16);
  EXPECT_EQ(message([&] { write_npy(path("x.npy"), a); }), "write_npy: " + path("x.npy") + ": unsupported dtype '>f8'");
  EXPECT_EQ(entries(), 0u);
}

}  // namespace
}  // namespace tapegrad
