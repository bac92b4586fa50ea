// The .npy header dict grammar and its encoder (io/npy_header.cpp), tested on
// the header text itself; tests/io/test_npy.cpp covers whole files.
#include <tapegrad/io/npy_header.hpp>

#include <string>

#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
         ", }";
}

// The message parsing `text` raises, checked to start with the path as read_npy's do.
std::string parse_error(const std::string& text) {
  try {
    parse_npy_header(text, "x.npy");
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), StartsWith("read_npy: x.npy: ")) << text;
    return e.what();
  }
  ADD_FAILURE() << "no error for \"" << text << "\"";
  return "";
}

TEST(NpyHeader, ParsesWhatNumPyWrites) {
  const NpyHeader h = parse_npy_header(dict("<f4", "(3, 4)") + std::string(50, ' ') + "\n", "x.npy");
  EXPECT_EQ(h.descr, "<f4");
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (Shape{3, 4}));
  EXPECT_EQ(parse_npy_header(dict(">i8", "(7,)", true), "x.npy").shape, (Shape{7}));
  EXPECT_TRUE(parse_npy_header(dict(">i8", "(7,)", true), "x.npy").fortran_order);
  EXPECT_TRUE(parse_npy_header(dict("<f8", "()"), "x.npy").shape.empty());
  EXPECT_EQ(parse_npy_header(dict("<f8", "(0, 5)"), "x.npy").shape, (Shape{0, 5}));
}

TEST(NpyHeader, HeaderSyntaxVariants) {
  // Any key order, double quotes, no trailing comma, Python 2 long literals.
  const NpyHeader h =
      parse_npy_header("{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<i2\"}", "a.npy");
  EXPECT_EQ(h.descr, "<i2");
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.shape, (Shape{2, 1}));
  // Tabs and newlines between tokens; NUL, '\r' and spaces as padding after the dict.
  static const char padded[] = "{\t'descr':\n'|u1',\t'fortran_order': True, 'shape': ( 5 , )}\r\n\0\0 ";
  const NpyHeader t = parse_npy_header(std::string(padded, sizeof padded - 1), "a.npy");
  EXPECT_EQ(t.descr, "|u1");
  EXPECT_TRUE(t.fortran_order);
  EXPECT_EQ(t.shape, (Shape{5}));
  // The descr is returned as written: read_npy, not the parser, decides what it supports.
  EXPECT_EQ(parse_npy_header(dict("<c16", "(1,)"), "a.npy").descr, "<c16");
}

TEST(NpyHeader, MalformedHeaders) {
  EXPECT_THAT(parse_error("{'descr': '<f8', 'shape': (1,)}"),
              HasSubstr("malformed header: missing key 'fortran_order' in \"{'descr'"));
  EXPECT_THAT(parse_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"),
              HasSubstr("unexpected key 'x'"));
  EXPECT_THAT(parse_error("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}"),
              HasSubstr("duplicate key 'descr'"));
  EXPECT_THAT(parse_error("{'descr' '<f8', 'fortran_order': False, 'shape': (1,)}"),
              HasSubstr("malformed header: expected ':' at offset 9"));
  EXPECT_THAT(parse_error("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}"),
              HasSubstr("fortran_order must be True or False"));
  EXPECT_THAT(parse_error(dict("<f8", "(-1,)")), HasSubstr("negative dimension"));
  EXPECT_THAT(parse_error(dict("<f8", "(1; 2)")), HasSubstr("expected ',' or ')' in shape"));
  EXPECT_THAT(parse_error(dict("<f8", "(x,)")), HasSubstr("expected a dimension"));
  EXPECT_THAT(parse_error(dict("<f8", "(1,)") + " junk"), HasSubstr("unexpected text after '}'"));
  EXPECT_THAT(parse_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)"),
              HasSubstr("expected ',' or '}' at offset"));
  EXPECT_THAT(parse_error("['descr', '<f8']"), HasSubstr("expected '{' at offset 0"));
  EXPECT_THAT(parse_error("{'descr: '<f8'}"), HasSubstr("expected ':'"));
  EXPECT_THAT(parse_error("{'descr': '<f8"), HasSubstr("unterminated string"));
  EXPECT_THAT(parse_error("{descr: '<f8'}"), HasSubstr("expected a key at offset 1"));
  EXPECT_THAT(parse_error(""), HasSubstr("expected '{' at offset 0 in \"\""));
}

