#include "support/trainer.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <tapegrad/core/audit.hpp>
#include <utility>

namespace examples {


namespace {

// The last epoch's accuracy, or 0 if there is none (a report never shows garbage).
double last_or_zero(const std::vector<double>& per_epoch) { return per_epoch.empty() ? 0 : per_epoch.back(); }

// Every Dropout layer's masks for an epoch come from (seed, epoch, layer), not from
// the layer's generator as earlier epochs left it: a resumed run draws what the
// uninterrupted one drew (a checkpoint holds no generator state).
void reseed_dropout(tapegrad::nn::Module<float>& model, std::uint64_t seed, std::int64_t epoch) {
  std::uint64_t layer = 0;
  for (auto& [name, module] : model.named_modules())
    if (auto* d = dynamic_cast<tapegrad::nn::Dropout<float>*>(module)) {
      tapegrad::nn::Generator mix(seed ^ (0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(epoch) + 1)));
      for (std::uint64_t k = 0; k <= layer; ++k) mix.next_u64();
      d->manual_seed(mix.next_u64());
      ++layer;
    }
}

}  // namespace

void add_loss_option(ArgParser& args, TrainSettings* s, bool with_softmax) {
  if (with_softmax)
    args.add_string("--loss", &s->loss, "", "hinge form, or softmax cross-entropy",
                    {"crammer-singer", "weston-watkins", "softmax"});
  else
    args.add_string("--loss", &s->loss, "", "hinge form", {"crammer-singer", "weston-watkins"});
}

void add_schedule_options(ArgParser& args, TrainSettings* s) {
  args.add_string("--schedule", &s->schedule, "", "learning-rate schedule, per step", {"cosine", "step", "constant"});
  args.add_int("--step-epochs", &s->step_epochs, "--schedule step: epochs between lr drops", 1, 100000);
  args.add_double("--gamma", &s->gamma, "--schedule step: lr factor at each drop", 0, 1);
  args.add_int("--p", &s->p, "1: hinge, 2: squared hinge", 1, 2);
  args.add_double("--margin", &s->margin, "hinge margin (delta)", 0, 1e6);
}

void add_run_options(ArgParser& args, TrainSettings* s) {
  args.add_int("--seed", &s->seed, "seed of the initialisation and batch order", 0, INT64_MAX);
  args.add_string("--data", &s->data, "DIR", "Fashion-MNIST directory (default $TAPEGRAD_FASHION_MNIST_DIR or "
                  "/usr/share/datasets/fashion-mnist)");
  args.add_int("--threads", &s->threads, "BLAS threads (OpenBLAS; 0: the library's default)", 0, 1024);
  args.add_int("--limit", &s->limit, "train on the first N training examples only (0: all)", 0, INT64_MAX);
  args.add_int("--validation", &s->validation,
               "hold out the last N of the 60000 training images as the validation set (0: none)", 0, INT64_MAX);
  args.add_string("--report", &s->report, "FILE", "write a JSON report of the run");
  args.add_string("--out", &s->out, "DIR", "write the PNG pictures there (created if missing)");
  args.add_flag("--quiet", &s->quiet, "no progress bar");
  add_checkpoint_options(args, &s->checkpoint);
  args.add_int("--audit-step", &s->audit_step,
               "after step N's backward (1: the first step of the run, counted across epochs), print the audit of "
               "every record's gradient (tapegrad::audit_step) and carry on; 0: none",
               0, INT64_MAX);
  args.add_int("--audit-samples", &s->audit_samples, "--audit-step: elements checked per input of each record", 1,
               1 << 20);
}

void add_schedule_settings(JsonObject& settings, const TrainSettings& s) {
  settings.set("schedule", s.schedule)
      .set("step_epochs", s.step_epochs)
      .set("gamma", s.gamma)
      .set("p", s.p)
      .set("margin", s.margin);
}

void add_run_settings(JsonObject& settings, const TrainSettings& s, int blas_threads) {
  settings.set("seed", s.seed)
      .set("blas_threads", static_cast<std::int64_t>(blas_threads))
      .set("limit", s.limit)
      .set("validation", s.validation)
      .set("data", s.data.empty() ? tapegrad::default_fashion_mnist_dir() : s.data);
}

tapegrad::HingeOptions hinge_options(const TrainSettings& s) {
  tapegrad::HingeOptions hinge;
  hinge.kind = s.loss == "crammer-singer" ? tapegrad::HingeKind::crammer_singer : tapegrad::HingeKind::weston_watkins;
  hinge.p = static_cast<int>(s.p);
  hinge.margin = s.margin;
  return hinge;
}

Var<float> training_loss(const TrainSettings& s, const Var<float>& scores, const IndexTensor& labels) {
  if (s.loss == "softmax") return tapegrad::softmax_cross_entropy(scores, labels);
  return tapegrad::multiclass_hinge(scores, labels, hinge_options(s));
}

