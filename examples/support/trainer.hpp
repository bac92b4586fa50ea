#pragma once
// A hinge-loss training tool's run (train_svm, train_mlp) apart from its model:
// the options both tools take, the epoch loop (progress bar, history,
// checkpoints, --resume and --stop-after) and the pictures, JSON report and
// summary at the end. Written once so the two tools cannot drift apart: their
// checkpoints, reports and output lines are read by the same tests and scripts.
// A tool brings its parameters, optimizer and forward pass (TrainingModel) and
// its own options and report settings.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "support/cli.hpp"
#include "support/json.hpp"
#include "support/progress.hpp"
#include "support/training.hpp"

namespace examples {

// The settings both tools share. Each tool's Settings derives from it and sets
// its measured defaults (epochs, lr, step_epochs, threads) in its constructor,
// before the options are registered: --help shows the values at registration.
struct TrainSettings {
  std::string loss = "crammer-singer";
  std::int64_t epochs = 20;
  std::int64_t batch_size = 256;
  double lr = 0.03;
  std::string schedule = "cosine";
  std::int64_t step_epochs = 8;
  double gamma = 0.1;
  std::int64_t p = 1;
  double margin = 1.0;
  std::int64_t seed = 0;
  std::int64_t limit = 0;
  std::int64_t validation = 10000;  // the last N training images, held out
  std::int64_t threads = 1;
  std::string data, report, out;
  bool quiet = false;
  CheckpointOptions checkpoint;
  // --audit-step N: after step N's backward (steps counted from 1 over the whole run,
  // across epochs and a --resume), print audit_step's table of every record and carry
  // on; 0: no audit. --audit-samples: elements checked per input of each record.
  std::int64_t audit_step = 0;
  std::int64_t audit_samples = 8;
};

// The options are registered in groups because each tool puts its own options
// between them (the order is --help's and the report's, which scripts read).
// --loss, the first option of every tool: the two hinge forms, and softmax
// (cross-entropy) when the tool offers it. The epoch loop computes the loss it names.
void add_loss_option(ArgParser& args, TrainSettings* s, bool with_softmax = false);
// --schedule, --step-epochs, --gamma, --p and --margin, in that order.
void add_schedule_options(ArgParser& args, TrainSettings* s);
// --seed, --data, --threads, --limit, --validation, --report, --out, --quiet, the
// checkpoint options, --audit-step and --audit-samples: the last options of every
// tool, in that order. The audit options are not in the report's settings: they
// change nothing in the run.
void add_run_options(ArgParser& args, TrainSettings* s);

// The report's settings for the options of add_schedule_options and of
// add_run_options (with the BLAS threads in force), in the same order, so a
// report lists its settings as --help lists the options.
void add_schedule_settings(JsonObject& settings, const TrainSettings& s);
void add_run_settings(JsonObject& settings, const TrainSettings& s, int blas_threads);

// The hinge loss --loss, --p and --margin ask for.
tapegrad::HingeOptions hinge_options(const TrainSettings& s);
// The loss --loss names on a batch's scores: the fused hinge (hinge_options) or
// softmax cross-entropy, each the mean over the batch's rows.
Var<float> training_loss(const TrainSettings& s, const Var<float>& scores, const IndexTensor& labels);
// What the loss curve's axis calls it ("crammer-singer hinge", "softmax cross-entropy").
std::string loss_label(const TrainSettings& s);

// What the epoch loop needs from a tool's model: the loop is the same for a
// linear SVM and an MLP, only the forward pass and the regulariser differ.
struct TrainingModel {
  std::vector<tapegrad::Parameter<float>*> params;
  // Over params, in any groups: its state is checkpointed, and the schedule sets
  // every group's lr from the group's initial lr each step.
  tapegrad::Optimizer<float>* optimizer = nullptr;
  // The model: put in training mode for each epoch; evaluated with
  // nn::accuracy (in batches, under NoGrad, in eval mode).
  tapegrad::nn::Module<float>* module = nullptr;
  // Scores of a training batch (the tool picks borrowing or copying the batch).
  std::function<Var<float>(Tape<float>&, const Tensor<float>& x)> batch_scores;
  // Rows per evaluation batch (a convolution's activations for 4096 images
  // would take gigabytes).
  std::size_t eval_batch = 4096;
  // After each epoch, evaluate the whole training set in eval mode; false: the
  // epoch's running accuracy over its batches (training mode, weights moving)
  // is the train accuracy, which saves a forward pass over the training set.
  bool evaluate_train_set = true;
  // Optional: added to each batch's loss in the reported loss, for a term the
  // tape does not record (train_svm's L2 term, whose gradient the optimizer's
  // weight decay adds).
  std::function<double()> extra_loss;
};

// The columns of a weight matrix as a grid of images, the picture a tool adds
// to the curves (see write_columns_as_images: written only when d is a square).
struct WeightImages {
  std::string name;  // the file is <out>/<tool>_<name>.png
  const Tensor<float>* w = nullptr;
  std::size_t count = 0;               // columns shown
  std::vector<std::string> captions;   // empty: the column indices
  std::string title;
  std::size_t columns = 1;             // images per row of the grid
};

class TrainingRun {
 public:
  // Everything that can fail fast, before any training: sets the BLAS threads,
  // creates the --out and --report directories, checks the checkpoint
  // options, then loads the data. `tool` names the checkpoint's model, the
  // pictures and the report.
  TrainingRun(std::string tool, const TrainSettings& s);

  const Data& data() const { return data_; }
  int blas_threads() const { return threads_; }

  // Trains from the epoch --resume restores (0 without it) to --epochs,
  // checkpointing after each and evaluating the training and validation sets;
  // then evaluates the test set, once. False when --stop-after stopped the run
  // (the test set is then not evaluated).
  bool train(const TrainingModel& m);
  // With --out: the loss and accuracy curves, then the weight images; returns
  // the paths written (none without --out).
  std::vector<std::string> write_pictures(const std::string& loss_name, const WeightImages& images) const;
  // Writes the --report (the settings given, the run's results and history)
  // and prints the accuracies, the timing and every file written.
  int finish(const std::vector<std::string>& pictures, const JsonObject& settings) const;

 private:
  void run_epoch(const TrainingModel& m, tapegrad::BatchIterator<float>& batches,
                 const tapegrad::LrSchedule& schedule, Tape<float>& tape, std::int64_t epoch);
  void write_report(const JsonObject& settings, double total_seconds) const;
  void check_audit_step(std::int64_t done_steps, std::int64_t total_steps) const;
  // Returns the seconds it took (not counted as training time).
  double print_audit(Tape<float>& tape, std::int64_t epoch, std::size_t batch, std::size_t batches) const;
  double train_seconds() const;

  const std::string tool_;
  const TrainSettings& s_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int threads_ = 0;
  Data data_;
  History history_;
  ProgressBar bar_;
  std::int64_t step_ = 0;  // the schedule's position: optimizer steps taken
  double test_accuracy_ = 0;  // evaluated once, after the last epoch
};

}  // namespace examples
