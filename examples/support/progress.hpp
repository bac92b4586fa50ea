#pragma once
// A one-line progress bar on stderr for a training epoch:
//   epoch  3/20 [##########··········] 117/235  loss 0.4123  acc 0.8312  152k ex/s
// On a terminal it redraws in place (at most ten times a second, so it costs
// nothing measurable); otherwise (a log file, a test) only the final line of
// each epoch is printed. Disabled entirely when quiet.
#include <chrono>
#include <cstddef>
#include <string>

namespace examples {

class ProgressBar {
 public:
  explicit ProgressBar(bool quiet);
  // Starts a new bar: `label` (e.g. "epoch  3/20") over `total` steps.
  void start(const std::string& label, std::size_t total);
  // After step `done` of total: mean loss and running accuracy so far, and the
  // throughput in examples per second.
  void update(std::size_t done, double loss, double accuracy, double examples_per_second);
  // Draws the final state and ends the line, with `tail` (e.g. test accuracy) appended.
  void finish(const std::string& tail);

 private:
  std::string line() const;
  bool enabled_, interactive_;
  std::string label_;
  std::size_t total_ = 0, done_ = 0;
  double loss_ = 0, accuracy_ = 0, rate_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace examples
