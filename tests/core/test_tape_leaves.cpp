// Leaves changed between the forward that recorded them and backward (PyTorch's
// "modified by an inplace operation" check, core/tape_leaves.cpp): a Parameter
// whose version moved (an optimizer step, mark_modified, set_value), whose value
// was replaced or reshaped, and a borrowed tensor whose bytes, buffer or shape
// changed are Errors naming the leaf, its record and the first op that consumed
// it, raised before backward writes any gradient.
#include <gmock/gmock.h>

#include <tapegrad/core/checksum.hpp>
#include <tapegrad/core/tape.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::error_of;

// loss = Σ (X·W)²: records #0 borrow X, #1 watch W, #2 matmul, #3 square, #4 sum.
struct Step {
  Tensor<double> x{{1.0, 2.0}, {3.0, -1.0}};
  Parameter<double> w{Tensor<double>{{0.5, -1.0}, {2.0, 0.25}}, "W"};
  Tape<double> tape;
  Var<double> forward(bool checked = true) {
    const Var<double> xv = checked ? tape.borrow(x) : tape.borrow_unchecked(x);
    return sum(square(matmul(xv, tape.watch(w))));
  }
};

std::string expected_parameter_error(std::uint64_t now, std::uint64_t then) {
  return "backward: parameter 'W' (record #1, watch) was modified in place after the forward recorded it: its "
         "version is " + std::to_string(now) + ", watched at version " + std::to_string(then) +
         " (an optimizer step, load_state, load_checkpoint, an nn::init or mark_modified since the forward); op "
         "'matmul' (record #2) needs it for its gradient. Run backward before changing it, or record the forward "
         "again";
}

TEST(TapeLeaves, AnOptimizerStepBetweenForwardAndBackwardIsAnError) {
  for (const char* which : {"SGD", "Adam", "AdamW"}) {
    Step s;
    std::unique_ptr<Optimizer<double>> opt;
    if (which == std::string("SGD")) opt = std::make_unique<SGD<double>>(std::vector{&s.w}, SGDOptions{});
    if (which == std::string("Adam")) opt = std::make_unique<Adam<double>>(std::vector{&s.w}, AdamOptions{});
    if (which == std::string("AdamW")) opt = std::make_unique<AdamW<double>>(std::vector{&s.w});
    const Var<double> loss = s.forward();
    s.w.grad.fill(1.0);  // a previous step's gradient, which the step uses
    opt->step();
    EXPECT_EQ(s.w.version(), 1u) << which;
    s.w.grad.fill(0.0);
    EXPECT_EQ(error_of([&] { s.tape.backward(loss); }), expected_parameter_error(1, 0)) << which;
    EXPECT_EQ(s.w.grad, xt::zeros<double>({2, 2})) << which << ": backward wrote a gradient before failing";
    // the usual order (backward, then step) is fine, and so is the next forward
    s.tape.clear();
    s.tape.backward(s.forward());
    opt->step();
    EXPECT_EQ(s.w.version(), 2u) << which;
  }
}

TEST(TapeLeaves, MarkModifiedSetValueAndReplacingTheValueAreSeen) {
  Step s;
  Var<double> loss = s.forward();
  s.w.value(0, 0) = 7;  // a write in place is invisible by itself ...
  s.w.mark_modified();  // ... until it is declared
  EXPECT_EQ(error_of([&] { s.tape.backward(loss); }), expected_parameter_error(1, 0));
  s.tape.clear();
  loss = s.forward();
  s.w.set_value(Tensor<double>{{1.0, 1.0}, {1.0, 1.0}});
  EXPECT_EQ(error_of([&] { s.tape.backward(loss); }), expected_parameter_error(2, 1));
  s.tape.clear();
  loss = s.forward();
  s.w.value = s.w.value * 2.0;  // xtensor swaps in a new buffer: seen without a version bump
  EXPECT_THAT(error_of([&] { s.tape.backward(loss); }),
              HasSubstr("parameter 'W' (record #1, watch) was modified in place after the forward recorded it: its "
                        "value was replaced (a new buffer); op 'matmul' (record #2)"));
  s.tape.clear();
  loss = s.forward();
  s.w.value.reshape({4, 1});  // same buffer, another shape
  EXPECT_THAT(error_of([&] { s.tape.backward(loss); }), HasSubstr("its shape changed from (2, 2) to (4, 1)"));
}

