#include "io/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include <zlib.h>

#include "io/npy.hpp"

namespace tapegrad {

namespace {

constexpr std::size_t kMaxName = 200;
constexpr std::size_t kMaxRank = 32;
constexpr std::uint64_t kMaxZip = 0xFFFFFFFFull;  // no ZIP64: offsets and sizes are 32-bit
constexpr std::uint32_t kZipVersion = 20;         // 2.0, what stored entries need
constexpr std::uint32_t kDosDate = (1 << 5) | 1;  // 1980-01-01 00:00: identical saves are identical bytes
constexpr std::size_t kLocal = 30, kCentral = 46, kEnd = 22;

struct Entry {
  std::string name;  // without ".npy"
  std::string bytes;
};

std::uint32_t crc_of(const char* p, std::size_t n, std::uint32_t c = 0) {
  for (std::size_t done = 0; done < n;) {  // crc32 takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n - done, 1u << 30));
    c = static_cast<std::uint32_t>(crc32(c, reinterpret_cast<const Bytef*>(p + done), chunk));
    done += chunk;
  }
  return c;
}

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

Entry entry(const std::string& name, const NpyArray& a) {
  return {name, npy_header(a.dtype, a.shape) + std::string(a.data.begin(), a.data.end())};
}
NpyArray raw_array(const char* dtype, Shape shape, const void* p, std::size_t n) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.assign(static_cast<const char*>(p), static_cast<const char*>(p) + n);
  return a;
}
NpyArray text_array(const std::string& s) { return raw_array("|u1", {s.size()}, s.data(), s.size()); }

template <class T>
const char* dtype_of() {
  return sizeof(T) == 4 ? "<f4" : "<f8";
}

// A string from the file, made printable (\xNN) and cut short, for error messages.
std::string shown(const std::string& s) {
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

void check_name(const std::string& where, const std::string& what, const std::string& name) {
  if (name.empty()) fail(where, what, " has no name (checkpoints store tensors by name)");
  if (name.size() > kMaxName) fail(where, what, " has a name of ", name.size(), " characters (at most ", kMaxName, ")");
  for (char c : name)
    if (c < 0x20 || c > 0x7e) fail(where, what, " '", shown(name), "' has a name with a byte outside printable ASCII");
}

std::uint32_t entries_checksum(const std::vector<Entry>& es) {
  std::uint32_t c = 0;
  for (std::size_t k = 1; k < es.size(); ++k) {
    c = crc_of(es[k].name.c_str(), es[k].name.size() + 1, c);  // with its NUL
    c = crc_of(es[k].bytes.data(), es[k].bytes.size(), c);
  }
  return c;
}

// A ZIP archive of stored (uncompressed) entries named "<name>.npy".
std::string zip(const std::vector<Entry>& es, const std::string& where) {
  std::uint64_t total = kEnd;
  for (const Entry& e : es) total += kLocal + kCentral + 2 * (e.name.size() + 4) + e.bytes.size();
  if (total > kMaxZip || es.size() > 0xFFFF)
    fail(where, "the checkpoint would take ", total, " bytes in ", es.size(),
         " entries: over the ZIP limits of 4 GiB and 65535 entries (ZIP64 is not supported)");
  std::string out, central;
  out.reserve(static_cast<std::size_t>(total));
  for (const Entry& e : es) {
    const std::string name = e.name + ".npy";
    const std::uint32_t crc = crc_of(e.bytes.data(), e.bytes.size());
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

// Splits a ZIP written by zip() into its entries. The structure is walked with
// bounds checks and each entry's CRC-32 verified; then the archive is rebuilt
// from the entries and must equal the input byte for byte, which rejects every
// other deviation (flags, compression, dates, gaps, extra fields, ...).
std::vector<Entry> unzip(const char* p, std::size_t n, const std::string& where) {
  if (n < kEnd) fail(where, "only ", n, " bytes: truncated, or not a checkpoint");
  const std::size_t end = n - kEnd;
  if (get(p + end, 4) != 0x06054b50)
    fail(where, "no ZIP end record at the end of the file: truncated, or not a checkpoint (.npz)");
  const std::size_t count = get(p + end + 10, 2), cd_size = get(p + end + 12, 4), cd_offset = get(p + end + 16, 4);
  if (std::uint64_t(cd_offset) + cd_size != end)
    fail(where, "the ZIP central directory (", cd_size, " bytes at offset ", cd_offset,
         ") does not end where the end record starts (", end, "): truncated or corrupted");
  std::vector<Entry> es;
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
      fail(where, "ZIP entry '", shown(name), "' is not a .npy array");
    name.resize(name.size() - 4);
    if (local > cd_offset || cd_offset - local < kLocal + name_len || cd_offset - local - kLocal - name_len < size)
      fail(where, "ZIP entry '", shown(name), "' (", size, " bytes at offset ", local,
           ") lies outside the file's entries: truncated or corrupted");
    const char* data = p + local + kLocal + name_len;
    const std::uint32_t actual = crc_of(data, size);
    if (actual != crc)
      fail(where, "ZIP entry '", shown(name), "' fails its CRC-32 check (stored ", crc, ", computed ", actual,
           "): the file is corrupted");
    es.push_back({name, std::string(data, size)});
  }
  if (es.empty()) fail(where, "the ZIP archive holds no entries");
  const std::string canonical = zip(es, where);
  const std::size_t k = static_cast<std::size_t>(
      std::mismatch(canonical.begin(), canonical.end(), p, p + std::min(n, canonical.size())).first -
      canonical.begin());
  if (k != canonical.size() || n != canonical.size())
    fail(where, "byte ", k, " differs from the ZIP layout save_checkpoint writes: corrupted, or not written by "
         "tapegrad");
  return es;
}

// Decodes a .npy entry written by entry(): parses the descr and shape, then
// requires the header to be exactly the one npy_header() makes of them.
NpyArray unnpy(const Entry& e, const std::string& where) {
  const std::string& b = e.bytes;
  const std::string what = "entry '" + shown(e.name) + "': ";
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
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && a.shape.size() < kMaxRank) {
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
    fail(where, what, "malformed or unexpected .npy header \"", shown(text), "\"");
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

template <class V>
V scalar_of(const NpyArray& a) {
  V v;
  std::memcpy(&v, a.data.data(), sizeof(V));
  return v;
}

}  // namespace

namespace {

template <class T>
std::string encode(const std::vector<Parameter<T>*>& params, const Optimizer<T>* opt, const CheckpointMeta& meta,
                   const std::string& where) {
  std::vector<Entry> es(1);  // es[0], the header, is filled in last
  es.push_back(entry("meta/model_name", text_array(meta.model_name)));
  es.push_back(entry("meta/epoch", raw_array("<i8", {}, &meta.epoch, 8)));
  es.push_back(entry("meta/seed", raw_array("<u8", {}, &meta.seed, 8)));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string what = "parameter " + std::to_string(i);
    if (!params[i]) fail(where, what, " is a null pointer");
    const Parameter<T>& p = *params[i];
    check_name(where, what, p.name);
    for (std::size_t j = 0; j < i; ++j)
      if (params[j]->name == p.name) fail(where, "parameters ", j, " and ", i, " are both named '", p.name, "'");
    if (p.value.dimension() > kMaxRank) fail(where, "parameter '", p.name, "' has rank above ", kMaxRank);
    es.push_back(entry("param/" + p.name, to_npy(p.value)));
  }
  if (opt) {
    std::string names;
    for (std::size_t i = 0; i < opt->params().size(); ++i) {
      check_name(where, std::string(opt->name()) + "'s parameter " + std::to_string(i), opt->params()[i]->name);
      names += (i ? "\n" : "") + opt->params()[i]->name;
    }
    const OptimizerState<T> s = opt->state();
    es.push_back(entry("optim/name", text_array(opt->name())));
    es.push_back(entry("optim/params", text_array(names)));
    es.push_back(entry("optim/steps", raw_array("<i8", {}, &s.steps, 8)));
    es.push_back(entry("optim/lr", raw_array("<f8", {}, &s.lr, 8)));
    for (const NamedTensor<T>& t : s.tensors) es.push_back(entry("optim/state/" + t.name, to_npy(t.value)));
  }
  const std::int64_t header[4] = {kCheckpointMagic, kCheckpointVersion, static_cast<std::int64_t>(es.size()),
                                  entries_checksum(es)};
  es[0] = entry("__tapegrad__", raw_array("<i8", {4}, header, sizeof header));
  return zip(es, where);
}

// Walks the decoded entries in the order encode() writes them.
class Reader {
 public:
  Reader(std::vector<Entry> es, const std::string& where) : es_(std::move(es)), where_(where) {}
  bool at(const std::string& prefix) const {
    return k_ < es_.size() && es_[k_].name.compare(0, prefix.size(), prefix) == 0;
  }
  bool done() const { return k_ == es_.size(); }
  const std::string& name() const {
    if (k_ == es_.size()) fail(where_, "entries end too early");
    return es_[k_].name;
  }
  NpyArray take(const std::string& name, const char* dtype, int rank) {
    if (k_ == es_.size()) fail(where_, "entry '", name, "' is missing");
    if (es_[k_].name != name)
      fail(where_, "expected entry '", name, "' but found '", shown(es_[k_].name), "'");
    NpyArray a = unnpy(es_[k_++], where_);
    if (a.dtype != dtype || (rank >= 0 && a.shape.size() != std::size_t(rank)))
      fail(where_, "entry '", shown(es_[k_ - 1].name), "' is ", a.dtype, " of shape ", shape_str(a.shape), ", expected ",
           dtype, rank == 0 ? " of shape ()" : rank == 1 ? " of rank 1" : "");
    return a;
  }
  std::string text(const std::string& name) {
    const NpyArray a = take(name, "|u1", 1);
    return std::string(a.data.begin(), a.data.end());
  }
  const std::vector<Entry>& entries() const { return es_; }

 private:
  std::vector<Entry> es_;
  const std::string& where_;
  std::size_t k_ = 0;
};

template <class T>
Checkpoint<T> decode(const char* bytes, std::size_t size, const std::string& where) {
  Reader r(unzip(bytes, size, where), where);
  if (r.name() != "__tapegrad__")
    fail(where, "the first entry is '", shown(r.name()), "', not '__tapegrad__': not a tapegrad checkpoint");
  const NpyArray h = r.take("__tapegrad__", "<i8", 1);
  if (h.shape[0] < 2 || scalar_of<std::int64_t>(h) != kCheckpointMagic)
    fail(where, "'__tapegrad__' does not start with the checkpoint magic: not a tapegrad checkpoint");
  std::int64_t header[4];
  std::memcpy(header, h.data.data(), 16);
  if (header[1] != kCheckpointVersion)
    fail(where, "checkpoint format version ", header[1], " is not supported (this build reads version ",
         kCheckpointVersion, ")");
  if (h.shape[0] != 4) fail(where, "'__tapegrad__' has shape ", shape_str(h.shape), ", expected (4)");
  std::memcpy(header, h.data.data(), sizeof header);
  if (header[2] != static_cast<std::int64_t>(r.entries().size()))
    fail(where, "the header lists ", header[2], " entries but the archive holds ", r.entries().size());
  if (header[3] != entries_checksum(r.entries()))
    fail(where, "checksum mismatch (header ", header[3], ", entries ", entries_checksum(r.entries()), ")");

  Checkpoint<T> c;
  c.meta.model_name = r.text("meta/model_name");
  c.meta.epoch = scalar_of<std::int64_t>(r.take("meta/epoch", "<i8", 0));
  c.meta.seed = scalar_of<std::uint64_t>(r.take("meta/seed", "<u8", 0));
  while (r.at("param/")) {
    NamedTensor<T> t{r.name().substr(6), {}};
    check_name(where, "saved parameter", t.name);
    for (const NamedTensor<T>& o : c.params)
      if (o.name == t.name) fail(where, "parameter '", t.name, "' appears twice");
    t.value = npy_to_tensor<T>(r.take(r.name(), dtype_of<T>(), -1));
    c.params.push_back(std::move(t));
  }
  if (!r.done()) {
    c.has_optimizer = true;
    c.optimizer_name = r.text("optim/name");
    const std::string names = r.text("optim/params");
    for (std::size_t b = 0, e; b <= names.size(); b = e + 1) {
      e = std::min(names.find('\n', b), names.size());
      c.optimizer_params.push_back(names.substr(b, e - b));
      check_name(where, "optimizer parameter " + std::to_string(c.optimizer_params.size() - 1),
                 c.optimizer_params.back());
    }
    c.optimizer.steps = scalar_of<std::int64_t>(r.take("optim/steps", "<i8", 0));
    c.optimizer.lr = scalar_of<double>(r.take("optim/lr", "<f8", 0));
    while (r.at("optim/state/")) {
      NamedTensor<T> t{r.name().substr(12), {}};
      check_name(where, "optimizer state", t.name);
      for (const NamedTensor<T>& o : c.optimizer.tensors)
        if (o.name == t.name) fail(where, "optimizer state '", t.name, "' appears twice");
      t.value = npy_to_tensor<T>(r.take(r.name(), dtype_of<T>(), -1));
      c.optimizer.tensors.push_back(std::move(t));
    }
  }
  if (!r.done()) fail(where, "unexpected entry '", shown(r.name()), "'");
  return c;
}

}  // namespace

template <class T>
std::string encode_checkpoint(const std::vector<Parameter<T>*>& params, const Optimizer<T>* optimizer,
                              const CheckpointMeta& meta) {
  return encode(params, optimizer, meta, "encode_checkpoint: ");
}

template <class T>
Checkpoint<T> decode_checkpoint(const char* bytes, std::size_t size, const std::string& source) {
  return decode<T>(bytes, size, "load_checkpoint: " + source + ": ");
}

template <class T>
Checkpoint<T> read_checkpoint(const std::string& path) {
  const std::string where = "load_checkpoint: " + path + ": ";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (!f) fail(where, "cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0) fail(where, "cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(where, "not a regular file");
  if (std::uint64_t(st.st_size) > kMaxZip) fail(where, st.st_size, " bytes: larger than any checkpoint (4 GiB)");
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  if (!bytes.empty() && std::fread(&bytes[0], 1, bytes.size(), f.get()) != bytes.size())
    fail(where, "read error: ", std::ferror(f.get()) ? std::strerror(errno) : "the file shrank while being read");
  return decode<T>(bytes.data(), bytes.size(), where);
}

template <class T>
void apply_checkpoint(const Checkpoint<T>& c, const std::vector<Parameter<T>*>& params, Optimizer<T>* opt,
                      const std::string& source, const std::string& expected_model_name) {
  const std::string where = "load_checkpoint: " + source + ": ";
  if (!expected_model_name.empty() && c.meta.model_name != expected_model_name)
    fail(where, "the checkpoint is of model '", shown(c.meta.model_name), "', not '", expected_model_name, "'");
  std::vector<const Tensor<T>*> src;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i]) fail(where, "parameter ", i, " is a null pointer");
    const Parameter<T>& p = *params[i];
    for (std::size_t j = 0; j < i; ++j)
      if (params[j]->name == p.name) fail(where, "the model's parameters ", j, " and ", i, " are both named '", p.name, "'");
    auto it = std::find_if(c.params.begin(), c.params.end(), [&](const NamedTensor<T>& t) { return t.name == p.name; });
    if (it == c.params.end()) {
      std::string held;
      for (const NamedTensor<T>& t : c.params) held += (held.empty() ? "'" : ", '") + t.name + "'";
      fail(where, "missing parameter '", p.name, "' (the checkpoint holds ", held.empty() ? "none" : held, ")");
    }
    if (it->value.shape() != p.value.shape())
      fail(where, "parameter '", p.name, "' has shape ", shape_str(it->value.shape()), " in the checkpoint but ",
           shape_str(p.value.shape()), " in the model");
    src.push_back(&it->value);
  }
  for (const NamedTensor<T>& t : c.params)
    if (std::none_of(params.begin(), params.end(), [&](const Parameter<T>* p) { return p->name == t.name; }))
      fail(where, "the checkpoint holds parameter '", t.name, "', which the model does not have (a different model?)");
  if (opt) {
    if (!c.has_optimizer) fail(where, "holds no optimizer state (it was saved without an optimizer)");
    if (c.optimizer_name != opt->name())
      fail(where, "the optimizer state is ", shown(c.optimizer_name), "'s, but the optimizer is ", opt->name());
    const auto& ps = opt->params();
    for (std::size_t i = 0; i < std::max(ps.size(), c.optimizer_params.size()); ++i)
      if (i >= ps.size() || i >= c.optimizer_params.size() || ps[i]->name != c.optimizer_params[i])
        fail(where, opt->name(), "'s parameter ", i, " is ",
             i < c.optimizer_params.size() ? "'" + c.optimizer_params[i] + "'" : std::string("absent"),
             " in the checkpoint but ", i < ps.size() ? "'" + ps[i]->name + "'" : std::string("absent"), " here");
    const OptimizerState<T> now = opt->state();
    for (const NamedTensor<T>& t : now.tensors) {
      auto it = std::find_if(c.optimizer.tensors.begin(), c.optimizer.tensors.end(),
                             [&](const NamedTensor<T>& o) { return o.name == t.name; });
      if (it == c.optimizer.tensors.end()) fail(where, "missing optimizer state '", t.name, "'");
      if (it->value.shape() != t.value.shape())
        fail(where, "optimizer state '", t.name, "' has shape ", shape_str(it->value.shape()),
             " in the checkpoint but ", shape_str(t.value.shape()), " in the optimizer");
    }
    for (const NamedTensor<T>& o : c.optimizer.tensors)
      if (std::none_of(now.tensors.begin(), now.tensors.end(), [&](const NamedTensor<T>& t) { return t.name == o.name; }))
        fail(where, "the checkpoint holds optimizer state '", o.name, "', which ", opt->name(), " does not have");
    for (std::size_t k = 0; k < now.tensors.size(); ++k)  // same names: the order is what save writes
      if (c.optimizer.tensors[k].name != now.tensors[k].name)
        fail(where, "optimizer state ", k, " is '", c.optimizer.tensors[k].name, "' where save_checkpoint writes '",
             now.tensors[k].name, "' (entries reordered)");
    if (c.optimizer.steps < 0) fail(where, "negative optimizer step count ", c.optimizer.steps);
    if (!std::isfinite(c.optimizer.lr) || c.optimizer.lr < 0) fail(where, "invalid learning rate ", c.optimizer.lr);
    try {
      opt->load_state(c.optimizer);  // validates before it changes anything
    } catch (const Error& e) {
      fail(where, e.what());
    }
  }
  for (std::size_t i = 0; i < params.size(); ++i) std::copy(src[i]->cbegin(), src[i]->cend(), params[i]->value.begin());
}

