#include <tapegrad/io/npy_header.hpp>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>

#include <tapegrad/core/error.hpp>

namespace tapegrad::detail {

namespace {

// A recursive-descent reader for the header's Python dict literal.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen[3] = {false, false, false};
    expect('{');
    while (true) {
      if (peek() == '}') break;
      const std::string key = string_literal("a key");
      expect(':');
      int k = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
      if (k < 0) bad("unexpected key '" + npy_excerpt(key) + "'");
      if (seen[k]) bad("duplicate key '" + npy_excerpt(key) + "'");
      seen[k] = true;
      if (k == 0) {
        if (peek() == '[') fail("read_npy: ", path_, ": structured dtypes are not supported");
        h.descr = string_literal("the descr string");
      } else if (k == 1) {
        h.fortran_order = boolean();
      } else {
        h.shape = tuple();
      }
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ++pos_;
    for (; pos_ < s_.size(); ++pos_)
      if (!std::strchr(" \t\r\n", s_[pos_]) && s_[pos_] != '\0') bad("unexpected text after '}'");
    for (int k = 0; k < 3; ++k)
      if (!seen[k])
        fail("read_npy: ", path_, ": malformed header: missing key '",
             k == 0 ? "descr" : k == 1 ? "fortran_order" : "shape", "' in \"", npy_excerpt(s_), "\"");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("read_npy: ", path_, ": malformed header: ", what, " at offset ", pos_, " in \"", npy_excerpt(s_), "\"");
  }
  char peek() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') bad(std::string("expected ") + what);
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string v = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return v;
  }
  bool boolean() {
    peek();
    for (const char* word : {"True", "False"})
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return word[0] == 'T';
      }
    bad("fortran_order must be True or False");
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (peek() != ')') {
      if (peek() == '-') bad("negative dimension");
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
      std::uint64_t d = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        const unsigned digit = static_cast<unsigned>(s_[pos_++] - '0');
        if (d > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) bad("dimension too large");
        d = d * 10 + digit;
      }
      if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long literal: (3L, 4L)
      shape.push_back(static_cast<std::size_t>(d));
      if (shape.size() > kNpyMaxRank) bad("rank above " + std::to_string(kNpyMaxRank));
      if (peek() == ',') ++pos_;
      else if (peek() != ')') bad("expected ',' or ')' in shape");
    }
    ++pos_;
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string npy_excerpt(const std::string& h) {
  std::string s;
  for (char c : h.substr(0, 80)) s += (c >= 32 && c < 127) ? c : '?';
  return h.size() > 80 ? s + "..." : s;
}

NpyHeader parse_npy_header(const std::string& text, const std::string& path) {
  return HeaderParser(text, path).parse();
}

std::string encode_npy_header(const std::string& descr, const Shape& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t k = 0; k < shape.size(); ++k) dict += std::to_string(shape[k]) + ", ";
  if (shape.size() > 1) dict.resize(dict.size() - 2);
  if (shape.size() == 1) dict.resize(dict.size() - 1);  // (3,) as Python writes a 1-tuple
  dict += "), }";
  // Pad with spaces and a final '\n' so that the data starts on a 64-byte boundary.
  const bool v2 = dict.size() + 11 + 64 > 65535;
  const std::size_t prelude = v2 ? 12 : 10;
  const std::size_t total = (prelude + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prelude - dict.size() - 1, ' ');
  dict += '\n';
  const std::size_t hl = dict.size();
  std::string head = std::string("\x93NUMPY") + char(v2 ? 2 : 1) + '\0';
  for (int k = 0; k < (v2 ? 4 : 2); ++k) head += char((hl >> (8 * k)) & 0xff);
  return head + dict;
}

}  // namespace tapegrad::detail
