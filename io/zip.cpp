#include <tapegrad/io/zip.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <zlib.h>

#include <tapegrad/core/error.hpp>

namespace tapegrad {

namespace {

constexpr std::uint32_t kZipVersion = 20;         // 2.0, what stored entries need
constexpr std::uint32_t kDosDate = (1 << 5) | 1;  // 1980-01-01 00:00: identical saves are identical bytes
constexpr std::size_t kLocal = 30, kCentral = 46, kEnd = 22;

void put(std::string& s, std::uint32_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) s += char((v >> (8 * k)) & 0xff);
}
std::uint32_t get(const char* p, int bytes) {
  std::uint32_t v = 0;
  for (int k = bytes; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(p[k]);
  return v;
}

// The .npy 1.0 header write_npy produces (NumPy's layout: the dict padded with
// spaces and a '\n' so that the data starts on a 64-byte boundary).
std::string npy_header(const std::string& descr, const Shape& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t k = 0; k < shape.size(); ++k) dict += std::to_string(shape[k]) + (k + 1 < shape.size() ? ", " : "");
  dict += shape.size() == 1 ? ",), }" : "), }";
  const std::size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string head = std::string("\x93NUMPY\x01\x00", 8);
  put(head, static_cast<std::uint32_t>(dict.size()), 2);
  return head + dict;
}

}  // namespace

std::uint32_t crc32_of(const char* p, std::size_t n, std::uint32_t c) {
  for (std::size_t done = 0; done < n;) {  // crc32 takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n - done, 1u << 30));
    c = static_cast<std::uint32_t>(crc32(c, reinterpret_cast<const Bytef*>(p + done), chunk));
    done += chunk;
  }
  return c;
}

std::string escaped(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  std::size_t k = 0;
  for (; k < s.size() && out.size() < 80; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += char(c);
    else
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
  }
  return k < s.size() ? out + "..." : out;
}