TEST(TapeLeaves, ABorrowedTensorChangedBeforeBackwardIsAnError) {
  Step s;
  Var<double> loss = s.forward();
  s.x(1, 1) = 5;
  EXPECT_EQ(error_of([&] { s.tape.backward(loss); }),
            "backward: borrowed tensor (record #0, borrow) was modified in place after the forward recorded it: its "
            "contents changed (their checksum differs); op 'matmul' (record #2) needs it for its gradient. Run "
            "backward before changing it, or record the forward again");
  EXPECT_EQ(s.w.grad, xt::zeros<double>({2, 2}));
  s.tape.clear();
  loss = s.forward();
  s.x = s.x + 0.0;  // the same values in a new buffer
  EXPECT_THAT(error_of([&] { s.tape.backward(loss); }), HasSubstr("borrowed tensor (record #0, borrow) was modified "
                                                                  "in place after the forward recorded it: its value "
                                                                  "was replaced"));
  s.tape.clear();
  loss = s.forward();
  s.x.reshape({1, 4});
  EXPECT_THAT(error_of([&] { s.tape.backward(loss); }), HasSubstr("its shape changed from (2, 2) to (1, 4)"));
}

TEST(TapeLeaves, BorrowUncheckedSkipsTheChecksumButNotThePointerOrShape) {
  Step s;
  Var<double> loss = s.forward(false);
  s.x(1, 1) = 5;  // the caller broke its promise: the gradient uses the new value, unseen
  s.tape.backward(loss);
  s.tape.clear();
  loss = s.forward(false);
  s.x.reshape({4});
  EXPECT_THAT(error_of([&] { s.tape.backward(loss); }),
              HasSubstr("borrowed tensor (record #0, borrow) was modified in place after the forward recorded it: "
                        "its shape changed from (2, 2) to (4)"));
}

TEST(TapeLeaves, UnchangedLeavesAllowASecondBackward) {
  Step s;
  const Var<double> loss = s.forward();
  s.tape.backward(loss);
  const Tensor<double> once = s.w.grad;
  s.tape.backward(loss);  // retain_graph: the same records again
  EXPECT_TRUE(testing::all_close(s.w.grad, 2.0 * once, 0, 0));
  // dΣ(XW)²/dW = 2·Xᵀ(XW) = 2·[[1, 3], [2, −1]]·[[4.5, −0.5], [−0.5, −3.25]]
  EXPECT_TRUE(testing::all_close(once, Tensor<double>{{6.0, -20.5}, {19.0, 4.5}}, 0, 0));
}

TEST(TapeLeaves, OnlyLeavesThatABackwardWillReadAreChecked) {
  Step s;
  Parameter<double> other(Tensor<double>{1.0, 2.0}, "other");
  const Var<double> unused = s.tape.watch(other) * 3.0;  // the loss does not depend on it
  const Var<double> loss = s.forward();
  other.mark_modified();
  s.tape.backward(loss);  // no Error: no backward that runs reads `other`
  EXPECT_EQ(error_of([&] { s.tape.backward(sum(unused)); }),
            "backward: parameter 'other' (record #0, watch) was modified in place after the forward recorded it: its "
            "version is 1, watched at version 0 (an optimizer step, load_state, load_checkpoint, an nn::init or "
            "mark_modified since the forward); op 'mul_scalar' (record #1) needs it for its gradient. Run backward "
            "before changing it, or record the forward again");
}

TEST(TapeLeaves, TheFirstConsumerIsNamed) {
  Parameter<double> p(Tensor<double>{1.0, 2.0}, "p");
  Tape<double> t;
  const Var<double> pv = t.watch(p);  // #0
  const Var<double> a = exp(pv);      // #1, the first consumer
  const Var<double> b = pv * pv;      // #2
  const Var<double> loss = sum(a + b);
  p.mark_modified();
  EXPECT_THAT(error_of([&] { t.backward(loss); }), HasSubstr("op 'exp' (record #1) needs it"));
}

TEST(TapeLeaves, ChecksumSeesOneChangedWordAndASwap) {
  std::vector<std::uint64_t> words(1000);
  for (std::size_t k = 0; k < words.size(); ++k) words[k] = k * 0x9E3779B97F4A7C15ull;
  const std::size_t bytes = words.size() * 8;
  const std::uint64_t base = detail::bytes_checksum(words.data(), bytes);
  EXPECT_EQ(detail::bytes_checksum(words.data(), bytes), base);
  EXPECT_NE(detail::bytes_checksum(words.data(), bytes - 1), base);  // the length counts
  words[999] ^= 1;                                                   // the last word (a tail of its own)
  EXPECT_NE(detail::bytes_checksum(words.data(), bytes), base);
  words[999] ^= 1;
  std::swap(words[3], words[11]);  // the same lane, other positions
  EXPECT_NE(detail::bytes_checksum(words.data(), bytes), base);
  std::swap(words[3], words[11]);
  std::swap(words[3], words[4]);  // neighbouring lanes
  EXPECT_NE(detail::bytes_checksum(words.data(), bytes), base);
  const unsigned char three[3] = {1, 2, 3}, other[3] = {1, 2, 4};
  EXPECT_NE(detail::bytes_checksum(three, 3), detail::bytes_checksum(other, 3));
}

}  // namespace
}  // namespace tapegrad
