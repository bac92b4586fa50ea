// Writes the fuzzers' seed corpus: small valid files of every kind each reader
// accepts, and slightly broken variants (truncated, a flipped byte, a wrong
// field). Usage: make_corpus <dir>; fills <dir>/npy, <dir>/idx, <dir>/checkpoint
// and <dir>/module_state.
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/module_state.hpp>
#include <tapegrad/io/npy.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "state_model.hpp"

using namespace tapegrad;

namespace {

std::string root;
int written = 0;

void put(const std::string& kind, const std::string& name, const std::string& bytes) {
  std::ofstream(root + "/" + kind + "/" + name, std::ios::binary) << bytes;
  ++written;
}
// The file plus a truncated copy and a copy with one byte flipped.
void put_variants(const std::string& kind, const std::string& name, const std::string& bytes) {
  put(kind, name, bytes);
  if (bytes.size() > 1) {
    put(kind, name + ".cut", bytes.substr(0, bytes.size() * 2 / 3));
    std::string flipped = bytes;
    flipped[bytes.size() / 3] ^= 0x20;
    put(kind, name + ".flip", flipped);
  }
}
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string npy(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prelude = major == 1 ? 10 : 12;
  std::string h = dict;
  while ((prelude + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY") + char(major) + '\0';
  for (std::size_t k = 0; k < prelude - 8; ++k) out += char((h.size() >> (8 * k)) & 0xff);
  return out + h + data;
}

void npy_seeds() {
  const std::string tmp = root + "/npy.tmp";
  int k = 0;
  auto via_writer = [&](const NpyArray& a) {
    write_npy(tmp, a);
    put_variants("npy", "w" + std::to_string(k++) + ".npy", slurp(tmp));
    std::remove(tmp.c_str());
  };
  via_writer(to_npy(Tensor<float>{{1, 2, 3}, {4, 5, 6}}));
  via_writer(to_npy(Tensor<double>(xt::xarray<double>::from_shape({}))));
  via_writer(to_npy(xt::xarray<std::int64_t>{3, -1, 7, 0}));
  for (const char* dt : {"|i1", "<i2", "<i4", "|u1", "<u2", "<u4", "<u8", "|b1"}) {
    NpyArray a;
    a.dtype = dt;
    a.shape = {2, 2};
    a.data.assign(4 * npy_item_size(dt), '\1');
    via_writer(a);
  }
  const std::string d12(std::string(8, '\0') + std::string("\x3f\xf0\0\0\0\0\0\0", 8));
  put("npy", "be.npy", npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", d12));
  put("npy", "fortran.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", std::string(24, '\2')));
  put("npy", "v2.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 2), }", std::string(8, '\3'), 2));
  put("npy", "v3.npy", npy("{'shape': (3,), 'fortran_order': False, 'descr': '<u2'}", std::string(6, '\4'), 3));
  put("npy", "empty.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", ""));
  put("npy", "py2.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1L, 2L), }", std::string(16, '\5')));
  put("npy", "badkey.npy", npy("{'descr': '<f4', 'fortran_orde': False, 'shape': (1,), }", std::string(4, '\0')));
  put("npy", "neg.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""));
  put("npy", "struct.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "abcd"));
}

std::string be32(std::uint32_t v) {
  std::string s;
  for (int k = 3; k >= 0; --k) s += char((v >> (8 * k)) & 0xff);
  return s;
}
std::string gzip(const std::string& plain) {
  const std::string tmp = root + "/idx.tmp.gz";
  gzFile f = gzopen(tmp.c_str(), "wb");
  gzwrite(f, plain.data(), static_cast<unsigned>(plain.size()));
  gzclose(f);
  std::string z = slurp(tmp);
  std::remove(tmp.c_str());
  return z;
}

void idx_seeds() {
  const std::string labels = be32(0x801) + be32(6) + std::string("\0\1\2\11\3\4", 6);
  std::string images = be32(0x803) + be32(2) + be32(3) + be32(4);
  for (int k = 0; k < 24; ++k) images += char(k * 10);
  const std::string rank2 = be32(0x802) + be32(2) + be32(2) + "wxyz";
  for (const auto& [name, plain] : {std::pair<std::string, std::string>{"labels", labels}, {"images", images},
                                    {"rank2", rank2}}) {
    put_variants("idx", name + ".idx", plain);
    put_variants("idx", name + ".idx.gz", gzip(plain));
  }
  put("idx", "badlabel.idx", be32(0x801) + be32(2) + std::string("\1\12", 2));
  put("idx", "trailing.idx", labels + "!");
  put("idx", "zerodim.idx", be32(0x803) + be32(0) + be32(28) + be32(28));
  put("idx", "huge.idx", be32(0x803) + be32(60000) + be32(28) + be32(28) + "abc");
}

void checkpoint_seeds() {
  Parameter<float> w(Tensor<float>{{0.5f, -1}, {2, 0.25f}, {3, 4}}, "W"), b(Tensor<float>{0.1f, 0.2f}, "b");
  auto step = [&](Optimizer<float>& opt) {
    w.grad.fill(0.5f);
    b.grad.fill(-0.25f);
    opt.step();
  };
  SGDOptions so;
  so.momentum = 0.9;
  SGD<float> sgd({&w, &b}, so);
  step(sgd);
  put_variants("checkpoint", "sgd.npz", encode_checkpoint<float>({&w, &b}, &sgd, {"mlp", 3, 42}));
  SGD<float> plain({&b}, SGDOptions{});
  put_variants("checkpoint", "plain.npz", encode_checkpoint<float>({&w, &b}, &plain, {"", 0, 0}));
  Adam<float> adam({&w, &b}, AdamOptions{});
  step(adam);
  put_variants("checkpoint", "adam.npz", encode_checkpoint<float>({&w, &b}, &adam, {"adam model", -1, ~0ull}));
  AdamW<float> adamw({&w});
  put("checkpoint", "adamw.npz", encode_checkpoint<float>({&w}, &adamw, {"w", 1, 1}));
  put_variants("checkpoint", "bare.npz", encode_checkpoint<float>({&b}, nullptr, {"bare", 1, 2}));
  Parameter<double> s(Tensor<double>(xt::xarray<double>::from_shape({})), "s"),
      e(Tensor<double>(xt::xarray<double>::from_shape({0, 3})), "empty");
  put_variants("checkpoint", "double.npz", encode_checkpoint<double>({&s, &e}, nullptr, {"d", 0, 0}));
}

// StateModel's state (state_model.hpp) as save_state writes it, in float and
// double; as a training checkpoint with SGD state (load_state ignores it); and
// with one entry of another shape.
template <class T>
void module_state_seeds(const std::string& suffix) {
  const std::string tmp = root + "/module_state.tmp";
  StateModel<T> model;
  save_state(model, tmp);
  put_variants("module_state", "state" + suffix + ".npz", slurp(tmp));
  std::remove(tmp.c_str());
  std::vector<Parameter<T>*> entries = model.parameters();
  Parameter<T> running(*model.named_buffers()[0].second, "running_mean");
  entries.push_back(&running);
  SGDOptions so;
  so.momentum = 0.9;
  SGD<T> sgd(model.parameters(), so);
  for (Parameter<T>* p : model.parameters()) p->grad.fill(T(0.5));
  sgd.step();
  put_variants("module_state", "train" + suffix + ".npz", encode_checkpoint<T>(entries, &sgd, {"StateModel", 1, 7}));
  Parameter<T> wide(Tensor<T>(xt::zeros<T>({3, 3})), "weight");
  entries[0] = &wide;
  put("module_state", "shape" + suffix + ".npz", encode_checkpoint<T>(entries, nullptr, {"StateModel", 0, 0}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <dir>\n");
    return 2;
  }
  root = argv[1];
  for (const char* kind : {"", "/npy", "/idx", "/checkpoint", "/module_state"}) ::mkdir((root + kind).c_str(), 0777);
  npy_seeds();
  idx_seeds();
  checkpoint_seeds();
  module_state_seeds<float>("");
  module_state_seeds<double>(".f8");
  std::printf("make_corpus: %d seed files in %s/{npy,idx,checkpoint,module_state}\n", written, root.c_str());
  return 0;
}
