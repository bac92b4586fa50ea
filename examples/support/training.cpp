#include "support/training.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <random>
#include <stdexcept>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/idx.hpp>
#include <tapegrad/io/plot.hpp>
#include <tapegrad/io/png.hpp>

namespace examples {

using tapegrad::Parameter;

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

void copy_rows(const Tensor<float>& x, std::size_t begin, std::size_t n, Tensor<float>& buf) {
  const std::size_t cols = x.size() / std::max<std::size_t>(x.shape()[0], 1);
  if (buf.dimension() != 2 || buf.shape()[0] != n || buf.shape()[1] != cols) buf.resize({n, cols});
  if (n) std::memcpy(buf.data(), x.data() + begin * cols, n * cols * sizeof(float));
}

namespace {
// Rows [begin, begin + n) of images and labels, copied.
void take_rows(const Tensor<float>& x, const IndexTensor& y, std::size_t begin, std::size_t n, Tensor<float>& out_x,
               IndexTensor& out_y) {
  copy_rows(x, begin, n, out_x);
  out_y = IndexTensor::from_shape({n});
  std::copy(y.data() + begin, y.data() + begin + n, out_y.data());
}
}  // namespace

Data load_data(const std::string& dir, std::size_t limit, std::size_t validation) {
  tapegrad::Dataset d = tapegrad::load_fashion_mnist(dir.empty() ? tapegrad::default_fashion_mnist_dir() : dir);
  Data out;
  const std::size_t n = d.train_images.shape()[0];
  if (validation >= n)
    throw std::runtime_error("--validation " + std::to_string(validation) + " leaves no training rows (the " +
                             "training set has " + std::to_string(n) + ")");
  const std::size_t train_rows = limit > 0 ? std::min(limit, n - validation) : n - validation;
  take_rows(d.train_images, d.train_labels, n - validation, validation, out.validation_x, out.validation_y);
  take_rows(d.train_images, d.train_labels, 0, train_rows, out.train_x, out.train_y);
  d.train_images = Tensor<float>();  // 188 MB no longer needed
  out.test_x = std::move(d.test_images);
  out.test_y = std::move(d.test_labels);
  out.mean = tapegrad::center(out.train_x, out.test_x);
  // The same training mean off the validation rows (center() takes two sets).
  float* v = out.validation_x.data();
  const std::size_t cols = out.mean.size();
  for (std::size_t i = 0; i < validation; ++i)
    for (std::size_t j = 0; j < cols; ++j) v[i * cols + j] -= out.mean(j);
  return out;
}

std::size_t count_correct(const Tensor<float>& scores, const IndexTensor& labels, std::size_t offset) {
  const std::size_t n = scores.shape()[0], c = scores.shape()[1];
  const float* s = scores.data();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = s + i * c;
    std::size_t best = 0;
    for (std::size_t j = 1; j < c; ++j)
      if (row[j] > row[best]) best = j;
    correct += static_cast<std::int64_t>(best) == labels(offset + i);
  }
  return correct;
}

int set_blas_threads(int n) {
  using Set = void (*)(int);
  using Get = int (*)();
  const auto set = reinterpret_cast<Set>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const auto get = reinterpret_cast<Get>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set && n > 0) set(n);
  return get ? get() : 0;
}

Tensor<float> normal_tensor(const Shape& shape, double stddev, std::uint64_t seed) {
  Tensor<float> t = Tensor<float>::from_shape(shape);
  std::mt19937_64 rng(seed);
  // u in (0, 1]: 53 random bits, shifted off zero so log(u) is finite.
  auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53; };
  const double two_pi = 6.283185307179586;
  float* p = t.data();
  for (std::size_t k = 0; k < t.size(); k += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform())), a = two_pi * uniform();
    p[k] = static_cast<float>(stddev * r * std::cos(a));
    if (k + 1 < t.size()) p[k + 1] = static_cast<float>(stddev * r * std::sin(a));
  }
  return t;
}

namespace {
class ConstantLR : public tapegrad::LrSchedule {
 public:
  explicit ConstantLR(double lr) : LrSchedule("ConstantLR", lr) {}
  double lr_for(double initial_lr, std::int64_t) const override { return initial_lr; }
};
}  // namespace

std::unique_ptr<tapegrad::LrSchedule> make_schedule(const std::string& kind, double lr, std::int64_t total_steps,
                                                    std::int64_t step_size, double gamma) {
  if (kind == "cosine") return std::make_unique<tapegrad::CosineLR>(lr, std::max<std::int64_t>(total_steps, 1));
  if (kind == "step") return std::make_unique<tapegrad::StepLR>(lr, std::max<std::int64_t>(step_size, 1), gamma);
  return std::make_unique<ConstantLR>(lr);
}

