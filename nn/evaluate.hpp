#pragma once
// Evaluation of a classifier over a data set: x holds N rows (axis 0; any
// trailing shape the model takes, e.g. (N, 784) or (N, 28, 28) before a
// Flatten), and the model maps a block of rows to scores (rows, C).
//
// Both functions run the model in batches of at most batch_size rows under
// NoGrad and in eval mode (every module's previous mode is restored after,
// also when an Error is thrown). A block is a constant borrowed by the tape:
// x itself when it fits in one batch, else a copy of its rows into one buffer
// reused across batches; no Parameter is used as a data buffer. The forms
// without a tape use one of their own; the forms with one clear it before every
// batch and after the last (its previous Vars become stale), leaving it empty.
//
// The prediction of a row is the column of its largest score, the first on a
// tie; a NaN score counts as the largest (as numpy.argmax).
#include <cstddef>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

// One class per row of x (shape (N)). x must have a row axis; batch_size > 0;
// the model's output for a block of r rows must be (r, C) with C >= 1 and the
// same C for every block. Errors start with "predict: ".
template <class T>
IndexTensor predict(Module<T>& model, const Tensor<T>& x, std::size_t batch_size = 1024);
template <class T>
IndexTensor predict(Module<T>& model, const Tensor<T>& x, Tape<T>& tape, std::size_t batch_size = 1024);

// The fraction of rows predicted as their label, in [0, 1]. labels must be
// (N), each in [0, C); N = 0 is an Error (no accuracy to report), as are the
// conditions of predict. Errors start with "accuracy: ".
template <class T>
double accuracy(Module<T>& model, const Tensor<T>& x, const IndexTensor& labels, std::size_t batch_size = 1024);
template <class T>
double accuracy(Module<T>& model, const Tensor<T>& x, const IndexTensor& labels, Tape<T>& tape,
                std::size_t batch_size = 1024);

}  // namespace tapegrad::nn
