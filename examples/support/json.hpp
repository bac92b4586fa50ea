#pragma once
// A small JSON writer for run reports (an object of numbers, strings, arrays of
// numbers and nested objects, keys kept in insertion order) and an atomic text
// file writer: a reader of the report sees the old file or the whole new one.
#include <cstdint>
#include <string>
#include <vector>

namespace examples {

// Shortest decimal text that reads back as the same double ("0.8447", not
// "0.84470000000000001"); "null" for NaN or infinity (JSON has neither).
std::string format_number(double v);
// A JSON string literal with quotes, backslashes and control characters escaped.
std::string json_string(const std::string& s);

class JsonObject {
 public:
  JsonObject& set(const std::string& key, double v);
  JsonObject& set(const std::string& key, std::int64_t v);
  JsonObject& set(const std::string& key, int v) { return set(key, static_cast<std::int64_t>(v)); }
  JsonObject& set(const std::string& key, std::uint64_t v);
  JsonObject& set(const std::string& key, bool v);
  JsonObject& set(const std::string& key, const std::string& v);
  JsonObject& set(const std::string& key, const char* v) { return set(key, std::string(v)); }
  JsonObject& set(const std::string& key, const std::vector<double>& v);
  JsonObject& set(const std::string& key, const JsonObject& v);
  // Pretty-printed with two-space indentation; arrays of numbers on one line.
  std::string dump(int indent = 0) const;

 private:
  struct Entry {
    std::string key, raw;           // raw JSON text of a scalar or number array
    std::vector<JsonObject> child;  // or one nested object
  };
  JsonObject& put(const std::string& key, Entry e);
  std::vector<Entry> entries_;
};

// Writes `text` to a temporary file beside `path`, fsyncs it and renames it over
// `path`. Throws std::runtime_error naming the file on failure (nothing is left).
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace examples
