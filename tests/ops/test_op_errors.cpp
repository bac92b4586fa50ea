// Every op names itself when handed an empty (default-constructed) or a stale
// (recorded before tape.clear()) Var: "relu: Var is empty …", "sum: stale Var #0 …".
#include <functional>
#include <string>

#include <gmock/gmock.h>

#include "support/support.hpp"

namespace tapegrad {
namespace {

using ::testing::StartsWith;
using testing::error_of;

struct Case {
  const char* op;
  std::function<void(const Var<double>&)> call;
};

std::vector<Case> cases() {
  using V = const Var<double>&;
  const IndexTensor index = testing::nested<std::int64_t, 2>({{0}, {1}});
  const IndexTensor labels = {0, 1};
  return {
      {"relu", [](V x) { relu(x); }},
      {"leaky_relu", [](V x) { leaky_relu(x, 0.1); }},
      {"tanh", [](V x) { tanh(x); }},
      {"sigmoid", [](V x) { sigmoid(x); }},
      {"softmax", [](V x) { softmax(x, 1); }},
      {"log_softmax", [](V x) { log_softmax(x, 1); }},
      {"logsumexp", [](V x) { logsumexp(x, 1); }},
      {"sum", [](V x) { sum(x); }},
      {"sum", [](V x) { sum(x, 0); }},
      {"mean", [](V x) { mean(x); }},
      {"mean", [](V x) { mean(x, 1); }},
      {"max", [](V x) { max(x); }},
      {"max", [](V x) { max(x, 0); }},
      {"min", [](V x) { min(x); }},
      {"min", [](V x) { min(x, 1); }},
      {"reshape", [](V x) { reshape(x, {-1}); }},
      {"transpose", [](V x) { transpose(x); }},
      {"transpose", [](V x) { transpose(x, {1, 0}); }},
      {"flatten", [](V x) { flatten(x); }},
      {"squeeze", [](V x) { squeeze(x); }},
      {"unsqueeze", [](V x) { unsqueeze(x, 0); }},
      {"broadcast_to", [](V x) { broadcast_to(x, Shape{2, 2}); }},
      {"slice", [](V x) { slice(x, 0, 0, 1); }},
      {"concat", [](V x) { concat<double>({x}, 0); }},
      {"gather", [index](V x) { gather(x, 1, index); }},
      {"matmul", [](V x) { matmul(x, x); }},
      {"add", [](V x) { add(x, x); }},
      {"mul", [](V x) { mul(x, x); }},
      {"maximum", [](V x) { maximum(x, x); }},
      {"minimum", [](V x) { minimum(x, x); }},
      {"where", [](V x) { where(x, x, x); }},
      {"abs", [](V x) { abs(x); }},
      {"sqrt", [](V x) { sqrt(x); }},
      {"pow", [](V x) { pow(x, 2.0); }},
      {"clamp", [](V x) { clamp(x, 0.0, 1.0); }},
      {"exp", [](V x) { exp(x); }},
      {"log", [](V x) { log(x); }},
      {"square", [](V x) { square(x); }},
      {"neg", [](V x) { neg(x); }},
      {"add_scalar", [](V x) { add_scalar(x, 1.0); }},
      {"mul_scalar", [](V x) { mul_scalar(x, 2.0); }},
      {"multiclass_hinge", [labels](V x) { multiclass_hinge(x, labels); }},
      {"multiclass_hinge_composed", [labels](V x) { multiclass_hinge_composed(x, labels); }},
      {"softmax_cross_entropy", [labels](V x) { softmax_cross_entropy(x, labels); }},
      {"softmax_cross_entropy_composed", [labels](V x) { softmax_cross_entropy_composed(x, labels); }},
  };
}

TEST(OpErrors, EmptyVarNamesTheOp) {
  for (const Case& c : cases()) {
    Var<double> empty;
    EXPECT_THAT(error_of([&] { c.call(empty); }), StartsWith(std::string(c.op) + ": Var is empty")) << c.op;
  }
}

TEST(OpErrors, StaleVarNamesTheOp) {
  for (const Case& c : cases()) {
    Tape<double> t;
    Var<double> x = t.constant(Tensor<double>{{0.5, 1.5}, {2.0, 0.25}});
    t.clear();
    EXPECT_THAT(error_of([&] { c.call(x); }), StartsWith(std::string(c.op) + ": stale Var #0")) << c.op;
  }
}

}  // namespace
}  // namespace tapegrad
