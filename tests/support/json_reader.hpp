#pragma once
// A strict little JSON reader for tests that validate the examples' reports:
// objects, arrays, strings (escapes \" \\ \/ \n and \uXXXX below 0x100), numbers
// as strtod reads them, true, false and null. Duplicate keys, control characters
// in strings and trailing text are errors.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace tapegrad::testing {

struct Json {
  enum Kind { null, boolean, number, string, array, object } kind = null;
  double num = 0;  // a number, or 1/0 for true/false
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> fields;
  bool has(const std::string& k) const { return fields.count(k) != 0; }
  const Json& at(const std::string& k) const { return fields.at(k); }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : s_(text) {}
  // Throws std::runtime_error "JSON: <what> at offset <k>" at the first syntax
  // error or trailing text.
  Json parse();

 private:
  [[noreturn]] void error(const std::string& what) const;
  void space();
  bool eat(char c);
  bool word(const char* w);
  std::string string_literal();
  Json value();

  const std::string& s_;
  std::size_t pos_ = 0;
};

}  // namespace tapegrad::testing
