#include "support/support.hpp"

namespace tapegrad {
namespace {

TEST(Tape, VarUsedTwiceAccumulates) {
  Parameter<double> x(Tensor<double>{3.0});
  Tape<double> t;
  Var<double> v = t.watch(x);
  t.backward(v * v + v);  // d/dx (x² + x) = 2x + 1 = 7
  EXPECT_DOUBLE_EQ(x.grad(0), 7.0);
}

}  // namespace
}  // namespace tapegrad