// Stored (uncompressed) entries named "<name>.npy", local headers back to back,
// then the central directory and the end record.
std::string zip_npz(const std::vector<NpzEntry>& es, const std::string& where) {
  std::uint64_t total = kEnd;
  for (const NpzEntry& e : es) total += kLocal + kCentral + 2 * (e.name.size() + 4) + e.bytes.size();
  if (total > kZipMaxBytes || es.size() > 0xFFFF)
    fail(where, "the checkpoint would take ", total, " bytes in ", es.size(),
         " entries: over the ZIP limits of 4 GiB and 65535 entries (ZIP64 is not supported)");
  std::string out, central;
  out.reserve(static_cast<std::size_t>(total));
  for (const NpzEntry& e : es) {
    const std::string name = e.name + ".npy";
    const std::uint32_t crc = crc32_of(e.bytes.data(), e.bytes.size());
    const auto size = static_cast<std::uint32_t>(e.bytes.size());
    const auto offset = static_cast<std::uint32_t>(out.size());
    put(out, 0x04034b50, 4);
    for (std::uint32_t v : {kZipVersion, 0u, 0u, 0u, kDosDate}) put(out, v, 2);  // version, flags, stored, time, date
    for (std::uint32_t v : {crc, size, size}) put(out, v, 4);
    put(out, static_cast<std::uint32_t>(name.size()), 2);
    put(out, 0, 2);  // no extra field
    out += name + e.bytes;
    put(central, 0x02014b50, 4);
    for (std::uint32_t v : {kZipVersion, kZipVersion, 0u, 0u, 0u, kDosDate}) put(central, v, 2);
    for (std::uint32_t v : {crc, size, size}) put(central, v, 4);
    for (std::uint32_t v : {static_cast<std::uint32_t>(name.size()), 0u, 0u, 0u, 0u}) put(central, v, 2);
    put(central, 0, 4);  // external attributes
    put(central, offset, 4);
    central += name;
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put(out, 0x06054b50, 4);
  for (std::uint32_t v : {0u, 0u, std::uint32_t(es.size()), std::uint32_t(es.size())}) put(out, v, 2);
  put(out, static_cast<std::uint32_t>(central.size()), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);  // no comment
  return out;
}

// The structure is walked with bounds checks and each entry's CRC-32 verified;
// then the archive is rebuilt from the entries and must equal the input byte for
// byte, which rejects every other deviation (flags, compression, dates, gaps,
// extra fields, ...).
std::vector<NpzEntry> unzip_npz(const char* p, std::size_t n, const std::string& where) {
  if (n < kEnd) fail(where, "only ", n, " bytes: truncated, or not a checkpoint");
  const std::size_t end = n - kEnd;
  if (get(p + end, 4) != 0x06054b50)
    fail(where, "no ZIP end record at the end of the file: truncated, or not a checkpoint (.npz)");
  const std::size_t count = get(p + end + 10, 2), cd_size = get(p + end + 12, 4), cd_offset = get(p + end + 16, 4);
  if (std::uint64_t(cd_offset) + cd_size != end)
    fail(where, "the ZIP central directory (", cd_size, " bytes at offset ", cd_offset,
         ") does not end where the end record starts (", end, "): truncated or corrupted");
  std::vector<NpzEntry> es;
  std::size_t pos = cd_offset;
  for (std::size_t i = 0; i < count; ++i) {
    if (end - pos < kCentral || get(p + pos, 4) != 0x02014b50)
      fail(where, "ZIP central directory entry ", i, " is damaged (corrupted file)");
    const std::uint32_t crc = get(p + pos + 16, 4);
    const std::size_t size = get(p + pos + 20, 4), name_len = get(p + pos + 28, 2), local = get(p + pos + 42, 4);
    if (end - pos - kCentral < name_len) fail(where, "ZIP central directory entry ", i, " overruns the directory");
    std::string name(p + pos + kCentral, name_len);
    pos += kCentral + name_len;
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
      fail(where, "ZIP entry '", escaped(name), "' is not a .npy array");
    name.resize(name.size() - 4);
    if (local > cd_offset || cd_offset - local < kLocal + name_len || cd_offset - local - kLocal - name_len < size)
      fail(where, "ZIP entry '", escaped(name), "' (", size, " bytes at offset ", local,
           ") lies outside the file's entries: truncated or corrupted");
    const char* data = p + local + kLocal + name_len;
    const std::uint32_t actual = crc32_of(data, size);
    if (actual != crc)
      fail(where, "ZIP entry '", escaped(name), "' fails its CRC-32 check (stored ", crc, ", computed ", actual,
           "): the file is corrupted");
    es.push_back({name, std::string(data, size)});
  }
  if (es.empty()) fail(where, "the ZIP archive holds no entries");
  const std::string canonical = zip_npz(es, where);
  const std::size_t k = static_cast<std::size_t>(
      std::mismatch(canonical.begin(), canonical.end(), p, p + std::min(n, canonical.size())).first -
      canonical.begin());
  if (k != canonical.size() || n != canonical.size())
    fail(where, "byte ", k, " differs from the ZIP layout save_checkpoint writes: corrupted, or not written by "
         "tapegrad");
  return es;
}

std::string npy_entry_bytes(const NpyArray& a) {
  return npy_header(a.dtype, a.shape) + std::string(a.data.begin(), a.data.end());
}

// Parses the descr and shape, then requires the header to be exactly the one
// npy_header() makes of them.
NpyArray parse_npy_entry(const NpzEntry& e, const std::string& where) {
  const std::string& b = e.bytes;
  const std::string what = "entry '" + escaped(e.name) + "': ";
  if (b.size() < 10 || b.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) != 0)
    fail(where, what, "not a version 1.0 .npy array");
  const std::size_t header_len = get(b.data() + 8, 2);
  if (b.size() - 10 < header_len) fail(where, what, "the .npy header runs past the entry");
  const std::string text = b.substr(10, header_len);
  const std::string pre = "{'descr': '", mid = "', 'fortran_order': False, 'shape': (";
  const std::size_t q = text.find('\'', pre.size());
  NpyArray a;
  std::size_t pos = q == std::string::npos ? text.size() : q + mid.size();
  if (text.compare(0, pre.size(), pre) == 0 && q != std::string::npos && text.compare(q, mid.size(), mid) == 0) {
    a.dtype = text.substr(pre.size(), q - pre.size());
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && a.shape.size() < kNpzMaxRank) {
      std::size_t d = 0;
      for (int digits = 0; pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 12; ++digits)
        d = d * 10 + static_cast<std::size_t>(text[pos++] - '0');
      a.shape.push_back(d);
      while (pos < text.size() && (text[pos] == ',' || text[pos] == ' ')) ++pos;
    }
  }
  static const char* const allowed[] = {"<f4", "<f8", "<i8", "<u8", "|u1"};
  if (std::find(std::begin(allowed), std::end(allowed), a.dtype) == std::end(allowed) ||
      npy_header(a.dtype, a.shape) != b.substr(0, 10 + header_len))
    fail(where, what, "malformed or unexpected .npy header \"", escaped(text), "\"");
  // The element count, saturated at "more than the entry's bytes" so that it never overflows.
  std::size_t count = std::find(a.shape.begin(), a.shape.end(), 0) == a.shape.end() ? 1 : 0;
  for (std::size_t d : a.shape)
    if (count) count = count > b.size() / d ? b.size() + 1 : count * d;
  const std::size_t item = npy_item_size(a.dtype), have = b.size() - 10 - header_len;
  if (count > have / item || count * item != have)
    fail(where, what, "shape ", shape_str(a.shape), " of ", a.dtype, " does not match its ", have, " data bytes");
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(10 + header_len), b.end());
  a.source = where;
  return a;
}