std::string loss_label(const TrainSettings& s) {
  return s.loss == "softmax" ? "softmax cross-entropy" : s.loss + " hinge";
}

TrainingRun::TrainingRun(std::string tool, const TrainSettings& s) : tool_(std::move(tool)), s_(s), bar_(s.quiet) {
  threads_ = set_blas_threads(static_cast<int>(s.threads));
  prepare_outputs(s.out, s.report);
  prepare_checkpoint(s.checkpoint);
  data_ = load_data(s.data, static_cast<std::size_t>(s.limit), static_cast<std::size_t>(s.validation));
}

bool TrainingRun::train(const TrainingModel& m) {
  const auto seed = static_cast<std::uint64_t>(s_.seed);
  tapegrad::BatchIterator<float> batches(data_.train_x, data_.train_y, static_cast<std::size_t>(s_.batch_size), seed);
  const auto steps_per_epoch = static_cast<std::int64_t>(batches.num_batches());
  const auto schedule =
      make_schedule(s_.schedule, s_.lr, s_.epochs * steps_per_epoch, s_.step_epochs * steps_per_epoch, s_.gamma);
  Tape<float> tape, eval_tape;  // one each for the whole run: clear() keeps their buffers
  const bool validation = data_.validation_y.size() > 0;
  const auto accuracy = [&](const Tensor<float>& x, const IndexTensor& y) {
    return tapegrad::nn::accuracy(*m.module, x, y, eval_tape, m.eval_batch);
  };
  const TrainingState state{tool_, seed, m.params, m.optimizer, &history_, validation, m.module->named_buffers()};
  const std::int64_t done = resume_training(s_.checkpoint, state, s_.epochs, steps_per_epoch);
  step_ = m.optimizer->steps();  // done * steps_per_epoch: where the schedule resumes
  check_audit_step(step_, s_.epochs * steps_per_epoch);
  for (std::int64_t epoch = done; epoch < s_.epochs; ++epoch) {
    if (stop_requested(s_.checkpoint, epoch, s_.epochs)) return false;
    m.module->train();
    reseed_dropout(*m.module, seed, epoch);
    run_epoch(m, batches, *schedule, tape, epoch);
    History& h = history_;
    if (m.evaluate_train_set) h.train_accuracy.push_back(accuracy(data_.train_x, data_.train_y));
    char tail[96];
    if (validation) {
      h.validation_accuracy.push_back(accuracy(data_.validation_x, data_.validation_y));
      std::snprintf(tail, sizeof tail, "  %.3fs  train %.4f  validation %.4f", h.epoch_seconds.back(),
                    h.train_accuracy.back(), h.validation_accuracy.back());
    } else {
      std::snprintf(tail, sizeof tail, "  %.3fs  train %.4f", h.epoch_seconds.back(), h.train_accuracy.back());
    }
    bar_.finish(tail);
    save_training(s_.checkpoint, state, epoch + 1);
  }
  // The test set, once: nothing above looked at it.
  test_accuracy_ = accuracy(data_.test_x, data_.test_y);
  return true;
}

// One pass over the batches, drawing the bar; appends the epoch's training time
// (evaluation excluded) and mean loss to the history.
void TrainingRun::run_epoch(const TrainingModel& m, tapegrad::BatchIterator<float>& batches,
                            const tapegrad::LrSchedule& schedule, Tape<float>& tape, std::int64_t epoch) {
  char label[64];
  std::snprintf(label, sizeof label, "epoch %2lld/%lld", static_cast<long long>(epoch + 1),
                static_cast<long long>(s_.epochs));
  bar_.start(label, batches.num_batches());
  const auto t0 = std::chrono::steady_clock::now();
  double loss_sum = 0, audit_seconds = 0;  // the audit's time is not training time
  std::size_t seen = 0, correct = 0, done = 0;
  batches.start_epoch(static_cast<std::uint64_t>(epoch));
  while (batches.next()) {
    m.optimizer->apply_schedule(schedule, step_++);
    m.optimizer->zero_grad();
    tape.clear();
    const Var<float> scores = m.batch_scores(tape, batches.x());
    const Var<float> loss = training_loss(s_, scores, batches.y());
    tape.backward(loss);
    if (step_ == s_.audit_step) audit_seconds += print_audit(tape, epoch, done + 1, batches.num_batches());
    double batch_loss = static_cast<double>(tape.value(loss)());
    if (m.extra_loss) batch_loss += m.extra_loss();
    const std::size_t rows = batches.batch_rows();
    loss_sum += batch_loss * static_cast<double>(rows);
    correct += count_correct(tape.value(scores), batches.y());
    seen += rows;
    m.optimizer->step();
    bar_.update(++done, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                static_cast<double>(seen) / (seconds_since(t0) - audit_seconds));
  }
  history_.epoch_seconds.push_back(seconds_since(t0) - audit_seconds);
  history_.loss.push_back(loss_sum / static_cast<double>(seen));
  if (!m.evaluate_train_set) history_.train_accuracy.push_back(static_cast<double>(correct) / static_cast<double>(seen));
}

