#include "support/json.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace examples {

std::string format_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::put(const std::string& key, Entry e) {
  e.key = key;
  for (Entry& old : entries_)
    if (old.key == key) {
      old = std::move(e);
      return *this;
    }
  entries_.push_back(std::move(e));
  return *this;
}

JsonObject& JsonObject::set(const std::string& key, double v) { return put(key, {"", format_number(v), {}}); }
JsonObject& JsonObject::set(const std::string& key, std::int64_t v) { return put(key, {"", std::to_string(v), {}}); }
JsonObject& JsonObject::set(const std::string& key, std::uint64_t v) { return put(key, {"", std::to_string(v), {}}); }
JsonObject& JsonObject::set(const std::string& key, bool v) { return put(key, {"", v ? "true" : "false", {}}); }
JsonObject& JsonObject::set(const std::string& key, const std::string& v) { return put(key, {"", json_string(v), {}}); }
JsonObject& JsonObject::set(const std::string& key, const JsonObject& v) { return put(key, {"", "", {v}}); }

JsonObject& JsonObject::set(const std::string& key, const std::vector<double>& v) {
  std::string raw = "[";
  for (std::size_t k = 0; k < v.size(); ++k) raw += (k ? ", " : "") + format_number(v[k]);
  return put(key, {"", raw + "]", {}});
}

std::string JsonObject::dump(int indent) const {
  if (entries_.empty()) return "{}";
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  std::string out = "{\n";
  for (std::size_t k = 0; k < entries_.size(); ++k) {
    const Entry& e = entries_[k];
    out += pad + json_string(e.key) + ": " + (e.child.empty() ? e.raw : e.child[0].dump(indent + 2));
    out += k + 1 < entries_.size() ? ",\n" : "\n";
  }
  return out + std::string(static_cast<std::size_t>(indent), ' ') + "}";
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const auto failed = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot " + what + ": " + reason);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const std::string reason = std::strerror(errno);
    throw std::runtime_error(path + ": cannot create: " + reason);
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      failed("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    failed("sync");
  }
  if (::close(fd) != 0) failed("close");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) failed("rename the temporary file onto");
}

}  // namespace examples