std::string read_npz_file(const std::string& path, const std::string& where) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (!f) fail(where, "cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0) fail(where, "cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(where, "not a regular file");
  if (std::uint64_t(st.st_size) > kZipMaxBytes) fail(where, st.st_size, " bytes: larger than any checkpoint (4 GiB)");
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  if (!bytes.empty() && std::fread(&bytes[0], 1, bytes.size(), f.get()) != bytes.size())
    fail(where, "read error: ", std::ferror(f.get()) ? std::strerror(errno) : "the file shrank while being read");
  return bytes;
}

void write_npz_file(const std::string& path, const std::string& bytes, const std::string& where) {
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  std::FILE* f = nullptr;
  for (int attempt = 0; !f && attempt < 100; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    f = std::fopen(tmp.c_str(), "wbxe");  // x: O_EXCL, never clobber another writer's file; e: O_CLOEXEC
    if (!f && errno != EEXIST) break;
  }
  if (!f) fail(where, "cannot create a temporary file beside it: ", std::strerror(errno));
  auto give_up = [&](const char* what) {
    const int e = errno;
    if (f) std::fclose(f);
    ::unlink(tmp.c_str());
    fail(where, what, ": ", std::strerror(e), " (the previous checkpoint, if any, is unchanged)");
  };
  if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) give_up("write failed");
  if (std::fflush(f) != 0) give_up("flush failed");
  if (::fsync(fileno(f)) != 0) give_up("fsync failed");
  const int closed = std::fclose(f);
  f = nullptr;
  if (closed != 0) give_up("close failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) give_up("cannot rename the temporary file into place");
  // Make the rename durable. Some file systems cannot fsync a directory (EINVAL): nothing more to do there.
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail(where, "saved, but cannot open its directory to fsync it: ", std::strerror(errno));
  const int synced = ::fsync(dfd), e = errno;
  ::close(dfd);
  if (synced != 0 && e != EINVAL) fail(where, "saved, but fsync of its directory failed: ", std::strerror(e));
}

}  // namespace tapegrad
