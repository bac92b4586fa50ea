#pragma once
// Checkpoints: a model's named parameters, its optimizer's state and a little
// metadata in ONE file that NumPy reads: an uncompressed .npz (a ZIP archive of
// .npy entries), e.g. numpy.load("ckpt.npz")["param/W"].
//
// Entries, in this order (T = float gives <f4 tensors, double <f8):
//   __tapegrad__.npy        <i8 (4,): magic, format version, entry count, checksum
//   meta/model_name.npy     |u1 (n,): the model name's bytes
//   meta/epoch.npy          <i8 ()     meta/seed.npy   <u8 ()
//   meta/series/<name>.npy  <f8 (n,): one per CheckpointMeta::series entry, in order
//   param/<name>.npy        one per parameter, in the order given
//   optim/name.npy          |u1: "SGD", "Adam", ...        (only with an optimizer)
//   optim/params.npy        |u1: its parameters' names, '\n'-separated, group after group
//   optim/groups.npy        <i8 (G,): parameters per group   (only with G >= 2 groups)
//   optim/steps.npy <i8 ()  optim/lr.npy <f8 () (one group) or <f8 (G,) (each group's)
//   optim/state/<buffer>.<i>.npy    i: the parameter's index in optim/params
// The checksum is the CRC-32 of every later entry's name, a NUL and its .npy
// bytes, in order; each entry's ZIP CRC-32 is checked as well. The container
// (the ZIP layout, the .npy entries) is io/zip.hpp's; the schema is here.
//
// Saving is atomic: a temporary file in the target's directory is written,
// flushed, fsynced and renamed over the target, then the directory is fsynced.
// A crash at any moment leaves either the old or the new checkpoint, never a
// mix (a stale "<path>.tmp.*" file may remain; it is never read).
//
// Loading validates everything first: the ZIP structure byte for byte (it must
// be exactly what save_checkpoint writes), CRCs, version, checksum, names,
// dtypes and shapes against the model's parameters and the optimizer's groups
// and buffers.
// Any problem is a tapegrad::Error "load_checkpoint: <path>: <problem>", and
// then nothing in the model or the optimizer has changed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tape.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad {

constexpr std::int64_t kCheckpointMagic = 0x74706772636b7074;  // "tpgrckpt"
// Format versions: 1 has no series; 2 adds meta/series/; 3 adds optim/groups
// (an optimizer with two or more parameter groups, each with its own lr).
// save_checkpoint writes the oldest version that holds the data (3 with groups,
// else 2 with series, else 1), so a file is readable by every build that
// understands its contents, and a one-group optimizer's file is the same bytes
// as before groups existed; this build reads all three.
constexpr std::int64_t kCheckpointVersion = 3;

// A named sequence of numbers kept with the model, e.g. a run's loss per epoch.
struct CheckpointSeries {
  std::string name;  // unique; the same rules as parameter names
  std::vector<double> values;
};

struct CheckpointMeta {
  std::string model_name;
  std::int64_t epoch = 0;
  std::uint64_t seed = 0;
  std::vector<CheckpointSeries> series = {};  // in the order given
};

// Everything a checkpoint file holds, decoded and checked for consistency but
// not yet matched against a model.
template <class T>
struct Checkpoint {
  CheckpointMeta meta;
  std::vector<NamedTensor<T>> params;  // in saved order, names without "param/"
  bool has_optimizer = false;
  std::string optimizer_name;
  std::vector<std::string> optimizer_params;  // the optimizer's parameters' names, group after group
  OptimizerState<T> optimizer;                // group sizes, each group's lr; tensor names without "optim/state/"
};

// Parameter names must be unique, non-empty, at most 200 characters of
// printable ASCII. A null optimizer saves no optimizer state.
template <class T>
void save_checkpoint(const std::string& path, const std::vector<Parameter<T>*>& params,
                     const Optimizer<T>* optimizer, const CheckpointMeta& meta);

// Loads into params (matched by name; every parameter must be present with its
// shape and dtype, and the checkpoint may hold no others) and, unless null, the
// optimizer (same type, same group sizes, same parameter names in the same
// order, same buffers; each group's lr and the step count are restored, the
// other hyperparameters are the optimizer's own).
// A null optimizer ignores any optimizer state in the file. A non-empty
// expected_model_name must equal the saved model name. Returns the metadata.
template <class T>
CheckpointMeta load_checkpoint(const std::string& path, const std::vector<Parameter<T>*>& params,
                               Optimizer<T>* optimizer, const std::string& expected_model_name = "");

// The pieces of the above, for tools, tests and fuzzing.
template <class T>
std::string encode_checkpoint(const std::vector<Parameter<T>*>& params, const Optimizer<T>* optimizer,
                              const CheckpointMeta& meta);
// `source` names the bytes in error messages (usually the file's path).
template <class T>
Checkpoint<T> decode_checkpoint(const char* bytes, std::size_t size, const std::string& source);
template <class T>
Checkpoint<T> read_checkpoint(const std::string& path);
// Validates ckpt against params / optimizer, then copies it in (all or nothing).
template <class T>
void apply_checkpoint(const Checkpoint<T>& ckpt, const std::vector<Parameter<T>*>& params,
                      Optimizer<T>* optimizer, const std::string& source,
                      const std::string& expected_model_name = "");

}  // namespace tapegrad
