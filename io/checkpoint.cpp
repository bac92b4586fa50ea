#include <tapegrad/io/checkpoint.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <tapegrad/io/npy.hpp>
#include <tapegrad/io/zip.hpp>

namespace tapegrad {

namespace {

constexpr std::size_t kMaxName = 200;

NpzEntry entry(const std::string& name, const NpyArray& a) { return {name, npy_entry_bytes(a)}; }
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

void check_name(const std::string& where, const std::string& what, const std::string& name) {
  if (name.empty()) fail(where, what, " has no name (checkpoints store tensors by name)");
  if (name.size() > kMaxName) fail(where, what, " has a name of ", name.size(), " characters (at most ", kMaxName, ")");
  for (char c : name)
    if (c < 0x20 || c > 0x7e) fail(where, what, " '", escaped(name), "' has a name with a byte outside printable ASCII");
}

std::uint32_t entries_checksum(const std::vector<NpzEntry>& es) {
  std::uint32_t c = 0;
  for (std::size_t k = 1; k < es.size(); ++k) {
    c = crc32_of(es[k].name.c_str(), es[k].name.size() + 1, c);  // with its NUL
    c = crc32_of(es[k].bytes.data(), es[k].bytes.size(), c);
  }
  return c;
}

// "2 parameter groups (2 + 2 parameters)", "1 parameter group (3 parameters)".
std::string groups_str(const std::vector<std::size_t>& sizes) {
  std::string s = std::to_string(sizes.size()) + (sizes.size() == 1 ? " parameter group (" : " parameter groups (");
  std::size_t total = 0;
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    s += (g ? " + " : "") + std::to_string(sizes[g]);
    total += sizes[g];
  }
  return s + (total == 1 && sizes.size() == 1 ? " parameter)" : " parameters)");
}

template <class V>
V scalar_of(const NpyArray& a) {
  V v;
  std::memcpy(&v, a.data.data(), sizeof(V));
  return v;
}

template <class T>
std::string encode(const std::vector<Parameter<T>*>& params, const Optimizer<T>* opt, const CheckpointMeta& meta,
                   const std::string& where) {
  std::vector<NpzEntry> es(1);  // es[0], the header, is filled in last
  es.push_back(entry("meta/model_name", text_array(meta.model_name)));
  es.push_back(entry("meta/epoch", raw_array("<i8", {}, &meta.epoch, 8)));
  es.push_back(entry("meta/seed", raw_array("<u8", {}, &meta.seed, 8)));
  for (std::size_t i = 0; i < meta.series.size(); ++i) {
    const CheckpointSeries& m = meta.series[i];
    check_name(where, "series " + std::to_string(i), m.name);
    for (std::size_t j = 0; j < i; ++j)
      if (meta.series[j].name == m.name) fail(where, "series ", j, " and ", i, " are both named '", m.name, "'");
    es.push_back(entry("meta/series/" + m.name, raw_array("<f8", {m.values.size()}, m.values.data(), 8 * m.values.size())));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string what = "parameter " + std::to_string(i);
    if (!params[i]) fail(where, what, " is a null pointer");
    const Parameter<T>& p = *params[i];
    check_name(where, what, p.name);
    for (std::size_t j = 0; j < i; ++j)
      if (params[j]->name == p.name) fail(where, "parameters ", j, " and ", i, " are both named '", p.name, "'");
    if (p.value.dimension() > kNpzMaxRank) fail(where, "parameter '", p.name, "' has rank above ", kNpzMaxRank);
    es.push_back(entry("param/" + p.name, to_npy(p.value)));
  }
  bool grouped = false;
  if (opt) {
    std::string names;
    for (std::size_t i = 0; i < opt->params().size(); ++i) {
      check_name(where, std::string(opt->name()) + "'s parameter " + std::to_string(i), opt->params()[i]->name);
      names += (i ? "\n" : "") + opt->params()[i]->name;
    }
    const OptimizerState<T> s = opt->state();
    const std::size_t groups = s.group_sizes.size();
    es.push_back(entry("optim/name", text_array(opt->name())));
    es.push_back(entry("optim/params", text_array(names)));
    if (groups > 1) {
      std::vector<std::int64_t> sizes(s.group_sizes.begin(), s.group_sizes.end());
      es.push_back(entry("optim/groups", raw_array("<i8", {groups}, sizes.data(), 8 * groups)));
    }
    es.push_back(entry("optim/steps", raw_array("<i8", {}, &s.steps, 8)));
    es.push_back(entry("optim/lr", groups > 1 ? raw_array("<f8", {groups}, s.lr.data(), 8 * groups)
                                              : raw_array("<f8", {}, s.lr.data(), 8)));
    for (const NamedTensor<T>& t : s.tensors) es.push_back(entry("optim/state/" + t.name, to_npy(t.value)));
    grouped = groups > 1;
  }
  const std::int64_t version = grouped ? 3 : meta.series.empty() ? 1 : 2;  // the oldest that holds it all
  const std::int64_t header[4] = {kCheckpointMagic, version, static_cast<std::int64_t>(es.size()), entries_checksum(es)};
  es[0] = entry("__tapegrad__", raw_array("<i8", {4}, header, sizeof header));
  return zip_npz(es, where);
}

// Walks the decoded entries in the order encode() writes them.
class Reader {
 public:
  Reader(std::vector<NpzEntry> es, const std::string& where) : es_(std::move(es)), where_(where) {}
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
      fail(where_, "expected entry '", name, "' but found '", escaped(es_[k_].name), "'");
    NpyArray a = parse_npy_entry(es_[k_++], where_);
    if (a.dtype != dtype || (rank >= 0 && a.shape.size() != std::size_t(rank)))
      fail(where_, "entry '", escaped(es_[k_ - 1].name), "' is ", a.dtype, " of shape ", shape_str(a.shape), ", expected ",
           dtype, rank == 0 ? " of shape ()" : rank == 1 ? " of rank 1" : "");
    return a;
  }
  std::string text(const std::string& name) {
    const NpyArray a = take(name, "|u1", 1);
    return std::string(a.data.begin(), a.data.end());
  }
  const std::vector<NpzEntry>& entries() const { return es_; }