// --audit-step beyond the run's steps, or among the steps a --resume skips, would
// print nothing: a usage error naming the option, before any training.
void TrainingRun::check_audit_step(std::int64_t done_steps, std::int64_t total_steps) const {
  const std::int64_t n = s_.audit_step;
  if (n == 0) return;
  if (n > total_steps)
    throw UsageError("--audit-step " + std::to_string(n) + " is beyond the run's " + std::to_string(total_steps) +
                     " steps (" + std::to_string(s_.epochs) + " epochs of " +
                     std::to_string(total_steps / std::max<std::int64_t>(s_.epochs, 1)) + " batches)");
  if (n <= done_steps)
    throw UsageError("--audit-step " + std::to_string(n) + " was taken before the checkpoint --resume continues from (" +
                     std::to_string(done_steps) + " steps done)");
}

// The audit of the step just differentiated, on stdout. It changes nothing the step
// goes on with (tapegrad::audit_step restores every gradient bit for bit).
double TrainingRun::print_audit(Tape<float>& tape, std::int64_t epoch, std::size_t batch, std::size_t batches) const {
  tapegrad::AuditOptions o;
  o.samples = static_cast<std::size_t>(s_.audit_samples);
  o.seed = static_cast<std::uint64_t>(s_.seed);
  const auto t0 = std::chrono::steady_clock::now();
  const tapegrad::AuditReport report = tapegrad::audit_step(tape, o);
  std::printf("audit of step %lld (epoch %lld, batch %zu of %zu), %.2f s:\n%s", static_cast<long long>(s_.audit_step),
              static_cast<long long>(epoch + 1), batch, batches, seconds_since(t0), report.table().c_str());
  std::fflush(stdout);
  return seconds_since(t0);
}

std::vector<std::string> TrainingRun::write_pictures(const std::string& loss_name, const WeightImages& images) const {
  if (s_.out.empty()) return {};
  std::vector<std::string> paths = write_curves(s_.out, tool_, history_, loss_name);
  const std::string path = (std::filesystem::path(s_.out) / (tool_ + "_" + images.name + ".png")).string();
  if (write_columns_as_images(path, *images.w, images.count, images.captions, images.title, images.columns))
    paths.push_back(path);
  return paths;
}

// Training time over all epochs, resumed ones included (from the history).
double TrainingRun::train_seconds() const {
  double total = 0;
  for (double t : history_.epoch_seconds) total += t;
  return total;
}

int TrainingRun::finish(const std::vector<std::string>& pictures, const JsonObject& settings) const {
  const double total_seconds = seconds_since(start_);
  if (!s_.report.empty()) write_report(settings, total_seconds);
  const std::size_t epochs_timed = history_.epoch_seconds.size();
  std::printf("train accuracy      %.4f\n", last_or_zero(history_.train_accuracy));
  if (!history_.validation_accuracy.empty())
    std::printf("validation accuracy %.4f\n", history_.validation_accuracy.back());
  std::printf("test accuracy       %.4f\n", test_accuracy_);
  std::printf("%lld epochs, %.3f s/epoch (training only), %.1f s total\n", static_cast<long long>(s_.epochs),
              epochs_timed == 0 ? 0.0 : train_seconds() / static_cast<double>(epochs_timed), total_seconds);
  for (const std::string& p : pictures) std::printf("wrote %s\n", p.c_str());
  if (!s_.report.empty()) std::printf("wrote %s\n", s_.report.c_str());
  return 0;
}

// The report's fields in a fixed order (scripts diff reports of two runs).
void TrainingRun::write_report(const JsonObject& settings, double total_seconds) const {
  JsonObject report;
  report.set("tool", tool_).set("seed", s_.seed);
  report.set("train_examples", static_cast<std::int64_t>(data_.train_x.shape()[0]));
  report.set("validation_examples", static_cast<std::int64_t>(data_.validation_x.shape()[0]));
  report.set("test_examples", static_cast<std::int64_t>(data_.test_x.shape()[0]));
  report.set("test_accuracy", test_accuracy_).set("train_accuracy", last_or_zero(history_.train_accuracy));
  if (!history_.validation_accuracy.empty()) report.set("validation_accuracy", history_.validation_accuracy.back());
  add_history(report, history_);
  report.set("train_seconds", train_seconds()).set("total_seconds", total_seconds);
  report.set("settings", settings);
  write_file_atomic(s_.report, report.dump() + "\n");
}

}  // namespace examples
