#pragma once
// The module fuzz_module_state loads into, and make_corpus saves its seeds from:
// parameters and a buffer at two depths, a scalar and an empty parameter, so the
// hierarchical names ("inner.weight", "inner.deep.s"), rank 0 and a zero-size
// entry are all in play. Nothing here runs a forward.
#include <tapegrad/nn/module.hpp>

template <class T>
struct StateLeaf : tapegrad::nn::Module<T> {
  StateLeaf() : tapegrad::nn::Module<T>("StateLeaf") {
    this->register_parameter("s", tapegrad::Tensor<T>(xt::xarray<T>::from_shape({})));
    this->register_parameter("empty", tapegrad::Tensor<T>(xt::xarray<T>::from_shape({0, 3})));
  }
  tapegrad::Var<T> forward(const tapegrad::Var<T>& x) override { return x; }
};

template <class T>
struct StateInner : tapegrad::nn::Module<T> {
  StateInner() : tapegrad::nn::Module<T>("StateInner") {
    this->register_parameter("weight", tapegrad::Tensor<T>{{1, 2}, {3, 4}});
    this->register_module("deep", StateLeaf<T>());
  }
  tapegrad::Var<T> forward(const tapegrad::Var<T>& x) override { return x; }
};

template <class T>
struct StateModel : tapegrad::nn::Module<T> {
  StateModel() : tapegrad::nn::Module<T>("StateModel") {
    this->register_parameter("weight", tapegrad::Tensor<T>{{0.5, -1}, {2, 0.25}, {3, 4}});
    this->register_parameter("bias", tapegrad::Tensor<T>{0.1, 0.2});
    this->register_buffer("running_mean", tapegrad::Tensor<T>{0, 1});
    this->register_module("inner", StateInner<T>());
  }
  tapegrad::Var<T> forward(const tapegrad::Var<T>& x) override { return x; }
};
