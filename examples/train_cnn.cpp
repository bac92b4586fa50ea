// train_cnn: a small convolutional network on Fashion-MNIST, cs231n's second
// assignment in C++: convolution, batch norm, pooling, dropout, trained with the
// multiclass hinge loss (or softmax cross-entropy) and AdamW.
//
//   conv3x3(32)-BN-ReLU-maxpool2 -> conv3x3(64)-BN-ReLU-maxpool2 -> flatten
//   -> Linear(128)-ReLU-Dropout -> Linear(10)
//
//   train_cnn                                  # the defaults (see the sweep below)
//   train_cnn --loss softmax --epochs 4 --out out/ --report out/cnn.json
//
// Every layer is an nn module (nn::Conv2d, nn::BatchNorm2d, nn::MaxPool2d, ...)
// in one nn::Sequential, initialised as PyTorch does from one seeded generator.
// The last 10000 training images are held out for validation (--validation);
// the test set is evaluated once, at the end. The train accuracy reported per
// epoch is the running accuracy over the epoch's batches (training mode), which
// saves a forward pass over the training set per epoch.
// --checkpoint FILE saves the parameters, the batch-norm statistics' buffers are
// part of them, AdamW's state and the history after every epoch; --resume
// continues from it, ending bit-identical to a run that was never interrupted.
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "support/cli.hpp"
#include "support/json.hpp"
#include "support/trainer.hpp"
#include "support/training.hpp"

using namespace tapegrad;

