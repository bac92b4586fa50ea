#include "support/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace examples {

ProgressBar::ProgressBar(bool quiet) : enabled_(!quiet), interactive_(::isatty(2) == 1) {}

void ProgressBar::start(const std::string& label, std::size_t total) {
  label_ = label;
  total_ = total;
  done_ = 0;
  loss_ = accuracy_ = rate_ = 0;
  last_draw_ = std::chrono::steady_clock::now();
}

std::string ProgressBar::line() const {
  constexpr std::size_t width = 24;
  const std::size_t filled = total_ ? done_ * width / total_ : width;
  std::string bar = label_ + " [";
  for (std::size_t k = 0; k < width; ++k) bar += k < filled ? "#" : ".";
  char tail[160];
  // thousands of examples a second, or units below 1000 (a CNN step: hundreds)
  if (rate_ >= 1000)
    std::snprintf(tail, sizeof tail, "] %zu/%zu  loss %.4f  acc %.4f  %.0fk ex/s", done_, total_, loss_, accuracy_,
                  rate_ / 1000);
  else
    std::snprintf(tail, sizeof tail, "] %zu/%zu  loss %.4f  acc %.4f  %.0f ex/s", done_, total_, loss_, accuracy_,
                  rate_);
  return bar + tail;
}

void ProgressBar::update(std::size_t done, double loss, double accuracy, double examples_per_second) {
  done_ = done;
  loss_ = loss;
  accuracy_ = accuracy;
  rate_ = examples_per_second;
  if (!enabled_ || !interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  std::fprintf(stderr, "\r%s", line().c_str());
  std::fflush(stderr);
}

void ProgressBar::finish(const std::string& tail) {
  if (!enabled_) return;
  // On a terminal: back to the line's start, and erase what a longer line left.
  std::fprintf(stderr, "%s%s%s%s\n", interactive_ ? "\r" : "", line().c_str(), tail.c_str(),
               interactive_ ? "\033[K" : "");
  std::fflush(stderr);
}

}  // namespace examples
