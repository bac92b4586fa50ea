// Inputs that libFuzzer (fuzz/run.sh) found to crash or misbehave, replayed
// through the readers as they are called in production: each must now be a
// tapegrad::Error naming the file, within bounded memory.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>

#include <gmock/gmock.h>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/idx.hpp>
#include <tapegrad/io/npy.hpp>
#include <tapegrad/optim/adam.hpp>
#include "support/support.hpp"

// This executable counts the largest single allocation, so a reader that
// trusts a size field in the file (and allocates before reading) fails a test
// instead of an out-of-memory kill.
namespace {
std::atomic<std::size_t> largest_allocation{0};
void* counted(std::size_t n) {
  std::size_t seen = largest_allocation.load();
  while (n > seen && !largest_allocation.compare_exchange_weak(seen, n)) {
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace
void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace tapegrad {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::size_t kMiB = std::size_t(1) << 20;

class FuzzRegression : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("tapegrad_fuzzreg_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    largest_allocation = 0;
  }
  void TearDown() override { fs::remove_all(dir_); }
  template <std::size_t N>
  std::string put(const char* name, const unsigned char (&bytes)[N]) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes), N);
    return p;
  }
  fs::path dir_;
};

// fuzz_idx, oom-00b1667b1ab24ced6bf501c6d4b5a196b4a28443: a 14-byte idx1 file
// claiming 0x20000006 labels made read_idx allocate all 512 MiB before reading.
TEST_F(FuzzRegression, IdxClaimingHalfAGigabyteAllocatesOnlyWhatArrives) {
  const unsigned char input[] = {0x00, 0x00, 0x08, 0x01, 0x20, 0x00, 0x00, 0x06, 0x00, 0x01, 0x02, 0x09, 0x03, 0x04};
  const std::string p = put("oom.idx", input);
  EXPECT_THAT([&] { load_idx_labels(p, 10); },
              ::testing::ThrowsMessage<Error>(HasSubstr("'" + p + "': short read: dimensions (536870918) need 536870918 "
                                                        "data bytes, the file holds 6")));
  EXPECT_LE(largest_allocation.load(), 4 * kMiB);
}

// Crashing inputs kept as files beside this source.
std::string regression_file(const std::string& name) {
  return (fs::path(__FILE__).parent_path() / "fuzz_regressions" / name).string();
}

// fuzz_checkpoint, crash-5e744459706419f2d05ff53cf9f464c60491efb9 (found by the
// structure-aware mutator, CRCs and checksum consistent): Adam's state entries
// in the order exp_avg.0, exp_avg_sq.0, exp_avg.1, exp_avg_sq.1 loaded, though
// save_checkpoint never writes that order (the fuzzer's re-encode oracle
// failed). The loader now requires the order save_checkpoint writes.
TEST_F(FuzzRegression, CheckpointWithReorderedOptimizerStateIsRefused) {
  const std::string p = regression_file("checkpoint-reordered-state.npz");
  Parameter<float> w(Tensor<float>(xt::zeros<float>({3, 2})), "W"), b(Tensor<float>(xt::zeros<float>({2})), "b");
  Adam<float> adam({&w, &b}, AdamOptions{});
  const Checkpoint<float> c = read_checkpoint<float>(p);  // a well-formed file...
  ASSERT_EQ(c.optimizer.tensors.size(), 4u);
  EXPECT_EQ(c.optimizer.tensors[1].name, "exp_avg_sq.0");
  EXPECT_THAT([&] { load_checkpoint<float>(p, {&w, &b}, &adam); },  // ...that does not match the optimizer
              ::testing::ThrowsMessage<Error>(HasSubstr(
                  p + ": optimizer state 1 is 'exp_avg_sq.0' where save_checkpoint writes 'exp_avg.1' (entries reordered)")));
  for (float v : w.value) EXPECT_EQ(v, 0.0f);  // nothing loaded
  EXPECT_EQ(adam.steps(), 0);
}

}  // namespace
}  // namespace tapegrad
