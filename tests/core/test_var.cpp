// Handles: a Var that outlives its tape, a moved-from Var, and borrow() of a
// temporary (which does not compile). Every misuse is an Error naming the op.
#include <tapegrad/core/var.hpp>

#include <tapegrad/core/tape.hpp>

#include <memory>
#include <type_traits>

#include <gmock/gmock.h>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduce.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::error_of;

TEST(TapeHandles, VarThatOutlivesItsTapeIsAnError) {
  Var<double> x, y;
  {
    Tape<double> t;
    x = t.constant(Tensor<double>{1.0, 2.0});
    y = relu(x);
  }
  EXPECT_EQ(error_of([&] { relu(x); }), "relu: Var #0 outlived its tape (the tape was destroyed)");
  EXPECT_EQ(error_of([&] { sum(y); }), "sum: Var #1 outlived its tape (the tape was destroyed)");
  EXPECT_EQ(error_of([&] { (void)x.value(); }), "Var: Var #0 outlived its tape (the tape was destroyed)");
  Tape<double> other;
  Var<double> z = other.constant(Tensor<double>{1.0, 2.0});
  EXPECT_EQ(error_of([&] { add(z, x); }), "add: Var #0 outlived its tape (the tape was destroyed)");
}

TEST(TapeHandles, ManyCopiesOutliveTheTapeAndAreFreedWithTheLast) {
  // the tape's token is shared by its Vars: copies made before and after the tape's
  // end all report it (the sanitizer build checks nothing leaks or is freed twice)
  std::vector<Var<double>> kept;
  {
    auto t = std::make_unique<Tape<double>>();
    Var<double> v = t->constant(Tensor<double>{3.0});
    for (int k = 0; k < 100; ++k) kept.push_back(k % 2 ? v : square(v));
  }
  std::vector<Var<double>> copies = kept;
  for (const Var<double>& v : copies) EXPECT_THAT(error_of([&] { exp(v); }), ::testing::HasSubstr("outlived its tape"));
}

TEST(TapeHandles, MovedFromVarIsEmpty) {
  Tape<double> t;
  Var<double> a = t.constant(Tensor<double>{1.0});
  Var<double> b = std::move(a);
  EXPECT_EQ(b.value()(0), 1.0);
  EXPECT_EQ(error_of([&] { relu(a); }), "relu: Var is empty (default-constructed, never recorded)");  // NOLINT
  a = b;
  EXPECT_EQ(relu(a).value()(0), 1.0);
}

// tape.borrow(temporary) does not compile: the rvalue overload is deleted.
template <class Tp, class = void>
struct BorrowsRvalue : std::false_type {};
template <class Tp>
struct BorrowsRvalue<Tp, std::void_t<decltype(std::declval<Tape<Tp>&>().borrow(std::declval<Tensor<Tp>>()))>>
    : std::true_type {};
// xt::ones<float>({4, 784}) is an expression: binding it makes a temporary Tensor
template <class E, class = void>
struct BorrowsExpression : std::false_type {};
template <class E>
struct BorrowsExpression<E, std::void_t<decltype(std::declval<Tape<float>&>().borrow(std::declval<E>()))>>
    : std::true_type {};
template <class Tp, class = void>
struct BorrowsLvalue : std::false_type {};
template <class Tp>
struct BorrowsLvalue<Tp, std::void_t<decltype(std::declval<Tape<Tp>&>().borrow(std::declval<const Tensor<Tp>&>()))>>
    : std::true_type {};

TEST(TapeBorrow, RvaluesAreRejectedAtCompileTime) {
  static_assert(!BorrowsRvalue<float>::value && !BorrowsRvalue<double>::value, "borrow(temporary) compiles");
  static_assert(BorrowsLvalue<float>::value && BorrowsLvalue<double>::value, "borrow(lvalue) does not compile");
  using Ones = decltype(xt::ones<float>({4, 784}));
  static_assert(!BorrowsExpression<Ones>::value, "borrow(xt::ones<float>(...)) compiles");
  EXPECT_FALSE(BorrowsRvalue<float>::value);
  EXPECT_TRUE(BorrowsLvalue<float>::value);
}

}  // namespace
}  // namespace tapegrad
