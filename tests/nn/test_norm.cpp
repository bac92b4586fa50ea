// nn::BatchNorm1d, BatchNorm2d, LayerNorm (nn/norm.cpp): names, initial values,
// buffers (updated only in training, never parameters, saved and loaded), train
// vs eval against PyTorch 1.13's nn layers, errors, and use inside Sequential.
#include <gmock/gmock.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <unistd.h>

#include <tapegrad/io/module_state.hpp>
#include <tapegrad/nn/norm.hpp>
#include <tapegrad/ops/norm.hpp>
#include "nn/models.hpp"

namespace tapegrad::nn_test {
namespace {

using ::testing::ElementsAre;
using testing::all_close;
using testing::error_of;
using testing::shaped;

template <class M>
std::vector<std::string> parameter_names(M& m) {
  std::vector<std::string> names;
  for (auto& [name, p] : m.named_parameters()) names.push_back(name);
  return names;
}
template <class M>
std::vector<std::string> buffer_names(M& m) {
  std::vector<std::string> names;
  for (auto& [name, b] : m.named_buffers()) names.push_back(name);
  return names;
}

const Tensor<double> kX2 = shaped({4, 3}, {-2.43, -2.65, -0.02, -5.31, -3.51, -0.78, 0.81, 0.25, -1.65, -0.25, -0.42, -1.59});
const Tensor<double> kX4 = shaped({2, 3, 2, 2}, {2.65, -0.48, -0.19, 0.2, 1.5, 1.77, 3.02, -0.52, 0.28, -0.43, 2.21, 2.0,
                                                 -0.64, -0.55, -0.09, -3.3, 4.83, 1.5, 0.74, 1.35, 2.9, -2.76, 4.31, -0.66});

TEST(BatchNormModule, NamesInitialValuesAndBuffersAreNotParameters) {
  BatchNorm1d<float> bn(3);
  EXPECT_THAT(parameter_names(bn), ElementsAre("weight", "bias"));
  EXPECT_THAT(buffer_names(bn), ElementsAre("running_mean", "running_var", "num_batches_tracked"));
  EXPECT_EQ(bn.parameters().size(), 2u);  // an optimizer never sees the running statistics
  EXPECT_TRUE(all_close(bn.weight()->value, Tensor<float>{1, 1, 1}, 0, 0));
  EXPECT_TRUE(all_close(bn.bias()->value, Tensor<float>{0, 0, 0}, 0, 0));
  EXPECT_TRUE(all_close(*bn.running_mean(), Tensor<float>{0, 0, 0}, 0, 0));
  EXPECT_TRUE(all_close(*bn.running_var(), Tensor<float>{1, 1, 1}, 0, 0));
  EXPECT_EQ(bn.num_batches_tracked()->dimension(), 0u);  // a scalar, as PyTorch's
  EXPECT_EQ((*bn.num_batches_tracked())(), 0.0f);
  EXPECT_EQ(bn.weight()->name, "weight");
  EXPECT_EQ(bn.to_string(), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  BatchNorm2d<double> plain(4, 1e-3, 0.3, /*affine=*/false, /*track_running_stats=*/false);
  EXPECT_TRUE(plain.named_parameters().empty());
  EXPECT_TRUE(plain.named_buffers().empty());
  EXPECT_EQ(plain.weight(), nullptr);
  EXPECT_EQ(plain.running_mean(), nullptr);
  EXPECT_EQ(plain.to_string(), "BatchNorm2d(4, eps=0.001, momentum=0.3, affine=false, track_running_stats=false)");
  LayerNorm<float> ln(Shape{3, 4});
  EXPECT_THAT(parameter_names(ln), ElementsAre("weight", "bias"));
  EXPECT_TRUE(ln.named_buffers().empty());
  EXPECT_EQ(to_shape(ln.weight()->value.shape()), (Shape{3, 4}));
  EXPECT_TRUE(all_close(ln.bias()->value, Tensor<float>(xt::zeros<float>({3, 4})), 0, 0));
  EXPECT_EQ(ln.to_string(), "LayerNorm((3, 4), eps=1e-05, elementwise_affine=true)");
  EXPECT_EQ(LayerNorm<float>(5).normalized_shape(), (Shape{5}));
  EXPECT_TRUE(LayerNorm<float>(5, 1e-5, false).named_parameters().empty());
}

TEST(BatchNormModule, TrainingUpdatesTheBuffersAsPyTorchAndEvalUsesThem) {
  // torch.nn.BatchNorm1d(3).double() after three training forwards: x2, 0.5·x2 − 2, x2 + 10
  BatchNorm1d<double> bn(3);
  Tape<double> t;
  for (const Tensor<double>& b : {kX2, Tensor<double>(0.5 * kX2 - 2.0), Tensor<double>(kX2 + 10.0)}) {
    const Var<double> y = bn(t.constant(b));
    // training: the batch's own statistics, as the op computes them
    EXPECT_TRUE(all_close(y.value(), batch_norm(t.constant(b), nullptr, nullptr, nullptr, nullptr, true).value(), 0, 0));
  }
  EXPECT_TRUE(all_close(*bn.running_mean(), Tensor<double>{0.41433, 0.4623550000000001, 0.5917400000000002}, 1e-15, 1e-14));
  EXPECT_TRUE(all_close(*bn.running_var(), Tensor<double>{2.21668675, 1.377776654166667, 0.8496755000000001}, 1e-15, 1e-14));
  EXPECT_EQ((*bn.num_batches_tracked())(), 3.0);
  bn.eval();
  const Tensor<double> rm = *bn.running_mean(), rv = *bn.running_var();
  // bn.eval(); bn(x2) in torch
  const Tensor<double> expected = shaped(
      {4, 3}, {-1.9104111301769167, -2.6515397406299432, -0.6636479775645506, -3.844780227612699, -3.3842081466895833,
               -1.4881362617196794, 0.26575410443833897, -0.18091372019627322, -2.431958376476208, -0.4462011883678866,
               -0.7517135249171556, -2.3668671961481715});
  for (int k = 0; k < 2; ++k) EXPECT_TRUE(all_close(bn(t.constant(kX2)).value(), expected, 1e-14, 1e-13));
  // eval changes no buffer, and takes a batch of one
  EXPECT_TRUE(all_close(*bn.running_mean(), rm, 0, 0));
  EXPECT_TRUE(all_close(*bn.running_var(), rv, 0, 0));
  EXPECT_EQ((*bn.num_batches_tracked())(), 3.0);
  EXPECT_EQ(bn(t.constant(Tensor<double>{{1, 2, 3}})).value().size(), 3u);
  // training again moves them; NoGrad does not stop that (as PyTorch)
  bn.train();
  {
    NoGrad<double> no_grad(t);
    bn(t.constant(kX2));
  }
  EXPECT_FALSE(all_close(*bn.running_mean(), rm, 0, 0));
  EXPECT_EQ((*bn.num_batches_tracked())(), 4.0);
}

TEST(BatchNormModule, TwoDimensionalLayerAgainstPyTorchAndWithoutTracking) {
  // torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.3), weight (1.5, −0.5, 2), bias (0.25, 1, −3),
  // trained on x4, 2·x4 + 1, x4² − 3, then eval on x4
  BatchNorm2d<double> bn(3, 1e-3, 0.3);
  bn.weight()->value = Tensor<double>{1.5, -0.5, 2.0};
  bn.bias()->value = Tensor<double>{0.25, 1.0, -3.0};
  Tape<double> t;
  for (const Tensor<double>& b : {kX4, Tensor<double>(2.0 * kX4 + 1.0), Tensor<double>(kX4 * kX4 - 3.0)}) bn(t.constant(b));
  EXPECT_TRUE(all_close(*bn.running_mean(), Tensor<double>{-0.14987999999999999, 1.9178175, 1.52337}, 1e-15, 1e-14));
  EXPECT_TRUE(all_close(*bn.running_var(), Tensor<double>{8.199890438285712, 20.94229308201786, 17.05239436316071}, 1e-15, 1e-14));
  bn.eval();
  EXPECT_TRUE(all_close(
      bn(t.constant(kX4)).value(),
      shaped({2, 3, 2, 2},
             {1.7165611375885361, 0.07708503123679317, 0.22898537335883964, 0.4332651437988332, 1.0456493024185272,
              1.0161500314377705, 0.8795793324527855, 1.266347551978263, -3.602178107576293, -3.9460391114441427,
              -2.667457350583406, -2.7691627179246012, -0.006722054071922152, 0.04041943141423019, 0.2813648016767867,
              -1.400014847329314, 0.6818249603225273, 1.0456493024185272, 1.128684287401398, 1.0620377862967254,
              -2.3332825721766226, -5.0744843776583535, -1.6504036771714565, -4.0574307042464035}),
      1e-14, 1e-13));
  // without running statistics, eval normalises with the batch's own (as PyTorch)
  BatchNorm2d<double> untracked(3, 1e-5, 0.1, true, false);
  untracked.eval();
  EXPECT_TRUE(all_close(untracked(t.constant(kX4)).value(),
                        batch_norm(t.constant(kX4), nullptr, nullptr, nullptr, nullptr, true).value(), 0, 0));
}

TEST(BatchNormModule, OneDimensionalLayerTakesSequencesAsPyTorch) {
  // torch.nn.BatchNorm1d(3).double() on x (2, 3, 4) (kX4's values), then on 3x − 1: statistics
  // over N and L; the second output and the buffers after both
  BatchNorm1d<double> bn(3);
  const Tensor<double> x = shaped({2, 3, 4}, std::vector<double>(kX4.begin(), kX4.end()));
  Tape<double> t;
  bn(t.constant(x));
  EXPECT_TRUE(all_close(
      bn(t.constant(Tensor<double>(3.0 * x - 1.0))).value(),
      shaped({2, 3, 4},
             {1.9547996467634565, -0.11927591064997363, 0.07289083428609498, 0.3313219740277046, -0.18480810566994774,
              -0.002531617885889622, 0.8413410107440086, -1.5485062735358632, -0.3283728640808946, -0.6608430722768807,
              0.5753841807335462, 0.4770479219713532, -0.22529894233883907, -0.16566098701385235, 0.1391552290916359,
              -1.9879318441662268, 2.063268577000101, -0.18480810566994774, -0.6978826638769259, -0.28607282110553534,
              0.8984890309521805, -1.7519072766383559, 1.5587467683554768, -0.7685446890164255}),
      1e-14, 1e-13));
  EXPECT_TRUE(all_close(*bn.running_mean(), Tensor<double>{-0.217, 0.5917625000000001, 0.28268750000000004}, 1e-15, 1e-14));
  EXPECT_TRUE(all_close(*bn.running_var(), Tensor<double>{3.3867154285714287, 3.292522232142857, 5.969864089285715}, 1e-15, 1e-14));
}

TEST(BatchNormModule, BuffersRoundTripThroughSaveAndLoad) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) /
                            ("tapegrad_norm_state_" + std::to_string(::getpid()) + ".npz"))
                               .string();
  BatchNorm2d<float> saved(3);
  Tape<float> t;
  saved.weight()->value = Tensor<float>{2, 3, 4};
  for (int k = 0; k < 2; ++k) saved(t.constant(xt::cast<float>(kX4 * double(k + 1))));
  save_state(saved, path);
  BatchNorm2d<float> loaded(3);
  load_state(loaded, path);
  std::remove(path.c_str());
  EXPECT_TRUE(same_bits(*loaded.running_mean(), *saved.running_mean()));
  EXPECT_TRUE(same_bits(*loaded.running_var(), *saved.running_var()));
  EXPECT_TRUE(same_bits(*loaded.num_batches_tracked(), *saved.num_batches_tracked()));
  EXPECT_EQ((*loaded.num_batches_tracked())(), 2.0f);
  EXPECT_TRUE(same_bits(loaded.weight()->value, Tensor<float>{2, 3, 4}));
  saved.eval();
  loaded.eval();
  const Tensor<float> x = xt::cast<float>(kX4);
  EXPECT_TRUE(same_bits(loaded(t.constant(x)).value(), saved(t.constant(x)).value()));
}

