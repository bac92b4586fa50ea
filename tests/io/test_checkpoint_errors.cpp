// Checkpoints that must not load, and saves that fail: truncated at each offset,
// any single byte corrupted, consistent edits, other shapes, names, optimizers,
// versions, files that are not checkpoints. A failed load must leave the model
// and the optimizer exactly as they were; a failed save leaves the old file.
#include <cstring>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>

#include <tapegrad/io/checkpoint.hpp>
#include "io/checkpoint_fixture.hpp"
#include <tapegrad/io/zip.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace tapegrad {
namespace {

using namespace checkpoint_test;  // Model, CheckpointTest, slurp, entries_of, ...
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

// Truncated at every length, and every single byte flipped: an error naming the
// file, and nothing in the model or the optimizer changes. Every length and byte
// in memory (decode + apply, what load_checkpoint does after reading the file),
// every 50th through a real file.
TEST_F(CheckpointTest, DamagedFilesAreErrorsAndLeaveTheModelAlone) {
  const std::string full = small_sgd_checkpoint(path("full.npz"));
  Model<float> m(7.0, 2, 2), fresh(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  const std::string p = path("bad.npz");
  auto expect_error = [&](const std::string& bytes, std::size_t k, const char* what) {
    try {
      if (k % 50 == 0) {
        put_file(p, bytes);
        load_checkpoint<float>(p, m.params(), &opt);
      } else {
        apply_checkpoint(decode_checkpoint<float>(bytes.data(), bytes.size(), p), m.params(), &opt, p);
      }
      ADD_FAILURE() << "no error: " << what << " " << k << " of " << full.size() << " bytes";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), StartsWith("load_checkpoint: " + p + ": ")) << what << " " << k;
    }
  };
  for (std::size_t n = 0; n < full.size(); ++n) expect_error(full.substr(0, n), n, "truncated to");
  for (std::size_t at = 0; at < full.size(); ++at) {
    std::string bad = full;
    bad[at] = char(bad[at] ^ 0x01);
    expect_error(bad, at, "flipped byte");
  }
  expect_equal(m.w.value, fresh.w.value);
  expect_equal(m.b.value, fresh.b.value);
  EXPECT_EQ(opt.steps(), 0);
  EXPECT_EQ(opt.lr(), 0.3);
  expect_equal(opt.momentum_buffer(0), Tensor<float>(xt::zeros<float>({2, 2})));
  std::string bad = full;
  bad[full.find(entries_of(full)[4].bytes) + 130] ^= 0x10;  // a data byte of param/W
  put_file(p, bad);
  EXPECT_THAT([&] { load_checkpoint<float>(p, m.params(), &opt); },
              ThrowsMessage<Error>(HasSubstr("ZIP entry 'param/W' fails its CRC-32 check")));
  load_checkpoint<float>(path("full.npz"), m.params(), &opt);  // and the whole file loads
  EXPECT_EQ(opt.steps(), 3);
}

