#pragma once
// Everything a user needs: the tape, the ops, the losses, the optimizers.
#include "core/error.hpp"
#include "core/gradcheck.hpp"
#include "core/tape.hpp"
#include "core/tensor.hpp"
#include "ops/activation.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
#include "ops/linalg.hpp"
#include "ops/reduce.hpp"
#include "ops/shape.hpp"
