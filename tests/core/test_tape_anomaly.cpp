// Anomaly mode: the first op whose output or whose backward's gradient holds
// NaN or Inf is named, with its record number and input shapes.
#include <cmath>

#include <gmock/gmock.h>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::HasSubstr;
using testing::all_close;
using testing::error_of;

// y = √x: finite at 0, but its backward g/(2√x) is Inf there.
Var<double> sqrt_op(const Var<double>& x) {
  Tape<double>& t = x.tape();
  Record<double>& r = t.push("sqrt", {x}, [](Tape<double>& t, Record<double>& r) {
    t.accumulate(r.inputs[0], r.grad / (2.0 * r.value));
  }, nullptr);
  r.value = xt::sqrt(t.value(x));
  return t.commit(r);
}

TEST(Tape, AnomalyModeNamesTheOpThatProducedANanOrInf) {
  Parameter<double> x(Tensor<double>{1.0, 0.0});
  Tape<double> t;
  t.set_anomaly_mode(true);
  Var<double> xv = t.watch(x);
  Var<double> e = exp(xv);
  EXPECT_EQ(error_of([&] { log(xv); }),
            "anomaly: op 'log' (record #2, inputs [(2)]) produced a NaN or Inf value: element 1 "
            "of (2) is -inf");
  // without anomaly mode the same op just records -inf
  t.set_anomaly_mode(false);
  EXPECT_TRUE(std::isinf(t.value(log(xv))(1)));
  (void)e;
}

TEST(Tape, AnomalyModeNamesTheBackwardThatProducedANanOrInf) {
  // √x at 0 is 0, but its backward divides by 0
  Parameter<double> x(Tensor<double>{4.0, 0.0});
  Tape<double> t;
  t.set_anomaly_mode(true);
  Var<double> y = sqrt_op(t.watch(x) * 1.0);
  EXPECT_TRUE(all_close(t.value(y), Tensor<double>{2.0, 0.0}, 0, 0));
  const std::string msg = error_of([&] { t.backward(y, Tensor<double>{1.0, 1.0}); });
  EXPECT_THAT(msg, HasSubstr("anomaly: backward of op 'sqrt' (record #2, inputs [(2)])"));
  EXPECT_THAT(msg, HasSubstr("element 1 of input 0 (record #1, mul_scalar) is inf"));
  // rdiv in double: 1/x is 1e200 (finite), d(1/x)/dx = −1/x² overflows
  Parameter<double> tiny(Tensor<double>{1e-200});
  t.clear();
  Var<double> r = 1.0 / t.watch(tiny);
  EXPECT_THAT(error_of([&] { t.backward(r); }), HasSubstr("backward of op 'rdiv_scalar' (record #1"));
  t.set_anomaly_mode(false);
  tiny.zero_grad();
  t.backward(r);
  EXPECT_TRUE(std::isinf(tiny.grad(0)));
}

TEST(Tape, AnomalyModeChecksWatchedParameters) {
  Parameter<double> p(Tensor<double>{1.0, std::nan("")}, "weights");
  Tape<double> t;
  t.set_anomaly_mode(true);
  EXPECT_THAT(error_of([&] { t.watch(p); }), HasSubstr("anomaly: watch of parameter 'weights' (2): element 1"));
}

TEST(Tape, AnomalyModeChecksBorrowedConstants) {
  const Tensor<double> x = {1.0, std::nan(""), 3.0};
  Tape<double> t;
  EXPECT_NO_THROW(t.borrow(x));
  t.set_anomaly_mode(true);
  EXPECT_EQ(error_of([&] { t.borrow(x); }), "anomaly: borrowed constant (3): element 1 is nan");
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace tapegrad
