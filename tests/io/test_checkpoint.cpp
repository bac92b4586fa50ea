// Checkpoints: round trips of parameters and SGD/Adam state, the .npz bytes
// NumPy expects, and every way a file can be wrong: truncated at each offset,
// any single byte corrupted, other shapes, names, optimizers, versions. A
// failed load must leave the model and the optimizer exactly as they were.
#include "io/checkpoint.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <zlib.h>

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
AdamOptions adam_lr(double lr) {
  AdamOptions o;
  o.lr = lr;
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
std::uint32_t le(const std::string& s, std::size_t at, int n) {
  std::uint32_t v = 0;
  for (int k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[at + k]);
  return v;
}
void set_le(std::string& s, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = char((v >> (8 * k)) & 0xff);
}

// The ZIP structure read independently of io/checkpoint.cpp, as Python's zipfile reads it.
struct ZipEntry {
  std::string name;
  std::size_t local, central, data, size;
  std::uint32_t crc;
};
std::vector<ZipEntry> zip_entries(const std::string& z) {
  const std::size_t end = z.size() - 22;
  EXPECT_EQ(le(z, end, 4), 0x06054b50u);
  std::vector<ZipEntry> es;
  std::size_t pos = le(z, end + 16, 4);
  for (std::uint32_t i = 0; i < le(z, end + 10, 2); ++i) {
    EXPECT_EQ(le(z, pos, 4), 0x02014b50u);
    ZipEntry e;
    const std::size_t name_len = le(z, pos + 28, 2);
    e.name = z.substr(pos + 46, name_len);
    e.central = pos;
    e.local = le(z, pos + 42, 4);
    e.crc = le(z, pos + 16, 4);
    e.size = le(z, pos + 20, 4);
    e.data = e.local + 30 + le(z, e.local + 26, 2) + le(z, e.local + 28, 2);
    es.push_back(e);
    pos += 46 + name_len + le(z, pos + 30, 2) + le(z, pos + 32, 2);
  }
  return es;
}
// Recomputes an entry's CRC-32 in both its headers (a deliberate, consistent edit).
void refresh_crc(std::string& z, const ZipEntry& e) {
  const auto crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(&z[e.data]), e.size));
  set_le(z, e.local + 14, crc);
  set_le(z, e.central + 16, crc);
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
  Adam<double> opt_a(a.params(), adam_lr(0.01));
  Adam<double> opt_b(b.params(), adam_lr(0.5));
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

