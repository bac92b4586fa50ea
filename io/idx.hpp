#pragma once
// The IDX file format of (Fashion-)MNIST, read through zlib's gz* functions so
// gzip-compressed and plain files both work: a big-endian magic 0x000008NN
// (unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes.
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tapegrad {

struct IdxBytes {
  Shape dims;
  std::vector<std::uint8_t> data;  // row-major, prod(dims) bytes
};

// Reads an unsigned-byte IDX file of the given rank. Every failure (missing
// file, wrong magic, zero or absurd dims, truncated gzip, short read, trailing
// bytes) is a tapegrad::Error naming the file.
IdxBytes read_idx(const std::string& path, std::size_t rank);

// An idx3 image file as N × (rows·cols) floats in [0, 1] (pixel / 255).
Tensor<float> load_idx_images(const std::string& path);
// An idx1 label file; every label must lie in [0, num_classes).
IndexTensor load_idx_labels(const std::string& path, std::int64_t num_classes = 10);

struct Dataset {
  Tensor<float> train_images;  // N × 784
  IndexTensor train_labels;    // N
  Tensor<float> test_images;
  IndexTensor test_labels;
};

// $TAPEGRAD_FASHION_MNIST_DIR if set, else Debian's dataset-fashion-mnist
// location /usr/share/datasets/fashion-mnist.
std::string default_fashion_mnist_dir();

// Loads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from dir (the .gz
// name is preferred when both exist). Errors name the offending file.
Dataset load_fashion_mnist(const std::string& dir = default_fashion_mnist_dir());

// Subtracts the per-feature (per-pixel) mean of train from both train and test,
// in place, and returns that mean (shape {features}). Test statistics never
// leak into the transform.
Tensor<float> center(Tensor<float>& train, Tensor<float>& test);

}  // namespace tapegrad