 private:
  std::vector<NpzEntry> es_;
  const std::string& where_;
  std::size_t k_ = 0;
};

template <class T>
Checkpoint<T> decode(const char* bytes, std::size_t size, const std::string& where) {
  Reader r(unzip_npz(bytes, size, where), where);
  if (r.name() != "__tapegrad__")
    fail(where, "the first entry is '", escaped(r.name()), "', not '__tapegrad__': not a tapegrad checkpoint");
  const NpyArray h = r.take("__tapegrad__", "<i8", 1);
  if (h.shape[0] < 2 || scalar_of<std::int64_t>(h) != kCheckpointMagic)
    fail(where, "'__tapegrad__' does not start with the checkpoint magic: not a tapegrad checkpoint");
  std::int64_t header[4];
  std::memcpy(header, h.data.data(), 16);
  if (header[1] < 1 || header[1] > kCheckpointVersion)
    fail(where, "checkpoint format version ", header[1], " is not supported (this build reads versions 1 to ",
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
  while (r.at("meta/series/")) {
    CheckpointSeries m{r.name().substr(12), {}};
    if (header[1] == 1) fail(where, "series '", escaped(m.name), "' in a version 1 checkpoint (series need version 2)");
    check_name(where, "saved series", m.name);
    for (const CheckpointSeries& o : c.meta.series)
      if (o.name == m.name) fail(where, "series '", m.name, "' appears twice");
    const NpyArray a = r.take(r.name(), "<f8", 1);
    m.values.resize(a.shape[0]);
    if (!m.values.empty()) std::memcpy(m.values.data(), a.data.data(), a.data.size());
    c.meta.series.push_back(std::move(m));
  }
  if (header[1] == 2 && c.meta.series.empty())  // save_checkpoint writes version 1 then: not its bytes
    fail(where, "a version 2 checkpoint without series");
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
    if (header[1] == 3) {  // two or more groups: their sizes, then a rate for each
      const NpyArray g = r.take("optim/groups", "<i8", 1);
      const std::size_t count = g.shape[0];
      if (count < 2)
        fail(where, "a version 3 checkpoint with ", count, " parameter group", count == 1 ? "" : "s",
             " (one group is saved as version 1 or 2)");
      std::size_t total = 0;
      for (std::size_t k = 0; k < count; ++k) {
        std::int64_t n;
        std::memcpy(&n, g.data.data() + 8 * k, 8);
        if (n < 0) fail(where, "parameter group ", k, " has ", n, " parameters");
        if (static_cast<std::uint64_t>(n) > c.optimizer_params.size() - total)
          fail(where, "the parameter groups hold more than the optimizer's ", c.optimizer_params.size(), " parameters");
        total += static_cast<std::size_t>(n);
        c.optimizer.group_sizes.push_back(static_cast<std::size_t>(n));
      }
      if (total != c.optimizer_params.size())
        fail(where, "the parameter groups hold ", total, " parameters but the optimizer has ",
             c.optimizer_params.size());
    } else {
      c.optimizer.group_sizes = {c.optimizer_params.size()};
    }
    c.optimizer.steps = scalar_of<std::int64_t>(r.take("optim/steps", "<i8", 0));
    const std::size_t groups = c.optimizer.group_sizes.size();
    const NpyArray lr = r.take("optim/lr", "<f8", header[1] == 3 ? 1 : 0);
    if (header[1] == 3 && lr.shape[0] != groups)
      fail(where, "entry 'optim/lr' holds ", lr.shape[0], " learning rates for ", groups, " parameter groups");
    c.optimizer.lr.resize(groups);
    std::memcpy(c.optimizer.lr.data(), lr.data.data(), 8 * groups);
    while (r.at("optim/state/")) {
      NamedTensor<T> t{r.name().substr(12), {}};
      check_name(where, "optimizer state", t.name);
      for (const NamedTensor<T>& o : c.optimizer.tensors)
        if (o.name == t.name) fail(where, "optimizer state '", t.name, "' appears twice");
      t.value = npy_to_tensor<T>(r.take(r.name(), dtype_of<T>(), -1));
      c.optimizer.tensors.push_back(std::move(t));
    }
  }
  if (!r.done()) fail(where, "unexpected entry '", escaped(r.name()), "'");
  if (header[1] == 3 && !c.has_optimizer)  // save_checkpoint writes version 3 for groups only
    fail(where, "a version 3 checkpoint without optimizer parameter groups");
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
  const std::string bytes = read_npz_file(path, where);
  return decode<T>(bytes.data(), bytes.size(), where);
}

