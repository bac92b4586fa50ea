#include "support/json_reader.hpp"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace tapegrad::testing {

Json JsonReader::parse() {
  Json v = value();
  space();
  if (pos_ != s_.size()) error("trailing text");
  return v;
}

void JsonReader::error(const std::string& what) const {
  throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
}

void JsonReader::space() {
  while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
}

bool JsonReader::eat(char c) {
  space();
  if (pos_ < s_.size() && s_[pos_] == c) return ++pos_, true;
  return false;
}

bool JsonReader::word(const char* w) {
  const std::string t = w;
  if (s_.compare(pos_, t.size(), t) != 0) return false;
  pos_ += t.size();
  return true;
}

std::string JsonReader::string_literal() {
  if (!eat('"')) error("expected a string");
  std::string out;
  while (pos_ < s_.size() && s_[pos_] != '"') {
    char c = s_[pos_++];
    if (static_cast<unsigned char>(c) < 0x20) error("control character in a string");
    if (c == '\\') {
      if (pos_ >= s_.size()) error("truncated escape");
      c = s_[pos_++];
      if (c == 'u') {
        if (pos_ + 4 > s_.size()) error("truncated \\u escape");
        c = static_cast<char>(std::stoi(s_.substr(pos_, 4), nullptr, 16));
        pos_ += 4;
      } else if (c == 'n') {
        c = '\n';
      } else if (c != '"' && c != '\\' && c != '/') {
        error("unsupported escape");
      }
    }
    out += c;
  }
  if (!eat('"')) error("unterminated string");
  return out;
}

Json JsonReader::value() {
  space();
  Json v;
  if (pos_ >= s_.size()) error("unexpected end");
  const char c = s_[pos_];
  if (c == '{') {
    v.kind = Json::object;
    ++pos_;
    if (eat('}')) return v;
    do {
      const std::string k = string_literal();
      if (v.fields.count(k)) error("duplicate key " + k);
      if (!eat(':')) error("expected ':'");
      v.fields[k] = value();
    } while (eat(','));
    if (!eat('}')) error("expected '}'");
  } else if (c == '[') {
    v.kind = Json::array;
    ++pos_;
    if (eat(']')) return v;
    do v.items.push_back(value());
    while (eat(','));
    if (!eat(']')) error("expected ']'");
  } else if (c == '"') {
    v.kind = Json::string;
    v.str = string_literal();
  } else if (word("null")) {
    v.kind = Json::null;
  } else if (word("true") || word("false")) {
    v.kind = Json::boolean;
    v.num = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
  } else {
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    v.kind = Json::number;
    v.num = std::strtod(begin, &end);
    if (end == begin || (c != '-' && !std::isdigit(static_cast<unsigned char>(c)))) error("bad value");
    pos_ += static_cast<std::size_t>(end - begin);
  }
  return v;
}

}  // namespace tapegrad::testing
