// IDX reading: the tests write their own small IDX files (gzipped with zlib,
// or plain) into a temporary directory, then check values and every error.
#include <chrono>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <zlib.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::all_close;

using Bytes = std::vector<unsigned char>;

// Big-endian magic (0x00000800 + rank) and dims, then the payload.
Bytes idx(std::uint32_t magic, const std::vector<std::uint32_t>& dims, const Bytes& payload) {
  Bytes out;
  auto put = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
  };
  put(magic);
  for (auto d : dims) put(d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void write_gz(const std::string& path, const Bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

void write_plain(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

class Idx : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("tapegrad_idx_" + std::string(info->name()) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string at(const std::string& name) const { return (dir_ / name).string(); }

  // A valid tiny Fashion-MNIST: 3 training and 2 test images of 2×2 pixels.
  void write_dataset() {
    write_gz(at("train-images-idx3-ubyte.gz"), idx(0x803, {3, 2, 2}, {0, 255, 51, 102, 204, 153, 0, 0, 255, 255, 255, 255}));
    write_gz(at("train-labels-idx1-ubyte.gz"), idx(0x801, {3}, {0, 9, 3}));
    write_gz(at("t10k-images-idx3-ubyte.gz"), idx(0x803, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
    write_gz(at("t10k-labels-idx1-ubyte.gz"), idx(0x801, {2}, {7, 1}));
  }
  fs::path dir_;
};

TEST_F(Idx, LoadsGzippedDatasetScaledToUnitInterval) {
  write_dataset();
  Dataset d = load_fashion_mnist(dir_.string());
  // pixel / 255: 51 → 0.2, 102 → 0.4, 153 → 0.6, 204 → 0.8
  EXPECT_TRUE(all_close(d.train_images, Tensor<float>{{0, 1, 0.2f, 0.4f}, {0.8f, 0.6f, 0, 0}, {1, 1, 1, 1}}));
  EXPECT_EQ(d.train_labels, (IndexTensor{0, 9, 3}));
  ASSERT_EQ(d.test_images.shape(), (std::vector<std::size_t>{2, 4}));
  EXPECT_FLOAT_EQ(d.test_images(1, 3), 8.0f / 255.0f);
  EXPECT_EQ(d.test_labels, (IndexTensor{7, 1}));
}

TEST_F(Idx, PlainFilesWorkThroughTheSameReader) {
  write_plain(at("x.idx"), idx(0x803, {1, 1, 3}, {255, 0, 51}));
  IdxBytes raw = read_idx(at("x.idx"), 3);
  EXPECT_EQ(raw.dims, (Shape{1, 1, 3}));
  EXPECT_EQ(raw.data, (std::vector<std::uint8_t>{255, 0, 51}));
  // load_fashion_mnist falls back to the name without .gz when only that exists.
  write_dataset();
  fs::remove(at("t10k-labels-idx1-ubyte.gz"));
  write_plain(at("t10k-labels-idx1-ubyte"), idx(0x801, {2}, {4, 5}));
  EXPECT_EQ(load_fashion_mnist(dir_.string()).test_labels, (IndexTensor{4, 5}));
}

TEST_F(Idx, CenterSubtractsTheTrainingMeanFromBoth) {
  Tensor<float> train{{1, 2}, {3, 6}}, test{{0, 0}, {2, 4}};
  Tensor<float> mean = center(train, test);
  EXPECT_TRUE(all_close(mean, Tensor<float>{2, 4}));  // [(1 + 3)/2, (2 + 6)/2]
  EXPECT_TRUE(all_close(train, Tensor<float>{{-1, -2}, {1, 2}}));
  EXPECT_TRUE(all_close(test, Tensor<float>{{-2, -4}, {0, 0}}));  // the test mean does not matter
  Tensor<float> bad{{1, 2, 3}};
  EXPECT_THAT([&] { center(train, bad); }, ThrowsMessage<Error>(HasSubstr("center: expects train (N, D) and test (M, D), got (2, 2) and (1, 3)")));
}

TEST_F(Idx, MissingFileIsNamed) {
  write_dataset();
  fs::remove(at("t10k-images-idx3-ubyte.gz"));
  EXPECT_THAT([&] { load_fashion_mnist(dir_.string()); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("t10k-images-idx3-ubyte.gz")), HasSubstr("cannot open"),
                                         HasSubstr("No such file"))));
}

TEST_F(Idx, TruncatedGzipIsNamed) {
  Bytes payload(4000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<unsigned char>(i * 7919 % 251);
  write_gz(at("cut.gz"), idx(0x803, {10, 20, 20}, payload));
  const auto full = fs::file_size(at("cut.gz"));
  fs::resize_file(at("cut.gz"), full / 2);
  EXPECT_THAT([&] { read_idx(at("cut.gz"), 3); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("cut.gz")), HasSubstr("truncated"))));
  // Only the 8-byte gzip trailer (CRC, length) missing: every data byte arrives,
  // yet the stream is incomplete.
  write_gz(at("notrailer.gz"), idx(0x803, {10, 20, 20}, payload));
  fs::resize_file(at("notrailer.gz"), fs::file_size(at("notrailer.gz")) - 8);
  EXPECT_THAT([&] { read_idx(at("notrailer.gz"), 3); }, ThrowsMessage<Error>(HasSubstr(at("notrailer.gz"))));
}

TEST_F(Idx, ShortReadAndTrailingBytesAreNamed) {
  write_plain(at("short"), idx(0x803, {3, 2, 2}, Bytes(11, 1)));  // 12 bytes promised
  EXPECT_THAT([&] { read_idx(at("short"), 3); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("short")), HasSubstr("short read: dimensions (3, 2, 2) need 12 data bytes, the file holds 11"))));
  write_gz(at("header.gz"), Bytes{0, 0, 8, 3, 0, 0});
  EXPECT_THAT([&] { read_idx(at("header.gz"), 3); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("header.gz")), HasSubstr("ends inside the IDX header"))));
  write_gz(at("long.gz"), idx(0x801, {2}, {1, 2, 3}));
  EXPECT_THAT([&] { read_idx(at("long.gz"), 1); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("long.gz")), HasSubstr("trailing bytes"))));
}