TEST(BatchNormModule, ErrorsNameTheLayer) {
  Tape<float> t;
  BatchNorm1d<float> bn1(3);
  BatchNorm2d<float> bn2(3);
  EXPECT_EQ(error_of([&] { bn1(t.constant(Tensor<float>::from_shape({2, 3, 4, 5}))); }),
            "BatchNorm1d: expected a 2-D or 3-D input (N, C) or (N, C, L), got (2, 3, 4, 5)");
  EXPECT_EQ(error_of([&] { bn1(t.constant(Tensor<float>::from_shape({3}))); }),
            "BatchNorm1d: expected a 2-D or 3-D input (N, C) or (N, C, L), got (3)");
  EXPECT_EQ(error_of([&] { bn2(t.constant(Tensor<float>::from_shape({2, 3}))); }),
            "BatchNorm2d: expected a 4-D input (N, C, H, W), got (2, 3)");
  EXPECT_EQ(error_of([&] { bn1(t.constant(Tensor<float>::from_shape({2, 4}))); }),
            "BatchNorm1d(3): expected 3 channels (axis 1), got input (2, 4)");
  EXPECT_EQ(error_of([&] { bn2(t.constant(Tensor<float>::from_shape({2, 4, 2, 2}))); }),
            "BatchNorm2d(3): expected 3 channels (axis 1), got input (2, 4, 2, 2)");
  EXPECT_EQ(error_of([&] { bn1(t.constant(Tensor<float>::from_shape({1, 3}))); }),
            "BatchNorm1d: expected more than 1 value per channel when training, got input (1, 3)");
  EXPECT_EQ(error_of([&] { bn1(Var<float>()); }), "BatchNorm1d: Var is empty (default-constructed, never recorded)");
  const std::size_t size = t.size();
  EXPECT_EQ(size, 6u);  // the six constants: no watch or batch_norm record of a refused call
  EXPECT_EQ(error_of([] { BatchNorm1d<float>(3, 0.0); }), "BatchNorm1d: eps must be positive and finite, got 0");
  EXPECT_EQ(error_of([] { BatchNorm2d<float>(3, 1e-5, 1.5); }), "BatchNorm2d: momentum must be in [0, 1], got 1.5");
  EXPECT_EQ(error_of([] { BatchNorm2d<float>(3, 1e-5, std::numeric_limits<double>::quiet_NaN()); }),
            "BatchNorm2d: momentum must be in [0, 1], got nan");
  EXPECT_EQ(error_of([] { LayerNorm<float>(Shape{}); }), "LayerNorm: normalized_shape must have at least one extent, got ()");
  EXPECT_EQ(error_of([] { LayerNorm<float>(4, -1.0); }), "LayerNorm: eps must be positive and finite, got -1");
  LayerNorm<float> ln(4);
  EXPECT_EQ(error_of([&] { ln(t.constant(Tensor<float>::from_shape({2, 3}))); }),
            "layer_norm: normalized_shape (4) is not the trailing extents of input (2, 3)");
}

