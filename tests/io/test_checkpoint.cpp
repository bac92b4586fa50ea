// Checkpoints: round trips of parameters, SGD/Adam state and metadata series,
// the entries NumPy sees, and every way a file can be wrong: truncated at each
// offset, any single byte corrupted, consistent edits, other shapes, names,
// optimizers, versions. A failed load must leave the model and the optimizer
// exactly as they were. The ZIP layout itself is tests/io/test_zip.cpp's.
#include "io/checkpoint.hpp"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>

#include "io/zip.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

SGDOptions sgd_opts(double lr, double momentum = 0, bool nesterov = false) {
  SGDOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.nesterov = nesterov;
  return o;
}

template <class T>
Tensor<T> filled(const Shape& shape, double base) {
  Tensor<T> t(shape);
  for (std::size_t k = 0; k < t.size(); ++k) t.data()[k] = static_cast<T>(base + 0.001 * double(k));
  return t;
}

// A two-parameter linear model and its parameter list.
template <class T>
struct Model {
  Parameter<T> w, b;
  explicit Model(double base, std::size_t in = 3, std::size_t out = 2)
      : w(filled<T>({in, out}, base), "W"), b(filled<T>({out}, -base), "b") {}
  std::vector<Parameter<T>*> params() { return {&w, &b}; }
  void set_grads(double base) {
    w.grad = filled<T>(to_shape(w.value.shape()), base);
    b.grad = filled<T>(to_shape(b.value.shape()), 2 * base);
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void put_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
// The archive's entries, decoded by the (separately tested) ZIP layer.
std::vector<NpzEntry> entries_of(const std::string& z) { return unzip_npz(z.data(), z.size(), "test: "); }
std::vector<std::string> names_of(const std::vector<NpzEntry>& es) {
  std::vector<std::string> names;
  for (const NpzEntry& e : es) names.push_back(e.name);
  return names;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("tapegrad_ckpt_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::size_t files() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {})); }

  // Model(1) trained three SGD-momentum steps, saved; returns the file's bytes.
  std::string small_sgd_checkpoint(const std::string& p) {
    Model<float> m(1.0, 2, 2);
    SGD<float> opt(m.params(), sgd_opts(0.1, 0.9));
    for (int k = 0; k < 3; ++k) {
      m.set_grads(0.5 + k);
      opt.step();
    }
    save_checkpoint<float>(p, m.params(), &opt, {"tiny", 3, 42});
    return slurp(p);
  }

  fs::path dir_;
};

template <class T>
void expect_equal(const Tensor<T>& a, const Tensor<T>& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (std::size_t k = 0; k < a.size(); ++k) ASSERT_EQ(a.data()[k], b.data()[k]) << "element " << k;
}

TEST_F(CheckpointTest, SgdRoundTripRestoresTrainingExactly) {
  Model<float> a(0.5, 3, 4), b(-2.0, 3, 4);
  SGD<float> opt_a(a.params(), sgd_opts(0.05, 0.9, true));
  SGD<float> opt_b(b.params(), sgd_opts(0.7, 0.9, true));
  for (int k = 0; k < 4; ++k) {
    a.set_grads(0.1 * (k + 1));
    opt_a.step();
  }
  save_checkpoint<float>(path("sgd.npz"), a.params(), &opt_a, {"linear", 7, 1234});
  const CheckpointMeta meta = load_checkpoint<float>(path("sgd.npz"), b.params(), &opt_b, "linear");
  EXPECT_EQ(meta.model_name, "linear");
  EXPECT_EQ(meta.epoch, 7);
  EXPECT_EQ(meta.seed, 1234u);
  expect_equal(b.w.value, a.w.value);
  expect_equal(b.b.value, a.b.value);
  EXPECT_EQ(opt_b.steps(), 4);
  EXPECT_EQ(opt_b.lr(), 0.05);
  expect_equal(opt_b.momentum_buffer(0), opt_a.momentum_buffer(0));
  expect_equal(opt_b.momentum_buffer(1), opt_a.momentum_buffer(1));
  // Resuming gives bit-identical training: one more step on each.
  a.set_grads(0.3);
  b.set_grads(0.3);
  opt_a.step();
  opt_b.step();
  expect_equal(b.w.value, a.w.value);
  expect_equal(b.b.value, a.b.value);
  EXPECT_EQ(files(), 1u);  // no temporary file left behind
}

TEST_F(CheckpointTest, AdamRoundTripInDoubleWithMetadata) {
  Model<double> a(0.25, 5, 3), b(9.0, 5, 3);
  Adam<double> opt_a(a.params(), AdamOptions{0.01});
  Adam<double> opt_b(b.params(), AdamOptions{0.5});
  for (int k = 0; k < 3; ++k) {
    a.set_grads(-0.2 * (k + 1));
    opt_a.step();
  }
  const CheckpointMeta saved{std::string("m\xc3\xa9tier\n\0x", 10), -3, 0xFFFFFFFFFFFFFFFFull};
  save_checkpoint<double>(path("adam.npz"), a.params(), &opt_a, saved);
  EXPECT_THAT([&] { load_checkpoint<double>(path("adam.npz"), b.params(), &opt_b, "other"); },
              ThrowsMessage<Error>(HasSubstr("the checkpoint is of model 'm\\xc3\\xa9tier\\x0a\\x00x', not 'other'")));
  const CheckpointMeta meta = load_checkpoint<double>(path("adam.npz"), b.params(), &opt_b);
  EXPECT_EQ(meta.model_name, saved.model_name);
  EXPECT_EQ(meta.epoch, -3);
  EXPECT_EQ(meta.seed, 0xFFFFFFFFFFFFFFFFull);
  expect_equal(b.w.value, a.w.value);
  for (std::size_t i = 0; i < 2; ++i) {
    expect_equal(opt_b.exp_avg(i), opt_a.exp_avg(i));
    expect_equal(opt_b.exp_avg_sq(i), opt_a.exp_avg_sq(i));
  }
  EXPECT_EQ(opt_b.steps(), 3);
  a.set_grads(1.0);
  b.set_grads(1.0);
  opt_a.step();
  opt_b.step();
  expect_equal(b.w.value, a.w.value);  // bias correction continues from t = 4
}

TEST_F(CheckpointTest, ScalarAndEmptyParametersRoundTrip) {
  Parameter<double> s(Tensor<double>(xt::xarray<double>::from_shape({})), "scale");
  s.value() = 3.25;
  Parameter<double> e(Tensor<double>(xt::xarray<double>::from_shape({0, 4})), "empty");
  save_checkpoint<double>(path("c.npz"), {&s, &e}, nullptr, {});
  Parameter<double> s2(Tensor<double>(xt::xarray<double>::from_shape({})), "scale");
  s2.value() = -1;
  Parameter<double> e2(Tensor<double>(xt::xarray<double>::from_shape({0, 4})), "empty");
  load_checkpoint<double>(path("c.npz"), {&e2, &s2}, nullptr);  // matched by name, not position
  EXPECT_EQ(s2.value(), 3.25);
  Parameter<double> e3(Tensor<double>(xt::xarray<double>::from_shape({4, 0})), "empty");
  EXPECT_THAT([&] { load_checkpoint<double>(path("c.npz"), {&s2, &e3}, nullptr); },
              ThrowsMessage<Error>(HasSubstr("parameter 'empty' has shape (0, 4) in the checkpoint but (4, 0)")));
}

TEST_F(CheckpointTest, OptimizerStateIsOptionalOnBothSides) {
  Model<float> a(1.0), b(0.0);
  SGD<float> opt(b.params(), sgd_opts(0.1, 0.5));
  save_checkpoint<float>(path("bare.npz"), a.params(), nullptr, {});
  EXPECT_THAT([&] { load_checkpoint<float>(path("bare.npz"), b.params(), &opt); },
              ThrowsMessage<Error>(HasSubstr("holds no optimizer state")));
  expect_equal(b.w.value, Model<float>(0.0).w.value);  // untouched
  load_checkpoint<float>(path("bare.npz"), b.params(), nullptr);
  expect_equal(b.w.value, a.w.value);
  // A checkpoint with optimizer state loads into a model alone (inference).
  Model<float> c(5.0);
  save_checkpoint<float>(path("full.npz"), b.params(), &opt, {});
  load_checkpoint<float>(path("full.npz"), c.params(), nullptr);
  expect_equal(c.b.value, a.b.value);
}

TEST_F(CheckpointTest, EntriesAreTheDocumentedNpyArrays) {
  Model<float> m(1.5);
  Adam<float> opt(m.params(), AdamOptions{});
  m.set_grads(0.5);
  opt.step();
  save_checkpoint<float>(path("c.npz"), m.params(), &opt, {"net", 2, 9});
  const std::string z = slurp(path("c.npz"));
  EXPECT_EQ(z, encode_checkpoint<float>(m.params(), &opt, {"net", 2, 9}));  // deterministic bytes
  const std::vector<NpzEntry> es = entries_of(z);
  EXPECT_EQ(names_of(es), (std::vector<std::string>{
                              "__tapegrad__", "meta/model_name", "meta/epoch", "meta/seed", "param/W", "param/b",
                              "optim/name", "optim/params", "optim/steps", "optim/lr", "optim/state/exp_avg.0",
                              "optim/state/exp_avg.1", "optim/state/exp_avg_sq.0", "optim/state/exp_avg_sq.1"}));
  // The header holds magic, version (1: no series), entry count and checksum as <i8 (4,).
  const NpyArray h = parse_npy_entry(es[0], "test: ");
  ASSERT_EQ(h.dtype, "<i8");
  ASSERT_EQ(h.shape, Shape{4});
  std::int64_t v[4];
  std::memcpy(v, h.data.data(), 32);
  EXPECT_EQ(v[0], kCheckpointMagic);
  EXPECT_EQ(v[1], 1);
  EXPECT_EQ(v[2], 14);
  std::uint32_t sum = 0;
  for (std::size_t k = 1; k < es.size(); ++k)
    sum = crc32_of(es[k].bytes.data(), es[k].bytes.size(), crc32_of(es[k].name.c_str(), es[k].name.size() + 1, sum));
  EXPECT_EQ(v[3], sum);
  const NpyArray name = parse_npy_entry(es[1], "test: ");
  EXPECT_EQ(std::string(name.data.begin(), name.data.end()), "net");
  // W's data are its float bytes, row-major, as <f4 (3, 2).
  const NpyArray w = parse_npy_entry(es[4], "test: ");
  EXPECT_EQ(w.dtype, "<f4");
  EXPECT_EQ(w.shape, (Shape{3, 2}));
  ASSERT_EQ(w.data.size(), 24u);
  EXPECT_EQ(std::memcmp(w.data.data(), m.w.value.data(), 24), 0);
  const NpyArray params = parse_npy_entry(es[7], "test: ");
  EXPECT_EQ(std::string(params.data.begin(), params.data.end()), "W\nb");
}

TEST_F(CheckpointTest, SeriesRoundTripInVersion2) {
  Model<float> a(0.5), b(3.0);
  SGD<float> opt_a(a.params(), sgd_opts(0.1, 0.9)), opt_b(b.params(), sgd_opts(0.1, 0.9));
  CheckpointMeta meta{"run", 2, 7};
  meta.series = {{"loss", {2.5, 1.25}}, {"none", {}}, {"odd", {-0.0, 1e-310, std::nan("7"), -INFINITY}}};
  save_checkpoint<float>(path("s.npz"), a.params(), &opt_a, meta);
  const std::vector<NpzEntry> es = entries_of(slurp(path("s.npz")));
  const std::vector<std::string> names = names_of(es);
  EXPECT_EQ(std::vector<std::string>(names.begin() + 1, names.begin() + 7),
            (std::vector<std::string>{"meta/model_name", "meta/epoch", "meta/seed", "meta/series/loss",
                                      "meta/series/none", "meta/series/odd"}));
  EXPECT_EQ(parse_npy_entry(es[0], "test: ").data[8], 2);  // format version 2
  const CheckpointMeta got = load_checkpoint<float>(path("s.npz"), b.params(), &opt_b, "run");
  ASSERT_EQ(got.series.size(), 3u);
  EXPECT_EQ(got.series[0].name, "loss");
  EXPECT_EQ(got.series[0].values, (std::vector<double>{2.5, 1.25}));
  EXPECT_TRUE(got.series[1].values.empty());
  ASSERT_EQ(got.series[2].values.size(), 4u);
  EXPECT_EQ(std::memcmp(got.series[2].values.data(), meta.series[2].values.data(), 32), 0);  // bit for bit
  expect_equal(b.w.value, a.w.value);
  meta.series.push_back({"loss", {1}});
  EXPECT_THAT([&] { save_checkpoint<float>(path("s.npz"), a.params(), nullptr, meta); },
              ThrowsMessage<Error>(HasSubstr("series 0 and 3 are both named 'loss'")));
  meta.series.back().name = "a\nb";
  EXPECT_THAT([&] { save_checkpoint<float>(path("s.npz"), a.params(), nullptr, meta); },
              ThrowsMessage<Error>(HasSubstr("series 3 'a\\x0ab' has a name with a byte outside printable ASCII")));
}

// Truncated at every length, and every single byte flipped: an error naming the
// file, and nothing in the model or the optimizer changes. Every length and byte
// in memory (decode + apply, what load_checkpoint does after reading the file),
// every 50th through a real file.
TEST_F(CheckpointTest, DamagedFilesAreErrorsAndLeaveTheModelAlone) {
  const std::string full = small_sgd_checkpoint(path("full.npz"));
  Model<float> m(7.0, 2, 2), fresh(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  const std::string p = path("bad.npz");
  auto expect_error = [&](const std::string& bytes, std::size_t k, const char* what) {
    try {
      if (k % 50 == 0) {
        put_file(p, bytes);
        load_checkpoint<float>(p, m.params(), &opt);
      } else {
        apply_checkpoint(decode_checkpoint<float>(bytes.data(), bytes.size(), p), m.params(), &opt, p);
      }
      ADD_FAILURE() << "no error: " << what << " " << k << " of " << full.size() << " bytes";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), StartsWith("load_checkpoint: " + p + ": ")) << what << " " << k;
    }
  };
  for (std::size_t n = 0; n < full.size(); ++n) expect_error(full.substr(0, n), n, "truncated to");
  for (std::size_t at = 0; at < full.size(); ++at) {
    std::string bad = full;
    bad[at] = char(bad[at] ^ 0x01);
    expect_error(bad, at, "flipped byte");
  }
  expect_equal(m.w.value, fresh.w.value);
  expect_equal(m.b.value, fresh.b.value);
  EXPECT_EQ(opt.steps(), 0);
  EXPECT_EQ(opt.lr(), 0.3);
  expect_equal(opt.momentum_buffer(0), Tensor<float>(xt::zeros<float>({2, 2})));
  std::string bad = full;
  bad[full.find(entries_of(full)[4].bytes) + 130] ^= 0x10;  // a data byte of param/W
  put_file(p, bad);
  EXPECT_THAT([&] { load_checkpoint<float>(p, m.params(), &opt); },
              ThrowsMessage<Error>(HasSubstr("ZIP entry 'param/W' fails its CRC-32 check")));
  load_checkpoint<float>(path("full.npz"), m.params(), &opt);  // and the whole file loads
  EXPECT_EQ(opt.steps(), 3);
}

// Edits a valid ZIP layer would not catch (the archive is rebuilt with correct
// CRC-32s), caught by the header's version, magic, count and checksum, and by
// the .npy entries' own checks.
TEST_F(CheckpointTest, ConsistentEditsAreCaughtByVersionMagicAndChecksum) {
  CheckpointMeta with_series{"tiny", 3, 42};
  with_series.series = {{"loss", {0.5}}};
  Model<float> src(1.0, 2, 2);
  SGD<float> src_opt(src.params(), sgd_opts(0.1, 0.9));
  const std::string v1 = small_sgd_checkpoint(path("full.npz"));
  const std::string v2 = encode_checkpoint<float>(src.params(), &src_opt, with_series);
  Model<float> m(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  // Sets byte `at` of entry k's .npy data (after its 128-byte header), then
  // rebuilds the archive, optionally with a correct checksum too.
  auto load_edit = [&](const std::string& z, std::size_t k, std::size_t at, char value, bool fix_checksum = false) {
    std::vector<NpzEntry> es = entries_of(z);
    es[k].bytes[128 + at] = value;
    if (fix_checksum) {  // CRC-32 of each later entry's name, NUL, bytes
      std::uint32_t c = 0;
      for (std::size_t j = 1; j < es.size(); ++j)
        c = crc32_of(es[j].bytes.data(), es[j].bytes.size(), crc32_of(es[j].name.c_str(), es[j].name.size() + 1, c));
      const std::int64_t sum = c;
      std::memcpy(&es[0].bytes[128 + 24], &sum, 8);
    }
    put_file(path("edit.npz"), zip_npz(es, "test: "));
    try {
      load_checkpoint<float>(path("edit.npz"), m.params(), &opt);
    } catch (const Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(load_edit(v2, 0, 8, 1, true),
              HasSubstr(": series 'loss' in a version 1 checkpoint (series need version 2)"));
  EXPECT_THAT(load_edit(v2, 0, 8, 2, true), HasSubstr("no error"));
  EXPECT_THAT(load_edit(v1, 0, 8, 3), HasSubstr("checkpoint format version 3 is not supported (this build reads "
                                                "versions 1 to 2)"));
  EXPECT_THAT(load_edit(v1, 0, 8, 0), HasSubstr("checkpoint format version 0 is not supported"));
  EXPECT_THAT(load_edit(v1, 0, 0, 'x'), HasSubstr("does not start with the checkpoint magic"));
  EXPECT_THAT(load_edit(v1, 0, 16, 9), HasSubstr("the header lists 9 entries but the archive holds 12"));
  EXPECT_THAT(load_edit(v1, 4, 0, 'q'), HasSubstr("checksum mismatch"));
  EXPECT_THAT(load_edit(v1, 4, 0, 'q', true), HasSubstr("no error"));  // the helper itself is right
  EXPECT_THAT(load_edit(v1, 0, 8, 2, true), HasSubstr(": a version 2 checkpoint without series"));
  // Inside an entry's .npy header (offsets from the data start: negative).
  EXPECT_THAT(load_edit(v1, 4, std::size_t(-116), 'x', true),
              HasSubstr("entry 'param/W': malformed or unexpected .npy header"));
  const std::size_t dim = entries_of(v1)[4].bytes.find("(2, 2)");
  EXPECT_THAT(load_edit(v1, 4, dim + 1 - 128, '9', true),
              HasSubstr("entry 'param/W': shape (9, 2) of <f4 does not match its 16 data bytes"));
  EXPECT_EQ(opt.steps(), 3);  // the last good load (v1, 3 steps), untouched by the failures after it
}

TEST_F(CheckpointTest, MismatchedModelsAreNamedErrors) {
  Model<float> src(1.0, 3, 2);
  SGD<float> sgd(src.params(), sgd_opts(0.1, 0.9));
  save_checkpoint<float>(path("c.npz"), src.params(), &sgd, {"mlp", 1, 1});
  auto error = [&](std::vector<Parameter<float>*> params, Optimizer<float>* opt, const std::string& model = "") {
    const std::vector<Tensor<float>> before = {params[0]->value, params.back()->value};
    try {
      load_checkpoint<float>(path("c.npz"), params, opt, model);
    } catch (const Error& e) {
      expect_equal(params[0]->value, before[0]);
      expect_equal(params.back()->value, before[1]);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Model<float> wide(0.0, 3, 5);
  EXPECT_EQ(error(wide.params(), nullptr),
            "load_checkpoint: " + path("c.npz") + ": parameter 'W' has shape (3, 2) in the checkpoint but (3, 5) in the model");
  Model<float> ok(0.0, 3, 2);
  ok.w.name = "W1";
  EXPECT_THAT(error(ok.params(), nullptr), HasSubstr("missing parameter 'W1' (the checkpoint holds 'W', 'b')"));
  ok.w.name = "W";
  EXPECT_THAT(error({&ok.w}, nullptr), HasSubstr("holds parameter 'b', which the model does not have"));
  Parameter<float> extra(filled<float>({2}, 0), "c");
  EXPECT_THAT(error({&ok.w, &ok.b, &extra}, nullptr), HasSubstr("missing parameter 'c'"));
  EXPECT_THAT(error(ok.params(), nullptr, "cnn"), HasSubstr("the checkpoint is of model 'mlp', not 'cnn'"));
  Adam<float> adam(ok.params(), AdamOptions{});
  EXPECT_THAT(error(ok.params(), &adam), HasSubstr("the optimizer state is SGD's, but the optimizer is Adam"));
  SGD<float> plain(ok.params(), sgd_opts(0.1));
  EXPECT_THAT(error(ok.params(), &plain), HasSubstr("holds optimizer state 'momentum_buffer.0', which SGD does not have"));
  SGD<float> reordered({&ok.b, &ok.w}, sgd_opts(0.1, 0.9));
  EXPECT_THAT(error(ok.params(), &reordered), HasSubstr("SGD's parameter 0 is 'W' in the checkpoint but 'b' here"));
  SGD<float> fewer({&ok.w}, sgd_opts(0.1, 0.9));
  EXPECT_THAT(error(ok.params(), &fewer), HasSubstr("SGD's parameter 1 is 'b' in the checkpoint but absent here"));
  Model<double> dbl(0.0, 3, 2);
  EXPECT_THAT([&] { load_checkpoint<double>(path("c.npz"), dbl.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("entry 'param/W' is <f4 of shape (3, 2), expected <f8")));
  // Nothing was changed by any of them: a matching optimizer still loads.
  SGD<float> good(ok.params(), sgd_opts(0.2, 0.9));
  load_checkpoint<float>(path("c.npz"), ok.params(), &good, "mlp");
  expect_equal(ok.w.value, src.w.value);
}

TEST_F(CheckpointTest, NotACheckpointAtAll) {
  Model<float> m(0.0);
  put_file(path("empty.npz"), "");
  EXPECT_THAT([&] { load_checkpoint<float>(path("empty.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("empty.npz: only 0 bytes: truncated, or not a checkpoint")));
  EXPECT_THAT([&] { load_checkpoint<float>(path("absent.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>("load_checkpoint: " + path("absent.npz") + ": cannot open: No such file or directory"));
  put_file(path("other.npz"), zip_npz({{"x", npy_entry_bytes(to_npy(Tensor<double>{1.0, 2.0}))}}, ""));
  EXPECT_THAT([&] { load_checkpoint<float>(path("other.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("the first entry is 'x', not '__tapegrad__': not a tapegrad checkpoint")));
}

// (Atomicity under SIGKILL and failed renames are tests/io/test_zip.cpp's, at write_npz_file.)
TEST_F(CheckpointTest, FailedSavesLeaveTheOldFileAndNoTemporary) {
  Model<float> m(1.0);
  save_checkpoint<float>(path("c.npz"), m.params(), nullptr, {"first", 1, 0});
  const std::string before = slurp(path("c.npz"));
  auto save_error = [&](std::vector<Parameter<float>*> ps, const std::string& p) {
    try {
      save_checkpoint<float>(p, ps, nullptr, {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Parameter<float> unnamed(filled<float>({2}, 0)), twin(filled<float>({2}, 0), "W"), odd(filled<float>({1}, 0), "a\tb");
  EXPECT_THAT(save_error({&m.w, &unnamed}, path("c.npz")), HasSubstr("c.npz: parameter 1 has no name"));
  EXPECT_THAT(save_error({&m.w, &twin}, path("c.npz")), HasSubstr("parameters 0 and 1 are both named 'W'"));
  EXPECT_THAT(save_error({&odd}, path("c.npz")), HasSubstr("'a\\x09b' has a name with a byte outside printable ASCII"));
  EXPECT_THAT(save_error({&m.w}, path("no/such/dir/c.npz")),
              HasSubstr("save_checkpoint: " + path("no/such/dir/c.npz") + ": cannot create a temporary file"));
  EXPECT_EQ(slurp(path("c.npz")), before);
  EXPECT_EQ(files(), 1u);  // no temporary left behind
}

}  // namespace
}  // namespace tapegrad