TEST_F(Idx, WrongMagicIsNamed) {
  write_gz(at("labels-as-images.gz"), idx(0x801, {2}, {1, 2}));
  EXPECT_THAT([&] { load_idx_images(at("labels-as-images.gz")); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("labels-as-images.gz")),
                                         HasSubstr("wrong magic 0x00000801, expected 0x00000803"))));
  write_gz(at("floats.gz"), idx(0xD03, {1, 1, 1}, {0, 0, 0, 0}));  // type 0x0D: float32
  EXPECT_THAT([&] { load_idx_images(at("floats.gz")); }, ThrowsMessage<Error>(HasSubstr("wrong magic 0x00000D03")));
}

TEST_F(Idx, CountMismatchNamesBothFiles) {
  write_dataset();
  write_gz(at("train-labels-idx1-ubyte.gz"), idx(0x801, {2}, {0, 9}));
  EXPECT_THAT([&] { load_fashion_mnist(dir_.string()); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("train-images-idx3-ubyte.gz") + "' holds 3 images"),
                                         HasSubstr(at("train-labels-idx1-ubyte.gz") + "' holds 2 labels"))));
}

TEST_F(Idx, LabelOutsideZeroToNineIsNamed) {
  write_dataset();
  write_gz(at("t10k-labels-idx1-ubyte.gz"), idx(0x801, {2}, {3, 12}));
  EXPECT_THAT([&] { load_fashion_mnist(dir_.string()); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("t10k-labels-idx1-ubyte.gz")),
                                         HasSubstr("label 12 at index 1 is outside [0, 10)"))));
}

TEST_F(Idx, AbsurdDimensionsAreNamed) {
  write_gz(at("zero.gz"), idx(0x803, {5, 0, 28}, {}));
  EXPECT_THAT([&] { read_idx(at("zero.gz"), 3); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("zero.gz")), HasSubstr("absurd dimensions (5, 0, 28)"))));
  // 4e9 images of 65535² pixels: refused from the header, before any allocation.
  write_gz(at("huge.gz"), idx(0x803, {4000000000u, 65535, 65535}, {}));
  EXPECT_THAT([&] { read_idx(at("huge.gz"), 3); },
              ThrowsMessage<Error>(AllOf(HasSubstr(at("huge.gz")), HasSubstr("absurd dimensions (4000000000, 65535, 65535)"))));
}

TEST(FashionMnist, RealDatasetIfInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  Dataset d = load_fashion_mnist(dir);
  EXPECT_EQ(d.train_images.shape(), (std::vector<std::size_t>{60000, 784}));
  EXPECT_EQ(d.test_images.shape(), (std::vector<std::size_t>{10000, 784}));
  ASSERT_EQ(d.train_labels.size(), 60000u);
  ASSERT_EQ(d.test_labels.size(), 10000u);
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  std::vector<int> train_count(10), test_count(10);
  for (auto y : d.train_labels) ++train_count.at(static_cast<std::size_t>(y));
  for (auto y : d.test_labels) ++test_count.at(static_cast<std::size_t>(y));
  EXPECT_EQ(train_count, std::vector<int>(10, 6000));
  EXPECT_EQ(test_count, std::vector<int>(10, 1000));
  EXPECT_EQ(*std::min_element(d.train_images.begin(), d.train_images.end()), 0.0f);
  EXPECT_EQ(*std::max_element(d.train_images.begin(), d.train_images.end()), 1.0f);
}

TEST_F(Idx, MessagesOfShortFilesCorruptGzipAndMismatchedSplits) {
  write_plain(at("tiny"), {0, 0});
  EXPECT_THAT([&] { read_idx(at("tiny"), 3); },
              ThrowsMessage<Error>(::testing::StrEq("read_idx: '" + at("tiny") + "': file too short for an IDX header")));
  // A gzip member cut inside its deflate data.
  write_plain(at("cut.gz"), {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x63, 0x60, 0x60});
  EXPECT_THAT([&] { read_idx(at("cut.gz"), 1); },
              ThrowsMessage<Error>(::testing::StartsWith("read_idx: '" + at("cut.gz") + "': corrupt or truncated gzip data (")));
  write_plain(at("long"), idx(0x801, {2}, {3, 4, 5}));
  EXPECT_THAT([&] { read_idx(at("long"), 1); },
              ThrowsMessage<Error>(::testing::StrEq("read_idx: '" + at("long") + "': trailing bytes after the 2 data bytes of (2)")));
  write_dataset();
  write_gz(at("t10k-images-idx3-ubyte.gz"), idx(0x803, {2, 1, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_THAT([&] { load_fashion_mnist(dir_.string()); },
              ThrowsMessage<Error>(::testing::StrEq("load_fashion_mnist: '" + at("t10k-images-idx3-ubyte.gz") +
                                                    "' has 3 pixels per image but the training images have 4")));
}

TEST_F(Idx, CenterWithoutTrainingRowsIsAnError) {
  Tensor<float> train = xt::zeros<float>({0, 3}), test = xt::zeros<float>({1, 3});
  EXPECT_THAT([&] { center(train, test); },
              ThrowsMessage<Error>(::testing::StrEq("center: train (0, 3) has no rows to take a mean over")));
}

}  // namespace
}  // namespace tapegrad
