#pragma once
// Normalisation layers, as torch.nn's: BatchNorm1d, BatchNorm2d (ops' batch_norm)
// and LayerNorm (ops' layer_norm). See ops/norm.hpp for the ops' semantics.
//
// - weight (γ) starts at 1 and bias (β) at 0, as PyTorch's reset_parameters; with
//   affine = false (elementwise_affine = false) there are none.
// - running_mean (0), running_var (1) and num_batches_tracked (0, shape ()) are
//   BUFFERS: saved and loaded with the module (io/module_state.hpp) under those
//   names, never in parameters(), so no optimizer touches them. A training-mode
//   forward normalises with the batch's statistics and updates the buffers
//   (running = (1 − momentum)·running + momentum·stat, the unbiased variance) and
//   counts the batch; an eval-mode forward normalises with the buffers and changes
//   nothing. With track_running_stats = false no buffers are registered and both
//   modes use the batch's statistics (as PyTorch). momentum = None (PyTorch's
//   cumulative average) is not supported: momentum is a number in [0, 1].
// - Errors name the layer: a wrong rank or channel count, eps ≤ 0 or not finite,
//   momentum outside [0, 1], one value per channel in training ("BatchNorm1d:
//   expected more than 1 value per channel when training, got input (1, 3)").
#include <cstddef>
#include <string>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

// What BatchNorm1d and BatchNorm2d share; they differ in the ranks they accept.
template <class T>
class BatchNorm : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override;

  Parameter<T>* weight() { return weight_; }  // nullptr without affine
  Parameter<T>* bias() { return bias_; }
  Tensor<T>* running_mean() { return running_mean_; }  // nullptr without track_running_stats
  Tensor<T>* running_var() { return running_var_; }
  Tensor<T>* num_batches_tracked() { return num_batches_tracked_; }
  std::size_t num_features() const { return num_features_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  bool affine() const { return weight_ != nullptr; }
  bool track_running_stats() const { return running_mean_ != nullptr; }
  std::string extra_repr() const override;

 protected:
  // min_rank..max_rank: the input ranks the layer accepts, described by `expected`.
  BatchNorm(const char* kind, std::size_t num_features, double eps, double momentum, bool affine,
            bool track_running_stats, std::size_t min_rank, std::size_t max_rank, const char* expected);

 private:
  std::size_t num_features_;
  double eps_, momentum_;
  std::size_t min_rank_, max_rank_;
  const char* expected_;
  Parameter<T>* weight_ = nullptr;
  Parameter<T>* bias_ = nullptr;
  Tensor<T>* running_mean_ = nullptr;
  Tensor<T>* running_var_ = nullptr;
  Tensor<T>* num_batches_tracked_ = nullptr;
};

// Input (N, C) or (N, C, L), C = num_features.
template <class T>
class BatchNorm1d : public BatchNorm<T> {
 public:
  explicit BatchNorm1d(std::size_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
};

// Input (N, C, H, W), C = num_features.
template <class T>
class BatchNorm2d : public BatchNorm<T> {
 public:
  explicit BatchNorm2d(std::size_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
};

// Normalises over the trailing axes normalized_shape (an input (*, normalized_shape));
// weight and bias have that shape. The same in training and eval; no buffers.
template <class T>
class LayerNorm : public Module<T> {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  explicit LayerNorm(std::size_t normalized_size, double eps = 1e-5, bool elementwise_affine = true)
      : LayerNorm(Shape{normalized_size}, eps, elementwise_affine) {}
  Var<T> forward(const Var<T>& x) override;

  Parameter<T>* weight() { return weight_; }  // nullptr without elementwise_affine
  Parameter<T>* bias() { return bias_; }
  const Shape& normalized_shape() const { return normalized_shape_; }
  double eps() const { return eps_; }
  std::string extra_repr() const override;

 private:
  Shape normalized_shape_;
  double eps_;
  Parameter<T>* weight_ = nullptr;
  Parameter<T>* bias_ = nullptr;
};

extern template class BatchNorm<float>;
extern template class BatchNorm<double>;
extern template class BatchNorm1d<float>;
extern template class BatchNorm1d<double>;
extern template class BatchNorm2d<float>;
extern template class BatchNorm2d<double>;
extern template class LayerNorm<float>;
extern template class LayerNorm<double>;

}  // namespace tapegrad::nn