void add_history(JsonObject& report, const History& h) {
  report.set("epochs", static_cast<std::int64_t>(h.loss.size()));
  report.set("loss", h.loss);
  report.set("epoch_seconds", h.epoch_seconds);
  report.set("train_accuracy_per_epoch", h.train_accuracy);
  if (!h.validation_accuracy.empty()) report.set("validation_accuracy_per_epoch", h.validation_accuracy);
}

void add_checkpoint_options(ArgParser& args, CheckpointOptions* o) {
  args.add_string("--checkpoint", &o->path, "FILE", "save parameters, optimizer state and history after each epoch");
  args.add_flag("--resume", &o->resume, "continue the run in --checkpoint FILE if it exists (same options: same bits)");
  args.add_int("--stop-after", &o->stop_after, "stop once N epochs are done, as if interrupted (0: never)", 0,
               INT64_MAX);
}

void prepare_checkpoint(const CheckpointOptions& o) {
  if (o.resume && o.path.empty()) throw UsageError("--resume needs --checkpoint FILE");
  if (o.path.empty()) return;
  if (std::filesystem::is_directory(o.path))
    throw std::runtime_error(o.path + ": is a directory, not a checkpoint file name");
  const std::filesystem::path parent = std::filesystem::path(o.path).parent_path();
  if (!parent.empty()) ensure_dir(parent.string());
}

namespace {

// The history's series, by the names a checkpoint stores them under (the
// validation accuracies only when the run holds a validation set out).
std::vector<std::pair<const char*, std::vector<double>*>> history_series(History& h, bool validation) {
  std::vector<std::pair<const char*, std::vector<double>*>> series = {
      {"loss", &h.loss}, {"train_accuracy", &h.train_accuracy}, {"epoch_seconds", &h.epoch_seconds}};
  if (validation) series.insert(series.begin() + 2, {"validation_accuracy", &h.validation_accuracy});
  return series;
}

}  // namespace

std::int64_t resume_training(const CheckpointOptions& o, const TrainingState& state, std::int64_t epochs,
                             std::int64_t steps_per_epoch) {
  if (!o.resume || !std::filesystem::exists(o.path)) return 0;
  const tapegrad::Checkpoint<float> c = tapegrad::read_checkpoint<float>(o.path);
  // Model, shapes and optimizer first (nothing changes unless all match); the
  // buffers go through stand-in Parameters of their names and shapes.
  std::deque<Parameter<float>> stand_ins;
  std::vector<Parameter<float>*> entries = state.params;
  for (const auto& [name, b] : state.buffers) entries.push_back(&stand_ins.emplace_back(*b, name));
  tapegrad::apply_checkpoint(c, entries, state.optimizer, o.path, state.model);
  const std::string where = "--resume: " + o.path + ": ";
  const std::int64_t done = c.meta.epoch;
  if (c.meta.seed != state.seed)
    throw std::runtime_error(where + "saved by a run with --seed " + std::to_string(c.meta.seed) +
                             ", this run has --seed " + std::to_string(state.seed));
  if (done < 0 || done > epochs)
    throw std::runtime_error(where + "holds " + std::to_string(done) + " epochs, more than --epochs " +
                             std::to_string(epochs));
  if (state.optimizer->steps() != done * steps_per_epoch)
    throw std::runtime_error(where + std::to_string(state.optimizer->steps()) + " optimizer steps after " +
                             std::to_string(done) + " epochs, but this run takes " + std::to_string(steps_per_epoch) +
                             " steps per epoch (another --batch-size or --limit?)");
  const bool saved_validation = std::any_of(c.meta.series.begin(), c.meta.series.end(),
                                            [](const tapegrad::CheckpointSeries& m) { return m.name == "validation_accuracy"; });
  if (saved_validation != state.validation)
    throw std::runtime_error(where + "saved by a run " + (saved_validation ? "with" : "without") +
                             " a validation set, this run has --validation " + (state.validation ? "> 0" : "0"));
  for (auto& [name, values] : history_series(*state.history, state.validation)) {
    auto it = std::find_if(c.meta.series.begin(), c.meta.series.end(),
                           [&](const tapegrad::CheckpointSeries& m) { return m.name == name; });
    if (it == c.meta.series.end() || it->values.size() != static_cast<std::size_t>(done))
      throw std::runtime_error(where + "its history '" + name + "' " +
                               (it == c.meta.series.end() ? std::string("is missing")
                                                          : "has " + std::to_string(it->values.size()) + " values") +
                               " for " + std::to_string(done) + " epochs");
    *values = it->values;
  }
  for (std::size_t k = 0; k < state.buffers.size(); ++k) *state.buffers[k].second = stand_ins[k].value;
  std::printf("resumed %s after epoch %lld of %lld\n", o.path.c_str(), static_cast<long long>(done),
              static_cast<long long>(epochs));
  return done;
}