template <class T>
void save_checkpoint(const std::string& path, const std::vector<Parameter<T>*>& params, const Optimizer<T>* optimizer,
                     const CheckpointMeta& meta) {
  const std::string where = "save_checkpoint: " + path + ": ";
  const std::string bytes = encode(params, optimizer, meta, where);
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

template <class T>
CheckpointMeta load_checkpoint(const std::string& path, const std::vector<Parameter<T>*>& params,
                               Optimizer<T>* optimizer, const std::string& expected_model_name) {
  const Checkpoint<T> c = read_checkpoint<T>(path);
  apply_checkpoint(c, params, optimizer, path, expected_model_name);
  return c.meta;
}

#define TAPEGRAD_CHECKPOINT(T)                                                                                  \
  template std::string encode_checkpoint<T>(const std::vector<Parameter<T>*>&, const Optimizer<T>*,            \
                                            const CheckpointMeta&);                                            \
  template Checkpoint<T> decode_checkpoint<T>(const char*, std::size_t, const std::string&);                   \
  template Checkpoint<T> read_checkpoint<T>(const std::string&);                                               \
  template void apply_checkpoint<T>(const Checkpoint<T>&, const std::vector<Parameter<T>*>&, Optimizer<T>*,    \
                                    const std::string&, const std::string&);                                   \
  template void save_checkpoint<T>(const std::string&, const std::vector<Parameter<T>*>&, const Optimizer<T>*, \
                                   const CheckpointMeta&);                                                     \
  template CheckpointMeta load_checkpoint<T>(const std::string&, const std::vector<Parameter<T>*>&,            \
                                             Optimizer<T>*, const std::string&);
TAPEGRAD_CHECKPOINT(float)
TAPEGRAD_CHECKPOINT(double)
#undef TAPEGRAD_CHECKPOINT

}  // namespace tapegrad