TEST_F(CheckpointTest, BytesAreAStoredNpzThatNumpyReads) {
  Model<float> m(1.5);
  Adam<float> opt(m.params(), AdamOptions{});
  m.set_grads(0.5);
  opt.step();
  save_checkpoint<float>(path("c.npz"), m.params(), &opt, {"net", 2, 9});
  const std::string z = slurp(path("c.npz"));
  EXPECT_EQ(z, encode_checkpoint<float>(m.params(), &opt, {"net", 2, 9}));  // deterministic bytes
  const std::vector<ZipEntry> es = zip_entries(z);
  std::vector<std::string> names;
  for (const ZipEntry& e : es) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "__tapegrad__.npy", "meta/model_name.npy", "meta/epoch.npy", "meta/seed.npy", "param/W.npy",
                       "param/b.npy", "optim/name.npy", "optim/params.npy", "optim/steps.npy", "optim/lr.npy",
                       "optim/state/exp_avg.0.npy", "optim/state/exp_avg.1.npy", "optim/state/exp_avg_sq.0.npy",
                       "optim/state/exp_avg_sq.1.npy"}));
  std::size_t next = 0;
  for (const ZipEntry& e : es) {
    SCOPED_TRACE(e.name);
    EXPECT_EQ(e.local, next);  // entries back to back, then the central directory
    EXPECT_EQ(z.substr(e.local, 4), std::string("PK\3\4"));
    EXPECT_EQ(le(z, e.local + 8, 2), 0u);    // method 0: stored, as numpy.load handles
    EXPECT_EQ(le(z, e.local + 6, 2), 0u);    // no flags: no data descriptor, no encryption
    EXPECT_EQ(le(z, e.local + 18, 4), e.size);
    EXPECT_EQ(le(z, e.local + 22, 4), e.size);
    EXPECT_EQ(e.crc, crc32(0, reinterpret_cast<const Bytef*>(&z[e.data]), e.size));
    EXPECT_EQ(z.substr(e.data, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ((10 + le(z, e.data + 8, 2)) % 64, 0u);  // the .npy data is 64-byte aligned within the entry
    next = e.data + e.size;
  }
  EXPECT_EQ(le(z, z.size() - 22 + 16, 4), next);
  // The header holds magic, version, entry count and checksum as <i8 (4,).
  const ZipEntry& h = es[0];
  const std::string hdr = z.substr(h.data + 10, le(z, h.data + 8, 2));
  EXPECT_THAT(hdr, StartsWith("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }"));
  std::int64_t v[4];
  const std::size_t h_data = h.data + 10 + le(z, h.data + 8, 2);
  EXPECT_EQ(h_data + 32, h.data + h.size);
  std::memcpy(v, &z[h_data], 32);
  EXPECT_EQ(v[0], kCheckpointMagic);
  EXPECT_EQ(v[1], 1);
  EXPECT_EQ(v[2], 14);
  // W's data are its float bytes, row-major.
  const ZipEntry& w = es[4];
  EXPECT_THAT(z.substr(w.data + 10, 60), StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"));
  ASSERT_EQ(w.size, 128u + 6 * 4);  // 10 + 60-byte dict + padding = 128
  EXPECT_EQ(std::memcmp(&z[w.data + 128], m.w.value.data(), 24), 0);
}

TEST_F(CheckpointTest, EveryTruncationIsAnErrorAndLeavesTheModelAlone) {
  const std::string full = small_sgd_checkpoint(path("full.npz"));
  Model<float> m(7.0, 2, 2), fresh(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  // Every length in memory (decode + apply, what load_checkpoint does after
  // reading the file), and every 50th through a real file.
  const std::string p = path("cut.npz");
  for (std::size_t n = 0; n < full.size(); ++n) {
    try {
      if (n % 50 == 0) {
        put_file(p, full.substr(0, n));
        load_checkpoint<float>(p, m.params(), &opt);
      } else {
        apply_checkpoint(decode_checkpoint<float>(full.data(), n, p), m.params(), &opt, p);
      }
      ADD_FAILURE() << "no error when truncated to " << n << " of " << full.size() << " bytes";
    } catch (const Error& e) {
      ASSERT_THAT(e.what(), StartsWith("load_checkpoint: " + p + ": ")) << n;
    }
  }
  expect_equal(m.w.value, fresh.w.value);
  expect_equal(m.b.value, fresh.b.value);
  EXPECT_EQ(opt.steps(), 0);
  EXPECT_EQ(opt.lr(), 0.3);
  expect_equal(opt.momentum_buffer(0), Tensor<float>(xt::zeros<float>({2, 2})));
  load_checkpoint<float>(path("full.npz"), m.params(), &opt);  // and the whole file loads
  EXPECT_EQ(opt.steps(), 3);
}

TEST_F(CheckpointTest, EverySingleByteCorruptionIsAnError) {
  const std::string full = small_sgd_checkpoint(path("full.npz"));
  Model<float> m(7.0, 2, 2), fresh(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  const std::string p = path("bad.npz");
  for (unsigned char flip : {0x01, 0x80, 0xFF}) {
    for (std::size_t at = 0; at < full.size(); ++at) {
      std::string bad = full;
      bad[at] = char(bad[at] ^ flip);
      if (at % 50 == 0) {
        put_file(p, bad);
        EXPECT_THROW(load_checkpoint<float>(p, m.params(), &opt), Error) << "byte " << at << " ^ " << int(flip);
      } else {
        EXPECT_THROW(apply_checkpoint(decode_checkpoint<float>(bad.data(), bad.size(), p), m.params(), &opt, p), Error)
            << "byte " << at << " ^ " << int(flip);
      }
    }
  }
  expect_equal(m.w.value, fresh.w.value);
  EXPECT_EQ(opt.steps(), 0);
  std::string bad = full;
  bad[zip_entries(full)[4].data + 70] ^= 0x10;  // a data byte of param/W
  put_file(p, bad);
  EXPECT_THAT([&] { load_checkpoint<float>(p, m.params(), &opt); },
              ThrowsMessage<Error>(HasSubstr("ZIP entry 'param/W' fails its CRC-32 check")));
}

TEST_F(CheckpointTest, ConsistentEditsAreCaughtByVersionMagicAndChecksum) {
  const std::string full = small_sgd_checkpoint(path("full.npz"));
  Model<float> m(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  const std::vector<ZipEntry> es = zip_entries(full);
  const std::size_t header = es[0].data + 128;  // the <i8 (4,) data
  auto load_edit = [&](std::size_t at, char value, const ZipEntry& e, bool fix_checksum = false) {
    std::string z = full;
    z[at] = value;
    refresh_crc(z, e);  // the ZIP layer is consistent again
    if (fix_checksum) {  // and so is the header's checksum: CRC-32 of each later entry's name, NUL, bytes
      uLong c = 0;
      for (std::size_t k = 1; k < es.size(); ++k) {
        const std::string name = es[k].name.substr(0, es[k].name.size() - 4);
        c = crc32(c, reinterpret_cast<const Bytef*>(name.c_str()), static_cast<uInt>(name.size() + 1));
        c = crc32(c, reinterpret_cast<const Bytef*>(&z[es[k].data]), static_cast<uInt>(es[k].size));
      }
      const std::int64_t sum = static_cast<std::int64_t>(c);
      std::memcpy(&z[header + 24], &sum, 8);
      refresh_crc(z, es[0]);
    }
    put_file(path("edit.npz"), z);
    try {
      load_checkpoint<float>(path("edit.npz"), m.params(), &opt);
    } catch (const Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(load_edit(header + 8, 2, es[0]),
              HasSubstr("checkpoint format version 2 is not supported (this build reads version 1)"));
  EXPECT_THAT(load_edit(header, 'x', es[0]), HasSubstr("does not start with the checkpoint magic"));
  EXPECT_THAT(load_edit(header + 16, 9, es[0]), HasSubstr("the header lists 9 entries but the archive holds 12"));
  EXPECT_THAT(load_edit(es[4].data + 128, 'q', es[4]), HasSubstr("checksum mismatch"));
  EXPECT_THAT(load_edit(es[4].data + 12, 'x', es[4], true), HasSubstr("entry 'param/W': malformed or unexpected .npy header"));
  const std::size_t dim = full.find("(2, 2)", es[4].data);  // W's shape in its .npy header
  EXPECT_THAT(load_edit(dim + 1, '9', es[4], true),
              HasSubstr("entry 'param/W': shape (9, 2) of <f4 does not match its 16 data bytes"));
  EXPECT_THAT(load_edit(es[4].data + 128, 'q', es[4], true), HasSubstr("no error"));  // the helper itself is right
  EXPECT_EQ(opt.steps(), 3);
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
  put_file(path("x.npy"), std::string("\x93NUMPY\x01\x00", 8) + std::string(120, ' '));
  EXPECT_THAT([&] { load_checkpoint<float>(path("x.npy"), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("x.npy: no ZIP end record at the end of the file")));
  EXPECT_THAT([&] { load_checkpoint<float>(path("absent.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("absent.npz: cannot open: No such file or directory")));
  EXPECT_THAT([&] { load_checkpoint<float>(dir_.string(), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("not a regular file")));
}

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
  EXPECT_THAT(save_error({&odd}, path("c.npz")), HasSubstr("outside printable ASCII"));
  EXPECT_THAT(save_error({&m.w}, path("no/such/dir/c.npz")),
              HasSubstr("save_checkpoint: " + path("no/such/dir/c.npz") + ": cannot create a temporary file"));
  fs::create_directories(path("taken.npz"));
  EXPECT_THAT(save_error({&m.w}, path("taken.npz")), HasSubstr("cannot rename the temporary file into place"));
  EXPECT_EQ(slurp(path("c.npz")), before);
  EXPECT_EQ(files(), 2u);  // c.npz and the directory: every temporary was removed
}

// A child process saves changing checkpoints in a loop; the parent SIGKILLs it
// at random moments. After every kill the file must load and equal one complete
// version, never a mix: atomic rename makes the old-or-new guarantee.
TEST_F(CheckpointTest, SurvivesSigkillAtRandomMoments) {
  const std::string p = path("live.npz");
  auto version = [](Model<float>& m, SGD<float>& opt, std::int64_t k) {
    m.w.value = filled<float>({32, 32}, double(k));
    m.b.value = filled<float>({32}, -double(k));
    OptimizerState<float> s = opt.state();
    s.steps = k;
    s.lr = 0.001 * double(k % 50);
    for (NamedTensor<float>& t : s.tensors) t.value.fill(float(k));
    opt.load_state(s);
  };
  Model<float> m(0.0, 32, 32);
  SGD<float> opt(m.params(), sgd_opts(0.1, 0.9));
  version(m, opt, 0);
  save_checkpoint<float>(p, m.params(), &opt, {"live", 0, 0});

  std::mt19937 rng(20240601);
  std::int64_t last = 0;
  int kills = 0, advanced = 0;
  const auto start = std::chrono::steady_clock::now();
  while (kills < 150 && std::chrono::steady_clock::now() - start < std::chrono::seconds(12)) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::alarm(30);  // never outlive a crashed parent for long
      try {
        for (std::int64_t k = last + 1;; ++k) {
          version(m, opt, k);
          save_checkpoint<float>(p, m.params(), &opt, {"live", k, std::uint64_t(k)});
        }
      } catch (...) {
        ::_exit(3);
      }
    }
    ::usleep(std::uniform_int_distribution<unsigned>(0, 15000)(rng));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the saving child failed: " << status;
    ++kills;

    Model<float> got(0.0, 32, 32);
    SGD<float> got_opt(got.params(), sgd_opts(0.1, 0.9));
    const CheckpointMeta meta = load_checkpoint<float>(p, got.params(), &got_opt, "live");
    ASSERT_GE(meta.epoch, last) << "kill " << kills << " went back in time";
    Model<float> want(0.0, 32, 32);
    SGD<float> want_opt(want.params(), sgd_opts(0.1, 0.9));
    version(want, want_opt, meta.epoch);
    expect_equal(got.w.value, want.w.value);
    expect_equal(got.b.value, want.b.value);
    expect_equal(got_opt.momentum_buffer(1), want_opt.momentum_buffer(1));
    ASSERT_EQ(got_opt.steps(), meta.epoch);
    ASSERT_EQ(meta.seed, std::uint64_t(meta.epoch));
    advanced += meta.epoch > last;
    last = meta.epoch;
  }
  std::size_t temporaries = 0;
  for (const auto& f : fs::directory_iterator(dir_)) temporaries += f.path().filename() != "live.npz";
  std::printf("[ kill test ] %d kills in %.1f s, %d advanced the checkpoint (last epoch %lld), %zu stale temporaries\n",
              kills, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), advanced,
              static_cast<long long>(last), temporaries);
  EXPECT_GE(kills, 50);
  EXPECT_GT(advanced, 0);
}

}  // namespace
}  // namespace tapegrad
