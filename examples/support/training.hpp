#pragma once
// The pieces every training example shares: loading and centring Fashion-MNIST,
// chunked evaluation under NoGrad, seeded initialisation, learning-rate
// schedules by name, per-epoch history, checkpoints and resuming, and the
// pictures and report of a run.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/schedule.hpp>
#include "support/cli.hpp"
#include "support/json.hpp"

namespace examples {

using tapegrad::IndexTensor;
using tapegrad::Shape;
using tapegrad::Tape;
using tapegrad::Tensor;
using tapegrad::Var;

// The ten Fashion-MNIST classes, in label order.
const std::vector<std::string>& fashion_mnist_classes();

struct Data {
  Tensor<float> train_x, validation_x, test_x;  // rows × 784, centred by the training mean
  IndexTensor train_y, validation_y, test_y;
  Tensor<float> mean;  // 784: the training mean that was subtracted
};

// Loads Fashion-MNIST from dir (empty: the default location). The last
// `validation` rows of the 60,000 training images are held out as the validation
// set (0: none); the rest train, cut to their first `limit` rows when limit > 0
// (for quick runs: the validation rows stay the same). The per-pixel mean of the
// training rows alone is subtracted from all three sets, so neither validation
// nor test statistics leak into the transform. A validation set that leaves no
// training rows is an error naming --validation.
Data load_data(const std::string& dir, std::size_t limit, std::size_t validation);

// Copies rows [begin, begin + n) of x (rows contiguous) into buf, shaped n × cols.
void copy_rows(const Tensor<float>& x, std::size_t begin, std::size_t n, Tensor<float>& buf);

// Rows of scores (N × C) whose largest score (the first, on a tie) is at the
// label labels[offset + row].
std::size_t count_correct(const Tensor<float>& scores, const IndexTensor& labels, std::size_t offset = 0);

// Sets the BLAS library's thread count when it is OpenBLAS (looked up at run
// time, so any BLAS links); n <= 0 leaves it alone. Returns the count in force,
// or 0 when unknown.
int set_blas_threads(int n);

// N(0, stddev²) entries from (seed): Box–Muller over std::mt19937_64, our own
// transform, so runs are identical across standard libraries.
Tensor<float> normal_tensor(const Shape& shape, double stddev, std::uint64_t seed);

// lr(t) for step t of `total_steps` (lr_at from `lr`; Optimizer::apply_schedule
// from each group's own initial lr): "cosine" (to 0 at the end), "step" (× gamma
// every step_size steps) or "constant".
std::unique_ptr<tapegrad::LrSchedule> make_schedule(const std::string& kind, double lr, std::int64_t total_steps,
                                                    std::int64_t step_size, double gamma);

struct History {
  std::vector<double> loss;  // mean training loss over each epoch's batches
  // Evaluated after each epoch; validation_accuracy stays empty without a
  // validation set. The test set is not here: it is evaluated once, at the end.
  std::vector<double> train_accuracy, validation_accuracy;
  std::vector<double> epoch_seconds;  // training time only (no evaluation)
};

// Adds epochs, loss, epoch_seconds and the per-epoch accuracies to a report.
void add_history(JsonObject& report, const History& h);

// --checkpoint FILE, --resume and --stop-after N, shared by the training tools.
struct CheckpointOptions {
  std::string path;             // saved after every epoch when not empty
  bool resume = false;          // continue from path when it exists
  std::int64_t stop_after = 0;  // stop once this many epochs are done (0: run to the end)
};
void add_checkpoint_options(ArgParser& args, CheckpointOptions* o);
// Before any work: --resume needs --checkpoint (a UsageError otherwise); the
// file's directory is created, and a directory in its place is refused.
void prepare_checkpoint(const CheckpointOptions& o);

// What a training tool checkpoints (io/checkpoint.hpp): its parameters and its
// one optimizer, the epochs done, the seed, and the history as series.
struct TrainingState {
  std::string model;  // the tool's name: another tool's checkpoint is refused
  std::uint64_t seed = 0;
  std::vector<tapegrad::Parameter<float>*> params;
  tapegrad::Optimizer<float>* optimizer = nullptr;
  History* history = nullptr;
  bool validation = false;  // the run holds a validation set out (its accuracies are saved)
  // The model's buffers (batch-norm running statistics), saved and restored
  // with the parameters under their names.
  std::vector<std::pair<std::string, Tensor<float>*>> buffers;
};

// With --resume and an existing file: restores the parameters, the optimizer
// (its step count fixes the learning-rate schedule) and the history, and
// returns the epochs already done; 0 when there is nothing to resume. Another
// model, other shapes, another --seed, a run with(out) a validation set when
// this one is without (with), more epochs than --epochs or a step
// count that another --batch-size or --limit would give are errors naming the
// file (exit 1). Batches depend only on (seed, epoch), so a resumed run goes on
// exactly as the uninterrupted one would.
std::int64_t resume_training(const CheckpointOptions& o, const TrainingState& state, std::int64_t epochs,
                             std::int64_t steps_per_epoch);
// Saves the state after `epochs_done` epochs (atomically; a no-op without --checkpoint).
void save_training(const CheckpointOptions& o, const TrainingState& state, std::int64_t epochs_done);
// True when --stop-after says to stop now; then prints where the run stopped.
bool stop_requested(const CheckpointOptions& o, std::int64_t epochs_done, std::int64_t epochs);

// Creates dir and its parents if missing; throws std::runtime_error naming it.
void ensure_dir(const std::string& dir);
// Before any work: creates the --out directory and the --report file's directory
// (either may be empty: not asked for), so a bad path fails in a second, not
// after training.
void prepare_outputs(const std::string& out_dir, const std::string& report_file);

// Writes <dir>/<prefix>_loss.png and <dir>/<prefix>_accuracy.png (train and,
// when held out, validation accuracy per epoch) and returns their paths.
std::vector<std::string> write_curves(const std::string& dir, const std::string& prefix, const History& h,
                                      const std::string& loss_name);

// Columns [0, count) of w (d × k, d a square number) as a grid of sqrt(d)² images
// in a diverging colour map (0 white: for mean-centred inputs, a weight of 0 means
// "no different from the mean image"), captioned by names (or the column index).
// Returns false, writing nothing, when d is not a square.
bool write_columns_as_images(const std::string& path, const Tensor<float>& w, std::size_t count,
                             const std::vector<std::string>& names, const std::string& title, std::size_t columns);

// Seconds since t0 on the steady clock.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace examples