void save_training(const CheckpointOptions& o, const TrainingState& state, std::int64_t epochs_done) {
  if (o.path.empty()) return;
  tapegrad::CheckpointMeta meta{state.model, epochs_done, state.seed};
  for (const auto& [name, values] : history_series(*state.history, state.validation)) meta.series.push_back({name, *values});
  std::deque<Parameter<float>> copies;  // the buffers, as entries named by their names
  std::vector<Parameter<float>*> entries = state.params;
  for (const auto& [name, b] : state.buffers) entries.push_back(&copies.emplace_back(*b, name));
  tapegrad::save_checkpoint<float>(o.path, entries, state.optimizer, meta);
}

bool stop_requested(const CheckpointOptions& o, std::int64_t epochs_done, std::int64_t epochs) {
  if (o.stop_after == 0 || epochs_done < o.stop_after || epochs_done >= epochs) return false;
  std::printf("stopped after epoch %lld of %lld (--stop-after)%s%s\n", static_cast<long long>(epochs_done),
              static_cast<long long>(epochs), o.path.empty() ? "" : "; continue with --resume from ",
              o.path.c_str());
  return true;
}

void ensure_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw std::runtime_error(dir + ": cannot create the output directory" + (ec ? ": " + ec.message() : ""));
}

void prepare_outputs(const std::string& out_dir, const std::string& report_file) {
  if (!out_dir.empty()) ensure_dir(out_dir);
  if (report_file.empty()) return;
  if (std::filesystem::is_directory(report_file))
    throw std::runtime_error(report_file + ": is a directory, not a report file name");
  const std::filesystem::path parent = std::filesystem::path(report_file).parent_path();
  if (!parent.empty()) ensure_dir(parent.string());
}

std::vector<std::string> write_curves(const std::string& dir, const std::string& prefix, const History& h,
                                      const std::string& loss_name) {
  std::vector<double> epochs;
  for (std::size_t e = 0; e < h.loss.size(); ++e) epochs.push_back(static_cast<double>(e + 1));
  const std::string loss_path = (std::filesystem::path(dir) / (prefix + "_loss.png")).string();
  const std::string acc_path = (std::filesystem::path(dir) / (prefix + "_accuracy.png")).string();

  tapegrad::LineChartOptions lo;
  lo.title = prefix + ": training loss per epoch";
  lo.x_label = "epoch";
  lo.y_label = loss_name;
  tapegrad::write_png(loss_path, tapegrad::line_chart({{"train loss", epochs, h.loss}}, lo));

  tapegrad::LineChartOptions ao;
  ao.title = prefix + ": accuracy per epoch";
  ao.x_label = "epoch";
  ao.y_label = "accuracy";
  std::vector<tapegrad::Series> curves = {{"train", epochs, h.train_accuracy}};
  if (!h.validation_accuracy.empty()) curves.push_back({"validation", epochs, h.validation_accuracy});
  tapegrad::write_png(acc_path, tapegrad::line_chart(curves, ao));
  return {loss_path, acc_path};
}

bool write_columns_as_images(const std::string& path, const Tensor<float>& w, std::size_t count,
                             const std::vector<std::string>& names, const std::string& title, std::size_t columns) {
  const std::size_t d = w.shape()[0], k = w.shape()[1];
  const std::size_t side = static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(d))));
  if (side * side != d || count == 0) return false;
  count = std::min(count, k);
  Tensor<float> tiles = Tensor<float>::from_shape({count, side, side});
  for (std::size_t c = 0; c < count; ++c)
    for (std::size_t i = 0; i < d; ++i) tiles.data()[c * d + i] = w(i, c);
  std::vector<std::string> captions = names;
  if (captions.empty())
    for (std::size_t c = 0; c < count; ++c) captions.push_back(std::to_string(c));
  captions.resize(count);
  tapegrad::ImageGridOptions o;
  o.columns = columns;
  o.scale = 6;
  o.colormap = tapegrad::Colormap::diverging;
  o.title = title;
  tapegrad::write_png(path, tapegrad::image_grid(tiles, captions, o));
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace examples