namespace {

// The shared options with this tool's defaults, and its own.
struct Settings : examples::TrainSettings {
  Settings() {
    epochs = 8;
    batch_size = 128;
    lr = 2e-3;
    step_epochs = 3;
    threads = 0;  // the BLAS library's default: all cores
  }
  double dropout = 0.25;
  double weight_decay = 0.05;
  bool no_batch_norm = false;
};

const char* const kSynopsis =
    "Trains a small CNN, conv3x3(32)-BN-ReLU-maxpool2, conv3x3(64)-BN-ReLU-maxpool2,\n"
    "Linear(3136, 128)-ReLU-Dropout, Linear(128, 10), built with nn::Sequential, on\n"
    "mean-centred Fashion-MNIST images with the fused multiclass hinge loss (or softmax\n"
    "cross-entropy) and AdamW (decoupled weight decay on the conv and linear weights,\n"
    "none on biases and batch-norm parameters) under a per-step learning-rate\n"
    "schedule. The last 10000 training images are held out for validation\n"
    "(--validation); the test set is evaluated once, at the end. Prints a progress bar\n"
    "per epoch on stderr, then train, validation and test accuracy on stdout. --out DIR\n"
    "writes train_cnn_loss.png, train_cnn_accuracy.png and train_cnn_filters.png (the\n"
    "first layer's 32 3x3 filters); --report FILE writes the run as JSON.";

// Conv2d(in, out, 3, padding 1) [- BatchNorm2d(out)] - ReLU - MaxPool2d(2).
void add_conv_block(nn::Sequential<float>& net, std::size_t in, std::size_t out, nn::Generator& gen,
                    bool batch_norm) {
  net.push_back(nn::Conv2d<float>(in, out, 3, gen, Conv2dOptions().padding(1)));
  if (batch_norm) net.push_back(nn::BatchNorm2d<float>(out));
  net.push_back(nn::ReLU<float>());
  net.push_back(nn::MaxPool2d<float>(2));
}

nn::Sequential<float> build_cnn(const Settings& s) {
  nn::Generator gen(static_cast<std::uint64_t>(s.seed));
  nn::Sequential<float> net;
  net.push_back(nn::Unflatten<float>(1, {1, 28, 28}));  // the data are rows of 784 pixels
  add_conv_block(net, 1, 32, gen, !s.no_batch_norm);
  add_conv_block(net, 32, 64, gen, !s.no_batch_norm);
  net.push_back(nn::Flatten<float>());
  net.push_back(nn::Linear<float>(64 * 7 * 7, 128, gen));
  net.push_back(nn::ReLU<float>());
  if (s.dropout > 0) net.push_back(nn::Dropout<float>(s.dropout, gen));
  net.push_back(nn::Linear<float>(128, 10, gen));
  return net;
}

void add_options(examples::ArgParser& args, Settings* s) {
  examples::add_loss_option(args, s, /*with_softmax=*/true);
  args.add_double("--dropout", &s->dropout, "dropout before the last layer (0: none)", 0, 0.99);
  args.add_flag("--no-batch-norm", &s->no_batch_norm, "leave out the two BatchNorm2d layers");
  args.add_int("--epochs", &s->epochs, "passes over the training set", 1, 100000);
  args.add_int("--batch-size", &s->batch_size, "examples per step", 1, 1 << 20);
  args.add_double("--lr", &s->lr, "base learning rate (AdamW)", 0, 1e6);
  args.add_double("--weight-decay", &s->weight_decay, "decoupled weight decay on the weights (AdamW)", 0, 1e6);
  examples::add_schedule_options(args, s);
  examples::add_run_options(args, s);
}

examples::JsonObject report_settings(const Settings& s, int blas_threads) {
  examples::JsonObject settings;
  settings.set("loss", s.loss)
      .set("dropout", s.dropout)
      .set("batch_norm", !s.no_batch_norm)
      .set("epochs", s.epochs)
      .set("batch_size", s.batch_size)
      .set("optimizer", "adamw")
      .set("lr", s.lr)
      .set("weight_decay", s.weight_decay);
  examples::add_schedule_settings(settings, s);
  settings.set("init", "pytorch");
  examples::add_run_settings(settings, s, blas_threads);
  return settings;
}

// The first layer's filters (32, 1, 3, 3) as the columns of a (9, 32) matrix,
// the layout the picture of weight columns takes.
Tensor<float> filters_as_columns(const Tensor<float>& w) {
  const std::size_t count = w.shape()[0], taps = w.size() / count;
  Tensor<float> cols = Tensor<float>::from_shape({taps, count});
  for (std::size_t f = 0; f < count; ++f)
    for (std::size_t k = 0; k < taps; ++k) cols(k, f) = w.data()[f * taps + k];
  return cols;
}

int run(const Settings& s) {
  examples::TrainingRun training("train_cnn", s);
  nn::Sequential<float> net = build_cnn(s);

  // AdamW in two groups: conv and linear weights decayed; biases and batch-norm
  // scales and shifts not ("biases and norms without decay").
  std::vector<Parameter<float>*> decayed, plain;
  for (auto& [name, module] : net.named_modules())
    for (auto& [own, p] : module->named_parameters(/*recurse=*/false))
      (own == "weight" && module->kind().find("Norm") == std::string::npos ? decayed : plain).push_back(p);
  AdamOptions ao;
  ao.lr = s.lr;
  ao.weight_decay = s.weight_decay;
  AdamW<float> opt({{decayed}, {plain, GroupOptions().weight_decay(0)}}, ao);

  examples::TrainingModel model;
  model.params = net.parameters();
  model.optimizer = &opt;
  model.module = &net;
  model.eval_batch = 500;
  model.evaluate_train_set = false;
  // The batch is borrowed, not copied, and unchecked: the batch iterator leaves it
  // untouched until the step is done, so the checksum borrow() takes (22% of a
  // linear SVM step) would guard nothing.
  model.batch_scores = [&](Tape<float>& t, const Tensor<float>& x) { return net(t.borrow_unchecked(x)); };
  if (!training.train(model)) return 0;

  const Tensor<float> filters = filters_as_columns(net.at<nn::Conv2d<float>>(1).weight().value);
  const examples::WeightImages images{"filters", &filters, 32, {}, "train_cnn: the first layer's 3x3 filters", 8};
  const std::vector<std::string> pictures = training.write_pictures(examples::loss_label(s), images);
  return training.finish(pictures, report_settings(s, training.blas_threads()));
}

}  // namespace

int main(int argc, char** argv) {
  return examples::tool_main("train_cnn", kSynopsis, argc, argv, add_options, run);
}
