#pragma once
// Everything public in one include: the tape and its checks (core), the ops, the
// losses, the layers (nn), the optimizers and the file formats (io). It lives
// above every layer, so no layer includes it: core → ops → losses → nn → optim →
// io, never upwards.
#include <tapegrad/core/version.hpp>  // TAPEGRAD_VERSION_*, tapegrad::version(), the ABI pin
#include <tapegrad/core/audit.hpp>
#include <tapegrad/core/compare.hpp>
#include <tapegrad/core/error.hpp>
#include <tapegrad/core/gradcheck.hpp>
#include <tapegrad/core/record.hpp>
#include <tapegrad/core/tape.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/core/var.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/conv.hpp>
#include <tapegrad/ops/dropout.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/indexing.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/pool.hpp>
#include <tapegrad/ops/norm.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/losses/hinge.hpp>
#include <tapegrad/losses/hinge_check.hpp>
#include <tapegrad/losses/registry.hpp>
#include <tapegrad/losses/softmax_cross_entropy.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/evaluate.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/norm.hpp>
#include <tapegrad/nn/pool.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/clip.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/schedule.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/io/batches.hpp>
#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/idx.hpp>
#include <tapegrad/io/module_state.hpp>
#include <tapegrad/io/npy.hpp>
#include <tapegrad/io/plot.hpp>