// Edits a valid ZIP layer would not catch (the archive is rebuilt with correct
// CRC-32s), caught by the header's version, magic, count and checksum, and by
// the .npy entries' own checks.
TEST_F(CheckpointTest, ConsistentEditsAreCaughtByVersionMagicAndChecksum) {
  CheckpointMeta with_series{"tiny", 3, 42};
  with_series.series = {{"loss", {0.5}}};
  Model<float> src(1.0, 2, 2);
  SGD<float> src_opt(src.params(), sgd_opts(0.1, 0.9));
  const std::string v1 = small_sgd_checkpoint(path("full.npz"));
  const std::string v2 = encode_checkpoint<float>(src.params(), &src_opt, with_series);
  Model<float> m(7.0, 2, 2);
  SGD<float> opt(m.params(), sgd_opts(0.3, 0.9));
  // Sets byte `at` of entry k's .npy data (after its 128-byte header), then
  // rebuilds the archive, optionally with a correct checksum too.
  auto load_edit = [&](const std::string& z, std::size_t k, std::size_t at, char value, bool fix_checksum = false) {
    std::vector<NpzEntry> es = entries_of(z);
    es[k].bytes[128 + at] = value;
    if (fix_checksum) {  // CRC-32 of each later entry's name, NUL, bytes
      std::uint32_t c = 0;
      for (std::size_t j = 1; j < es.size(); ++j)
        c = crc32_of(es[j].bytes.data(), es[j].bytes.size(), crc32_of(es[j].name.c_str(), es[j].name.size() + 1, c));
      const std::int64_t sum = c;
      std::memcpy(&es[0].bytes[128 + 24], &sum, 8);
    }
    put_file(path("edit.npz"), zip_npz(es, "test: "));
    try {
      load_checkpoint<float>(path("edit.npz"), m.params(), &opt);
    } catch (const Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(load_edit(v2, 0, 8, 1, true),
              HasSubstr(": series 'loss' in a version 1 checkpoint (series need version 2)"));
  EXPECT_THAT(load_edit(v2, 0, 8, 2, true), HasSubstr("no error"));
  EXPECT_THAT(load_edit(v1, 0, 8, 4), HasSubstr("checkpoint format version 4 is not supported (this build reads "
                                                "versions 1 to 3)"));
  EXPECT_THAT(load_edit(v1, 0, 8, 3, true), HasSubstr(": expected entry 'optim/groups' but found 'optim/steps'"));
  EXPECT_THAT(load_edit(v1, 0, 8, 0), HasSubstr("checkpoint format version 0 is not supported"));
  EXPECT_THAT(load_edit(v1, 0, 0, 'x'), HasSubstr("does not start with the checkpoint magic"));
  EXPECT_THAT(load_edit(v1, 0, 16, 9), HasSubstr("the header lists 9 entries but the archive holds 12"));
  EXPECT_THAT(load_edit(v1, 4, 0, 'q'), HasSubstr("checksum mismatch"));
  EXPECT_THAT(load_edit(v1, 4, 0, 'q', true), HasSubstr("no error"));  // the helper itself is right
  EXPECT_THAT(load_edit(v1, 0, 8, 2, true), HasSubstr(": a version 2 checkpoint without series"));
  // Inside an entry's .npy header (offsets from the data start: negative).
  EXPECT_THAT(load_edit(v1, 4, std::size_t(-116), 'x', true),
              HasSubstr("entry 'param/W': malformed or unexpected .npy header"));
  const std::size_t dim = entries_of(v1)[4].bytes.find("(2, 2)");
  EXPECT_THAT(load_edit(v1, 4, dim + 1 - 128, '9', true),
              HasSubstr("entry 'param/W': shape (9, 2) of <f4 does not match its 16 data bytes"));
  EXPECT_EQ(opt.steps(), 3);  // the last good load (v1, 3 steps), untouched by the failures after it
}

TEST_F(CheckpointTest, MismatchedModelsAreNamedErrors) {
  Model<float> src(1.0, 3, 2);
  SGD<float> sgd(src.params(), sgd_opts(0.1, 0.9));
  save_checkpoint<float>(path("c.npz"), src.params(), &sgd, {"mlp", 1, 1});
  auto error = [&](std::vector<Parameter<float>*> params, Optimizer<float>* opt, const std::string& model = "") {
    const std::vector<Tensor<float>> before = {params[0]->value, params.back()->value};
    try {
      load_checkpoint<float>(path("c.npz"), params, opt, model);
    } catch (const Error& e) {
      expect_equal(params[0]->value, before[0]);
      expect_equal(params.back()->value, before[1]);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Model<float> wide(0.0, 3, 5);
  EXPECT_EQ(error(wide.params(), nullptr),
            "load_checkpoint: " + path("c.npz") + ": parameter 'W' has shape (3, 2) in the checkpoint but (3, 5) in the model");
  Model<float> ok(0.0, 3, 2);
  ok.w.name = "W1";
  EXPECT_THAT(error(ok.params(), nullptr), HasSubstr("missing parameter 'W1' (the checkpoint holds 'W', 'b')"));
  ok.w.name = "W";
  EXPECT_THAT(error({&ok.w}, nullptr), HasSubstr("holds parameter 'b', which the model does not have"));
  Parameter<float> extra(filled<float>({2}, 0), "c");
  EXPECT_THAT(error({&ok.w, &ok.b, &extra}, nullptr), HasSubstr("missing parameter 'c'"));
  EXPECT_THAT(error(ok.params(), nullptr, "cnn"), HasSubstr("the checkpoint is of model 'mlp', not 'cnn'"));
  Adam<float> adam(ok.params(), AdamOptions{});
  EXPECT_THAT(error(ok.params(), &adam), HasSubstr("the optimizer state is SGD's, but the optimizer is Adam"));
  SGD<float> plain(ok.params(), sgd_opts(0.1));
  EXPECT_THAT(error(ok.params(), &plain), HasSubstr("holds optimizer state 'momentum_buffer.0', which SGD does not have"));
  SGD<float> reordered({&ok.b, &ok.w}, sgd_opts(0.1, 0.9));
  EXPECT_THAT(error(ok.params(), &reordered), HasSubstr("SGD's parameter 0 is 'W' in the checkpoint but 'b' here"));
  SGD<float> fewer({&ok.w}, sgd_opts(0.1, 0.9));
  EXPECT_THAT(error(ok.params(), &fewer), HasSubstr("SGD's parameter 1 is 'b' in the checkpoint but absent here"));
  Model<double> dbl(0.0, 3, 2);
  EXPECT_THAT([&] { load_checkpoint<double>(path("c.npz"), dbl.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("entry 'param/W' is <f4 of shape (3, 2), expected <f8")));
  // Nothing was changed by any of them: a matching optimizer still loads.
  SGD<float> good(ok.params(), sgd_opts(0.2, 0.9));
  load_checkpoint<float>(path("c.npz"), ok.params(), &good, "mlp");
  expect_equal(ok.w.value, src.w.value);
}

TEST_F(CheckpointTest, NotACheckpointAtAll) {
  Model<float> m(0.0);
  put_file(path("empty.npz"), "");
  EXPECT_THAT([&] { load_checkpoint<float>(path("empty.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("empty.npz: only 0 bytes: truncated, or not a checkpoint")));
  EXPECT_THAT([&] { load_checkpoint<float>(path("absent.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>("load_checkpoint: " + path("absent.npz") + ": cannot open: No such file or directory"));
  put_file(path("other.npz"), zip_npz({{"x", npy_entry_bytes(to_npy(Tensor<double>{1.0, 2.0}))}}, ""));
  EXPECT_THAT([&] { load_checkpoint<float>(path("other.npz"), m.params(), nullptr); },
              ThrowsMessage<Error>(HasSubstr("the first entry is 'x', not '__tapegrad__': not a tapegrad checkpoint")));
}

// (Atomicity under SIGKILL and failed renames are tests/io/test_zip.cpp's, at write_npz_file.)
TEST_F(CheckpointTest, FailedSavesLeaveTheOldFileAndNoTemporary) {
  Model<float> m(1.0);
  save_checkpoint<float>(path("c.npz"), m.params(), nullptr, {"first", 1, 0});
  const std::string before = slurp(path("c.npz"));
  auto save_error = [&](std::vector<Parameter<float>*> ps, const std::string& p) {
    try {
      save_checkpoint<float>(p, ps, nullptr, {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Parameter<float> unnamed(filled<float>({2}, 0)), twin(filled<float>({2}, 0), "W"), odd(filled<float>({1}, 0), "a\tb");
  EXPECT_THAT(save_error({&m.w, &unnamed}, path("c.npz")), HasSubstr("c.npz: parameter 1 has no name"));
  EXPECT_THAT(save_error({&m.w, &twin}, path("c.npz")), HasSubstr("parameters 0 and 1 are both named 'W'"));
  EXPECT_THAT(save_error({&odd}, path("c.npz")), HasSubstr("'a\\x09b' has a name with a byte outside printable ASCII"));
  EXPECT_THAT(save_error({&m.w}, path("no/such/dir/c.npz")),
              HasSubstr("save_checkpoint: " + path("no/such/dir/c.npz") + ": cannot create a temporary file"));
  EXPECT_EQ(slurp(path("c.npz")), before);
  EXPECT_EQ(files(), 1u);  // no temporary left behind
}

// Another group structure (count or sizes) is an error naming the file, and
// nothing changes; so are version 3 files whose groups do not add up.
TEST_F(CheckpointTest, ParameterGroupsThatDoNotFitAreErrors) {
  GroupedModel<float> src(1.0);
  src.steps(2);
  save_checkpoint<float>(path("g.npz"), src.m.params(), &src.opt, {"g", 1, 1});
  const std::string grouped = slurp(path("g.npz"));
  const std::string where = "load_checkpoint: " + path("g.npz") + ": ";
  Model<float> m(7.0, 2, 2);
  const Tensor<float> before = m.w.value;
  auto error = [&](Optimizer<float>& opt, const std::string& file = "g.npz") {
    try {
      load_checkpoint<float>(path(file), m.params(), &opt);
    } catch (const Error& e) {
      expect_equal(m.w.value, before);
      EXPECT_EQ(opt.steps(), 0);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const AdamOptions o = GroupedModel<float>::options();
  AdamW<float> one(m.params(), o);
  EXPECT_EQ(error(one), where + "the saved AdamW has 2 parameter groups (1 + 1 parameters), this one has 1 parameter "
                                "group (2 parameters)");
  AdamW<float> sizes({{&m.w, &m.b}, std::vector<Parameter<float>*>{}}, o);
  EXPECT_EQ(error(sizes), where + "the saved AdamW has 2 parameter groups (1 + 1 parameters), this one has 2 "
                                  "parameter groups (2 + 0 parameters)");
  AdamW<float> three({{&m.w}, {&m.b}, std::vector<Parameter<float>*>{}}, o);
  EXPECT_THAT(error(three), HasSubstr("this one has 3 parameter groups (1 + 1 + 0 parameters)"));
  AdamW<float> swapped({{&m.b}, {&m.w}}, o);
  EXPECT_THAT(error(swapped), HasSubstr("AdamW's parameter 0 is 'W' in the checkpoint but 'b' here"));
  small_sgd_checkpoint(path("one.npz"));  // version 1, one group
  SGD<float> two({{&m.w}, {&m.b}}, sgd_opts(0.1, 0.9));
  EXPECT_EQ(error(two, "one.npz"), "load_checkpoint: " + path("one.npz") + ": the saved SGD has 1 parameter group (2 "
                                   "parameters), this one has 2 parameter groups (1 + 1 parameters)");
  AdamW<float> fits({{&m.w}, {&m.b}}, o);  // and the right structure loads
  load_checkpoint<float>(path("g.npz"), m.params(), &fits);
  EXPECT_EQ(fits.lr(1), 0.2);
  EXPECT_EQ(fits.steps(), 2);

  // Consistent edits of a version 3 file (CRCs and checksum right again).
  const std::vector<NpzEntry> es = entries_of(grouped);
  ASSERT_EQ(es[8].name, "optim/groups");
  ASSERT_EQ(es[10].name, "optim/lr");
  AdamW<float> target({{&m.w}, {&m.b}}, o);
  auto edited = [&](std::vector<NpzEntry> e) {
    put_file(path("edit.npz"), rezip(std::move(e)));
    try {
      load_checkpoint<float>(path("edit.npz"), m.params(), &target);
    } catch (const Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  auto with = [&](std::size_t k, NpzEntry entry) {
    std::vector<NpzEntry> e = es;
    e[k] = std::move(entry);
    return e;
  };
  put_file(path("same.npz"), rezip(es));  // the helper itself is right: the unedited entries load
  AdamW<float> check({{&m.w}, {&m.b}}, o);
  load_checkpoint<float>(path("same.npz"), m.params(), &check);
  EXPECT_EQ(check.steps(), 2);
  EXPECT_THAT(edited(with(8, int64_entry("optim/groups", {1, 0}))),
              HasSubstr(": the parameter groups hold 1 parameters but the optimizer has 2"));
  EXPECT_THAT(edited(with(8, int64_entry("optim/groups", {1, 2}))),
              HasSubstr(": the parameter groups hold more than the optimizer's 2 parameters"));
  EXPECT_THAT(edited(with(8, int64_entry("optim/groups", {-1, 3}))), HasSubstr(": parameter group 0 has -1 parameters"));
  EXPECT_THAT(edited(with(8, int64_entry("optim/groups", {2}))),
              HasSubstr(": a version 3 checkpoint with 1 parameter group (one group is saved as version 1 or 2)"));
  EXPECT_THAT(edited(with(8, int64_entry("optim/groups", {1, 1, 0}))),
              HasSubstr(": entry 'optim/lr' holds 2 learning rates for 3 parameter groups"));
  EXPECT_THAT(edited(with(10, {"optim/lr", npy_entry_bytes(to_npy(Tensor<double>(xt::xarray<double>(0.1))))})),
              HasSubstr(": entry 'optim/lr' is <f8 of shape (), expected <f8 of rank 1"));
  EXPECT_THAT(edited(with(10, {"optim/lr", npy_entry_bytes(to_npy(Tensor<double>{0.1, -1}))})),
              HasSubstr(": invalid learning rate -1 of parameter group 1"));
  std::vector<NpzEntry> no_optimizer(es.begin(), es.begin() + 6);  // header, meta, params
  EXPECT_THAT(edited(no_optimizer), HasSubstr(": a version 3 checkpoint without optimizer parameter groups"));
  std::vector<NpzEntry> version2 = es;
  version2[0].bytes[128 + 8] = 2;
  EXPECT_THAT(edited(version2), HasSubstr(": a version 2 checkpoint without series"));
  EXPECT_EQ(target.steps(), 0);  // none of them loaded anything
  expect_equal(m.w.value, src.m.w.value);  // (the one good load above)
}

}  // namespace
}  // namespace tapegrad
