#include <gmock/gmock.h>

#include <cmath>
#include <limits>

#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/evaluate.hpp>
#include <tapegrad/nn/flatten.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using testing::error_of;

// Scores are the rows of x themselves (an empty Sequential), optionally after
// a Dropout that must be inactive during evaluation.
Sequential<float> identity_model(bool with_dropout) {
  Sequential<float> s;
  if (with_dropout) s.push_back(Dropout<float>(0.9, 1));
  return s;
}

IndexTensor ix(std::initializer_list<std::int64_t> v) {
  IndexTensor t = IndexTensor::from_shape({v.size()});
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}

TEST(Evaluate, PredictIsTheFirstLargestScoreNaNCounting) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor<float> x{{0, 3, 1}, {2, 2, 1}, {-1, -5, -0.5}, {1, nan, 5}, {nan, 1, nan}};
  Sequential<float> model = identity_model(false);
  const IndexTensor p = predict(model, x);
  EXPECT_EQ(p, ix({1, 0, 2, 1, 0}));
}

TEST(Evaluate, BatchesGiveTheSameAnswerWhateverTheirSize) {
  Generator g(2);
  Sequential<double> model{Linear<double>(5, 8, g), ReLU<double>(), Linear<double>(8, 4, g)};
  const Tensor<double> x = testing::random_tensor({23, 5}, 3);
  const IndexTensor labels = testing::random_labels(23, 4, 4);
  const IndexTensor whole = predict(model, x, 100);
  for (std::size_t batch : {1, 2, 5, 22, 23, 24}) {
    EXPECT_EQ(predict(model, x, batch), whole) << batch;
    EXPECT_EQ(accuracy(model, x, labels, batch), accuracy(model, x, labels)) << batch;
  }
  std::size_t correct = 0;
  for (std::size_t i = 0; i < 23; ++i) correct += whole(i) == labels(i);
  EXPECT_EQ(accuracy(model, x, labels, 7), double(correct) / 23);
}

TEST(Evaluate, RunsInEvalModeAndRestoresEveryModulesMode) {
  // Dropout(0.9) would zero most scores in training mode.
  const Tensor<float> x{{0, 1}, {1, 0}, {0, 5}, {7, 0}};
  Sequential<float> model = identity_model(true);
  EXPECT_EQ(predict(model, x, 3), ix({1, 0, 1, 0}));
  EXPECT_EQ(accuracy(model, x, ix({1, 0, 1, 1})), 0.75);
  EXPECT_TRUE(model.is_training() && model[0].is_training());
  model[0].eval();  // a mixed model: each module gets its own mode back
  predict(model, x);
  EXPECT_TRUE(model.is_training());
  EXPECT_FALSE(model[0].is_training());
  Generator g(0);
  Linear<float> wrong(3, 2, g);
  model.train();
  EXPECT_THAT(error_of([&] { predict(wrong, x); }), ::testing::StartsWith("Linear(3 -> 2): "));
  EXPECT_TRUE(wrong.is_training());  // restored after an Error too
}

TEST(Evaluate, UsesAndClearsTheTapeItIsGivenUnderNoGrad) {
  Generator g(5);
  Sequential<float> model{Flatten<float>(), Linear<float>(4, 3, g)};
  const Tensor<float> x = xt::cast<float>(testing::random_tensor({9, 2, 2}, 6));
  Tape<float> tape;
  const Var<float> before = tape.constant(Tensor<float>{1});
  const IndexTensor p = predict(model, x, tape, 4);
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_TRUE(tape.grad_enabled());
  EXPECT_EQ(p, predict(model, x));
  EXPECT_THAT(error_of([&] { tape.value(before); }), ::testing::HasSubstr("stale Var"));
  for (Parameter<float>* q : model.parameters()) EXPECT_EQ(xt::amax(xt::abs(q->grad))(), 0.0f);
}

TEST(Evaluate, ErrorsNameTheFunctionAndTheProblem) {
  Sequential<float> model = identity_model(false);
  const Tensor<float> x{{0, 1}, {1, 0}, {0, 5}};
  EXPECT_EQ(error_of([&] { predict(model, x, 0); }), "predict: batch_size must be > 0");
  EXPECT_EQ(error_of([&] { predict(model, Tensor<float>(3.0f)); }), "predict: x must have a row axis, got shape ()");
  EXPECT_EQ(error_of([&] { predict(model, Tensor<float>{1, 2}); }),
            "predict: the model's output for a block of 2 rows has shape (2), expected (2, C) with C >= 1");
  EXPECT_EQ(error_of([&] { accuracy(model, x, ix({0, 1})); }),
            "accuracy: labels must be 1-D with one label per row of x (3, 2), got shape (2)");
  EXPECT_EQ(error_of([&] { accuracy(model, x, ix({0, 2, 1})); }), "accuracy: label 2 at row 1 is outside [0, 2)");
  EXPECT_EQ(error_of([&] { accuracy(model, x, ix({0, -1, 1})); }), "accuracy: label -1 at row 1 is outside [0, 2)");
  // A model whose output width follows the block's row count.
  struct RowsWide : Module<float> {
    RowsWide() : Module<float>("RowsWide") {}
    Var<float> forward(const Var<float>& x) override {
      return slice(x, 1, 0, static_cast<std::ptrdiff_t>(x.value().shape()[0]));
    }
  } rows_wide;
  EXPECT_EQ(error_of([&] { predict(rows_wide, Tensor<float>::from_shape({5, 5}), 3); }),
            "predict: the model's output has 2 columns for rows from 3 but 3 before");
  const Tensor<float> none = Tensor<float>::from_shape({0, 2});
  EXPECT_EQ(error_of([&] { accuracy(model, none, IndexTensor::from_shape({0})); }), "accuracy: x (0, 2) has no rows");
  EXPECT_EQ(predict(model, none).size(), 0u);  // no rows: no predictions
}

}  // namespace
}  // namespace tapegrad::nn_test