TEST(NpyHeader, StructuredDtypesHugeDimensionsAndHighRanks) {
  EXPECT_EQ(parse_error("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}"),
            "read_npy: x.npy: structured dtypes are not supported");
  EXPECT_EQ(parse_npy_header(dict("<f8", "(18446744073709551615,)"), "x.npy").shape,  // 2^64 - 1 fits
            (Shape{18446744073709551615ull}));
  EXPECT_THAT(parse_error(dict("<f8", "(99999999999999999999,)")), HasSubstr("dimension too large"));
  std::string rank64 = "(", rank65 = "(";
  for (int k = 0; k < 64; ++k) rank64 += "1, ";
  rank65 = rank64 + "1, ";
  EXPECT_EQ(parse_npy_header(dict("<f8", rank64 + ")"), "x.npy").shape.size(), 64u);
  EXPECT_THAT(parse_error(dict("<f8", rank65 + ")")), HasSubstr("rank above 64"));
}

TEST(NpyHeader, ErrorsQuoteTheHeaderPrintablyAndShort) {
  EXPECT_EQ(npy_excerpt("ab\x01\xff"), "ab??");
  EXPECT_EQ(npy_excerpt(std::string(80, 'a')), std::string(80, 'a'));
  EXPECT_EQ(npy_excerpt(std::string(81, 'a')), std::string(80, 'a') + "...");
  const std::string m = parse_error("{'d\x07': 1}" + std::string(200, ' '));
  EXPECT_THAT(m, HasSubstr("unexpected key 'd?'"));
  EXPECT_THAT(m, HasSubstr("in \"{'d?': 1}"));
  EXPECT_THAT(m, HasSubstr("...\""));
}

TEST(NpyHeader, EncodesNumPysLayout) {
  const std::string h = encode_npy_header("<f4", {2, 3});
  EXPECT_EQ(h.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t len = static_cast<unsigned char>(h[8]) + 256u * static_cast<unsigned char>(h[9]);
  EXPECT_EQ(h.size(), 10 + len);
  EXPECT_EQ(h.size(), 128u);  // 10 + 59 + '\n' rounded up: the data start on a 64-byte boundary
  EXPECT_EQ(h.back(), '\n');
  EXPECT_EQ(h.substr(10, 59), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(h.find_first_not_of(' ', 69), h.size() - 1);  // space padding, then '\n'
  EXPECT_NE(encode_npy_header("<f8", {3}).find("'shape': (3,), }"), std::string::npos);
  EXPECT_NE(encode_npy_header("<f8", {}).find("'shape': (), }"), std::string::npos);
  for (const Shape& shape : {Shape{}, Shape{0}, Shape{7}, Shape{4, 0, 9}, Shape{123456789, 2, 3, 4, 5}}) {
    const std::string e = encode_npy_header("<i8", shape);
    EXPECT_EQ(e.size() % 64, 0u);
    const NpyHeader back = parse_npy_header(e.substr(10), "x.npy");
    EXPECT_EQ(back.descr, "<i8");
    EXPECT_FALSE(back.fortran_order);
    EXPECT_EQ(back.shape, shape);
  }
}

TEST(NpyHeader, LongHeadersUseFormatTwo) {
  const Shape shape(25000, 1);  // "1, " 25000 times: past a 16-bit header length
  const std::string h = encode_npy_header("<f8", shape);
  EXPECT_EQ(h[6], 2);
  EXPECT_EQ(h[7], 0);
  std::size_t len = 0;
  for (int k = 0; k < 4; ++k) len |= std::size_t(static_cast<unsigned char>(h[8 + k])) << (8 * k);
  EXPECT_EQ(h.size(), 12 + len);
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_GT(len, 65535u);
  // read_npy would refuse it, as its rank is above 64.
  EXPECT_THAT(parse_error(h.substr(12)), HasSubstr("rank above 64"));
}

}  // namespace
}  // namespace tapegrad::detail
