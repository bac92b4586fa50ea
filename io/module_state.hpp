#pragma once
// A module's state by name (PyTorch's state_dict, saved) in the checkpoint
// format of io/checkpoint.hpp: an uncompressed .npz that NumPy reads, whose
// param/<name> entries are the module's parameters and then its buffers, under
// their hierarchical names (nn/module.hpp), e.g.
//   numpy.load("mlp.npz")["param/0.weight"]     # (in, out): nn::Linear's layout
// with no optimizer state; meta/model_name holds the module's kind(). The file is
// a checkpoint: read_checkpoint reads it, and load_state also accepts a training
// checkpoint that holds optimizer state (ignoring that state).
//
// save_state writes atomically (a temporary beside the target, fsynced and
// renamed over it: the old file or the new one survives a crash). Its errors
// are "save_state: save_checkpoint: <path>: ...".
//
// load_state is strict and all-or-nothing: the file is read and decoded into
// temporaries, every parameter and buffer of the module must appear with its
// shape (and T's dtype), and the file may hold no other entry; only when all of
// that holds is anything assigned. Errors: "load_state: <path>: missing entry
// 'fc1.weight' ...", "... unexpected entry ...", "... entry 'fc1.weight' has
// shape (3, 2) in the file but (2, 3) in the module"; a damaged or foreign file
// is the checkpoint reader's Error after "load_state: ". After an Error the
// module is unchanged.
#include <string>

#include <tapegrad/nn/module.hpp>

namespace tapegrad {

template <class T>
void save_state(const nn::Module<T>& module, const std::string& path);

template <class T>
void load_state(nn::Module<T>& module, const std::string& path);

}  // namespace tapegrad