template <class T>
void apply_checkpoint(const Checkpoint<T>& c, const std::vector<Parameter<T>*>& params, Optimizer<T>* opt,
                      const std::string& source, const std::string& expected_model_name) {
  const std::string where = "load_checkpoint: " + source + ": ";
  if (!expected_model_name.empty() && c.meta.model_name != expected_model_name)
    fail(where, "the checkpoint is of model '", escaped(c.meta.model_name), "', not '", expected_model_name, "'");
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
      fail(where, "the optimizer state is ", escaped(c.optimizer_name), "'s, but the optimizer is ", opt->name());
    const std::vector<std::size_t>& saved = c.optimizer.group_sizes;
    std::vector<std::size_t> here;
    for (std::size_t g = 0; g < opt->num_groups(); ++g) here.push_back(opt->group_size(g));
    // One group each: the names below say which parameter differs.
    if (saved.size() != here.size() || (saved.size() > 1 && saved != here))
      fail(where, "the saved ", escaped(c.optimizer_name), " has ", groups_str(saved), ", this one has ",
           groups_str(here));
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
    for (std::size_t g = 0; g < c.optimizer.lr.size(); ++g)
      if (!std::isfinite(c.optimizer.lr[g]) || c.optimizer.lr[g] < 0)
        fail(where, "invalid learning rate ", c.optimizer.lr[g],
             c.optimizer.lr.size() > 1 ? " of parameter group " + std::to_string(g) : std::string());
    try {
      opt->load_state(c.optimizer);  // validates before it changes anything
    } catch (const Error& e) {
      fail(where, e.what());
    }
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    std::copy(src[i]->cbegin(), src[i]->cend(), params[i]->value.begin());
    params[i]->mark_modified();
  }
}

template <class T>
void save_checkpoint(const std::string& path, const std::vector<Parameter<T>*>& params, const Optimizer<T>* optimizer,
                     const CheckpointMeta& meta) {
  const std::string where = "save_checkpoint: " + path + ": ";
  write_npz_file(path, encode(params, optimizer, meta, where), where);
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
