#include <tapegrad/nn/norm.hpp>

#include <cmath>
#include <sstream>

#include <xtensor/xbuilder.hpp>

#include <tapegrad/ops/norm.hpp>

namespace tapegrad::nn {

namespace {
void check_eps(const std::string& kind, double eps) {
  if (!(eps > 0) || !std::isfinite(eps)) fail(kind, ": eps must be positive and finite, got ", eps);
}
const char* bool_str(bool b) { return b ? "true" : "false"; }
}  // namespace

template <class T>
BatchNorm<T>::BatchNorm(const char* kind, std::size_t num_features, double eps, double momentum, bool affine,
                        bool track_running_stats, std::size_t min_rank, std::size_t max_rank, const char* expected)
    : Module<T>(kind), num_features_(num_features), eps_(eps), momentum_(momentum), min_rank_(min_rank),
      max_rank_(max_rank), expected_(expected) {
  check_eps(this->kind(), eps);
  if (!(momentum >= 0 && momentum <= 1)) fail(this->kind(), ": momentum must be in [0, 1], got ", momentum);
  const Shape c = {num_features};
  if (affine) {
    weight_ = &this->register_parameter("weight", Tensor<T>(xt::ones<T>(c)));
    bias_ = &this->register_parameter("bias", Tensor<T>(xt::zeros<T>(c)));
  }
  if (track_running_stats) {
    running_mean_ = &this->register_buffer("running_mean", Tensor<T>(xt::zeros<T>(c)));
    running_var_ = &this->register_buffer("running_var", Tensor<T>(xt::ones<T>(c)));
    num_batches_tracked_ = &this->register_buffer("num_batches_tracked", Tensor<T>(T(0)));
  }
}

template <class T>
Var<T> BatchNorm<T>::forward(const Var<T>& x) {
  const char* kind = this->kind().c_str();
  Tape<T>& t = x.tape(kind);
  t.check(x, kind);
  const auto& shape = t.value_of(x.id()).shape();
  if (shape.size() < min_rank_ || shape.size() > max_rank_)
    fail(kind, ": expected ", expected_, ", got ", shape_str(shape));
  if (shape[1] != num_features_)
    fail(kind, "(", num_features_, "): expected ", num_features_, " channels (axis 1), got input ", shape_str(shape));
  // checked here, before the watches below are recorded (the op would say it too)
  std::size_t m = shape[0];
  for (std::size_t k = 2; k < shape.size(); ++k) m *= shape[k];
  const bool training = this->is_training() || !track_running_stats();
  if (training && m == 1)
    fail(kind, ": expected more than 1 value per channel when training, got input ", shape_str(shape));
  // PyTorch: batch statistics when training or when no running statistics are kept;
  // the buffers are read in eval mode and updated in training mode
  const Var<T> w = weight_ ? t.watch(*weight_) : Var<T>(), b = bias_ ? t.watch(*bias_) : Var<T>();
  const Var<T> y = batch_norm(x, weight_ ? &w : nullptr, bias_ ? &b : nullptr, running_mean_, running_var_, training,
                              momentum_, eps_);
  if (training && num_batches_tracked_) num_batches_tracked_->data()[0] += T(1);
  return y;
}

template <class T>
std::string BatchNorm<T>::extra_repr() const {
  std::ostringstream os;
  os << num_features_ << ", eps=" << eps_ << ", momentum=" << momentum_ << ", affine=" << bool_str(weight_ != nullptr)
     << ", track_running_stats=" << bool_str(running_mean_ != nullptr);
  return os.str();
}

template <class T>
BatchNorm1d<T>::BatchNorm1d(std::size_t num_features, double eps, double momentum, bool affine,
                            bool track_running_stats)
    : BatchNorm<T>("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats, 2, 3,
                   "a 2-D or 3-D input (N, C) or (N, C, L)") {}

template <class T>
BatchNorm2d<T>::BatchNorm2d(std::size_t num_features, double eps, double momentum, bool affine,
                            bool track_running_stats)
    : BatchNorm<T>("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats, 4, 4,
                   "a 4-D input (N, C, H, W)") {}

template <class T>
LayerNorm<T>::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : Module<T>("LayerNorm"), normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  check_eps("LayerNorm", eps);
  if (normalized_shape_.empty()) fail("LayerNorm: normalized_shape must have at least one extent, got ()");
  checked_size("LayerNorm", normalized_shape_);
  if (elementwise_affine) {
    weight_ = &this->register_parameter("weight", Tensor<T>(xt::ones<T>(normalized_shape_)));
    bias_ = &this->register_parameter("bias", Tensor<T>(xt::zeros<T>(normalized_shape_)));
  }
}

template <class T>
Var<T> LayerNorm<T>::forward(const Var<T>& x) {
  Tape<T>& t = x.tape("LayerNorm");
  t.check(x, "LayerNorm");
  const Var<T> w = weight_ ? t.watch(*weight_) : Var<T>(), b = bias_ ? t.watch(*bias_) : Var<T>();
  return layer_norm(x, normalized_shape_, weight_ ? &w : nullptr, bias_ ? &b : nullptr, eps_);
}

template <class T>
std::string LayerNorm<T>::extra_repr() const {
  std::ostringstream os;
  os << shape_str(normalized_shape_) << ", eps=" << eps_ << ", elementwise_affine=" << bool_str(weight_ != nullptr);
  return os.str();
}

template class BatchNorm<float>;
template class BatchNorm<double>;
template class BatchNorm1d<float>;
template class BatchNorm1d<double>;
template class BatchNorm2d<float>;
template class BatchNorm2d<double>;
template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace tapegrad::nn
