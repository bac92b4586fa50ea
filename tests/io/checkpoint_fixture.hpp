#pragma once
// What the checkpoint tests share: a small linear model with deterministic
// values, the file's bytes and entries, and a fixture with a private directory
// per test (tests/io/test_checkpoint.cpp and test_checkpoint_errors.cpp).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cstring>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/npy.hpp>
#include <tapegrad/io/zip.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "support/support.hpp"

namespace tapegrad::checkpoint_test {

namespace fs = std::filesystem;

inline SGDOptions sgd_opts(double lr, double momentum = 0, bool nesterov = false) {
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

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline void put_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
// The archive's entries, decoded by the (separately tested) ZIP layer.
inline std::vector<NpzEntry> entries_of(const std::string& z) { return unzip_npz(z.data(), z.size(), "test: "); }
inline std::vector<std::string> names_of(const std::vector<NpzEntry>& es) {
  std::vector<std::string> names;
  for (const NpzEntry& e : es) names.push_back(e.name);
  return names;
}

// Rebuilds an archive from (edited) entries with the header's entry count and
// checksum made right again, so only the checkpoint's own checks can refuse it.
inline std::string rezip(std::vector<NpzEntry> es) {
  std::uint32_t c = 0;
  for (std::size_t j = 1; j < es.size(); ++j)
    c = crc32_of(es[j].bytes.data(), es[j].bytes.size(), crc32_of(es[j].name.c_str(), es[j].name.size() + 1, c));
  const std::int64_t tail[2] = {static_cast<std::int64_t>(es.size()), static_cast<std::int64_t>(c)};
  std::memcpy(&es[0].bytes[128 + 16], tail, 16);  // after the header entry's 128-byte .npy header
  return zip_npz(es, "test: ");
}
inline NpzEntry int64_entry(const std::string& name, const std::vector<std::int64_t>& values) {
  xt::xarray<std::int64_t> t = xt::xarray<std::int64_t>::from_shape({values.size()});
  std::copy(values.begin(), values.end(), t.begin());
  return {name, npy_entry_bytes(to_npy(t))};
}

// AdamW in two groups over a small linear model: W with the defaults (lr 0.1,
// weight decay 0.01), b with lr 0.2 and no decay.
template <class T>
struct GroupedModel {
  Model<T> m;
  AdamW<T> opt;
  explicit GroupedModel(double base) : m(base, 2, 2), opt({{&m.w}, {{&m.b}, GroupOptions().lr(0.2).weight_decay(0)}}, options()) {}
  static AdamOptions options() {
    AdamOptions o = AdamW<T>::defaults();
    o.lr = 0.1;
    return o;
  }
  void steps(int n) {
    for (int k = 0; k < n; ++k) {
      m.set_grads(0.5 + k);
      opt.step();
    }
  }
};

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

}  // namespace tapegrad::checkpoint_test
