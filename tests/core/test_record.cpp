// Typed saved state (Record::save / saved / claim / keep / buffer): an op's backward
// reads only the struct its own forward saved, a record reused after clear() by
// another op shows none of the previous op's state, and buffers keep their
// allocations across clear().
#include <tapegrad/core/record.hpp>

#include <tapegrad/core/tape.hpp>

#include <gmock/gmock.h>

#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/indexing.hpp>
#include <tapegrad/ops/reduce.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::error_of;

// y = k·x + offset[·]: saves k inline and the offsets in a named buffer, which the
// backward does not need but reads to prove it is the forward's.
struct AffineSaved {
  double k;
  std::size_t n;
  Slot<Tensor<double>> offsets;
};
int g_affine_backward_runs = 0;
double g_seen_offset = 0;
Var<double> affine(const Var<double>& x, double k) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("affine", {x}, [](Tape<double>& t, Record<double>& r) {
    const AffineSaved& s = r.saved<AffineSaved>();
    ++g_affine_backward_runs;
    g_seen_offset = r.buffer(s.offsets)(s.n - 1);
    t.accumulate(r.inputs[0], s.k * r.grad);  // dx = k·g
  }, nullptr);
  const Tensor<double>& xv = t.value(x);
  Tensor<double> offsets = xt::arange<double>(static_cast<double>(xv.size())) + 100.0;
  r.save(AffineSaved{k, xv.size(), r.keep(offsets)});
  xt::noalias(r.value) = k * xv + xt::reshape_view(offsets, xv.shape());
  return t.commit(r);
}

// An op that saves nothing, for a record that held affine's state before.
Var<double> plain_copy(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("plain_copy", {x}, [](Tape<double>& t, Record<double>& r) {
    t.accumulate(r.inputs[0], r.grad);
  }, nullptr);
  r.value = t.value(x);
  return t.commit(r);
}

TEST(TapeSaved, BackwardReadsTheStructItsForwardSaved) {
  Parameter<double> p(Tensor<double>{1.0, 2.0, 3.0});
  Tape<double> t;
  g_affine_backward_runs = 0;
  t.backward(sum(affine(t.watch(p), 2.5)));
  EXPECT_EQ(g_affine_backward_runs, 1);
  EXPECT_DOUBLE_EQ(g_seen_offset, 102.0);
  EXPECT_EQ(p.grad, (Tensor<double>{2.5, 2.5, 2.5}));
}

TEST(TapeSaved, ReusedRecordForgetsThePreviousOpsState) {
  Parameter<double> p(Tensor<double>{1.0, 2.0});
  Tape<double> t;
  Var<double> a = affine(t.watch(p), 3.0);
  const Slot<Tensor<double>> slot = t.record(a.id()).saved<AffineSaved>().offsets;
  EXPECT_TRUE(t.record(a.id()).has_saved());
  t.clear();
  Var<double> b = plain_copy(t.watch(p));  // the same record, another op
  ASSERT_EQ(b.id(), a.id());
  const Record<double>& r = t.record(b.id());
  EXPECT_FALSE(r.has_saved());
  EXPECT_THAT(error_of([&] { (void)r.saved<AffineSaved>(); }),
              HasSubstr("plain_copy: record #1 holds no saved state of the type read"));
  EXPECT_THAT(error_of([&] { (void)r.buffer(slot); }), HasSubstr("a buffer this record's op did not claim"));
  p.zero_grad();
  t.backward(sum(b));
  EXPECT_EQ(p.grad, (Tensor<double>{1.0, 1.0}));
}

TEST(TapeSaved, ReadingAnotherTypeIsAnError) {
  Parameter<double> p(Tensor<double>{1.0});
  Tape<double> t;
  Var<double> a = affine(t.watch(p), 1.0);
  struct Other {
    int x;
  };
  EXPECT_THAT(error_of([&] { (void)t.record(a.id()).saved<Other>(); }),
              HasSubstr("affine: record #1 holds no saved state of the type read"));
}

TEST(TapeSaved, BuffersKeepTheirAllocationAcrossClear) {
  Parameter<double> x(xt::ones<double>({4, 3}));
  IndexTensor index = {{0, 1, 2}, {2, 1, 0}};
  Tape<double> t;
  std::vector<const std::int64_t*> kept;
  for (int step = 0; step < 3; ++step) {
    t.clear();
    Var<double> g = gather(t.watch(x), 0, index);
    kept.push_back(t.record(g.id()).buffer(Slot<IndexTensor>{0}).data());
    x.zero_grad();
    t.backward(sum(g));
  }
  EXPECT_EQ(kept[0], kept[1]);
  EXPECT_EQ(kept[1], kept[2]);
  // rows 0 and 2 gathered once per column, row 1 twice in column 1... as a scatter-add
  EXPECT_EQ(x.grad, (Tensor<double>{{1, 0, 1}, {0, 2, 0}, {1, 0, 1}, {0, 0, 0}}));
}

TEST(TapeSaved, ClaimingMoreBuffersThanARecordHoldsIsAnError) {
  Parameter<double> p(Tensor<double>{1.0});
  Tape<double> t;
  Record<double>& r = t.push("greedy", {t.watch(p)}, nullptr, nullptr);
  for (std::size_t k = 0; k < Record<double>::kWordSlots; ++k) (void)r.claim<Words>();
  EXPECT_THAT(error_of([&] { (void)r.claim<Words>(); }),
              HasSubstr("greedy: record #1 holds more buffers claimed than a record holds"));
}

}  // namespace
}  // namespace tapegrad