TEST(LayerNormModule, ForwardIsTheOpAndTheSameInTrainAndEval) {
  LayerNorm<double> ln(Shape{3, 4});
  ln.weight()->value = testing::random_tensor({3, 4}, 1);
  ln.bias()->value = testing::random_tensor({3, 4}, 2);
  const Tensor<double> x = testing::random_tensor({2, 3, 4}, 3);
  Tape<double> t;
  const Tensor<double> train = ln(t.constant(x)).value();
  EXPECT_TRUE(all_close(train, layer_norm(t.constant(x), {3, 4}, t.constant(ln.weight()->value),
                                          t.constant(ln.bias()->value)).value(), 0, 0));
  ln.eval();
  EXPECT_TRUE(all_close(ln(t.constant(x)).value(), train, 0, 0));
  EXPECT_EQ(parameter_gradcheck(ln, x), "");
}

TEST(BatchNormModule, InsideSequentialNamesModesAndGradients) {
  Generator g(4);
  Sequential<double> model{Linear<double>(3, 4, g), BatchNorm1d<double>(4), ReLU<double>(), Linear<double>(4, 2, g),
                           LayerNorm<double>(2)};
  EXPECT_THAT(parameter_names(model),
              ElementsAre("0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias", "4.weight", "4.bias"));
  EXPECT_THAT(buffer_names(model), ElementsAre("1.running_mean", "1.running_var", "1.num_batches_tracked"));
  auto& bn = model.at<BatchNorm1d<double>>(1);
  const Tensor<double> x = testing::random_tensor({6, 3}, 5);
  // training: the gradients through Linear → BatchNorm1d → ReLU → Linear → LayerNorm
  EXPECT_EQ(parameter_gradcheck(model, x), "");
  EXPECT_GT((*bn.num_batches_tracked())(), 0.0);
  const Tensor<double> rm = *bn.running_mean();
  Tape<double> t;
  const Tensor<double> train = model(t.constant(x)).value();
  EXPECT_FALSE(all_close(*bn.running_mean(), rm, 0, 0));
  // eval reaches the child: running statistics used, no buffer moves, a batch of one works
  model.eval();
  EXPECT_FALSE(bn.is_training());
  const Tensor<double> rm_eval = *bn.running_mean();
  const Tensor<double> eval = model(t.constant(x)).value();
  EXPECT_FALSE(all_close(eval, train, 1e-6, 0));
  EXPECT_TRUE(all_close(*bn.running_mean(), rm_eval, 0, 0));
  EXPECT_EQ(model(t.constant(Tensor<double>{{1, 2, 3}})).value().size(), 2u);
  EXPECT_EQ(parameter_gradcheck(model, x), "");  // and eval's affine backward
  EXPECT_TRUE(all_close(*bn.running_mean(), rm_eval, 0, 0));
}

}  // namespace
}  // namespace tapegrad::nn_test
