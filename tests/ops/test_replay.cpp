// Every op's replay (Record::replay, ops/replay.hpp): each entry of the op registry is
// recorded in float and in double from its smooth generated cases, backward runs with
// a random upstream gradient, and audit_step checks every record against central
// differences of its replay. A replay that re-records the wrong op, misreads its
// saved attributes or returns another shape fails here; so does an op pushed without
// a replay (an inconclusive "no replay" row).
#include <random>
#include <type_traits>
#include <set>

#include <tapegrad/core/audit.hpp>
#include <tapegrad/losses/registry.hpp>
#include <tapegrad/tapegrad.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

template <class T>
Tensor<T> cast(const Tensor<double>& d) {
  Tensor<T> t = Tensor<T>::from_shape(d.shape());
  std::copy(d.begin(), d.end(), t.begin());
  return t;
}

// The rows of audits of `entry` in dtype T over its smooth cases; ops seen go to `ops`.
template <class T>
std::vector<std::string> audit_entry(const OpEntry& entry, OpFn<T> f, std::set<std::string>& ops) {
  std::vector<std::string> problems;
  std::uint64_t seed = 1;
  for (const OpCase& c : entry.cases(7, CaseStyle::smooth)) {
    // layer_norm over 2 values outputs ±1 whatever x is: dx is a cancellation to ε/σ²
    // of its terms, which float keeps only as round-off (2.5% of a 4e-6 gradient);
    // double checks it
    if (std::is_same_v<T, float> && entry.name.rfind("layer_norm", 0) == 0 && c.label.find("over (2)") != std::string::npos)
      continue;
    std::vector<Parameter<T>> params;
    params.reserve(c.inputs.size());  // the tape holds pointers to them
    for (const Tensor<double>& x : c.inputs) params.emplace_back(cast<T>(x));
    Tape<T> tape;
    std::vector<Var<T>> vars;
    for (Parameter<T>& p : params) vars.push_back(tape.watch(p));
    const Var<T> out = f(tape, vars, c.args);
    const Tensor<T>& v = tape.value(out);
    if (v.size() == 0 || !tape.record(out.id()).backward) continue;  // empty, or x itself (dropout with p = 0)
    std::mt19937_64 rng(seed++);
    std::uniform_real_distribution<double> u(0.5, 1.5);
    Tensor<T> w = Tensor<T>::from_shape(v.shape());  // a random upstream gradient
    for (T& e : w) e = static_cast<T>((rng() & 1) ? u(rng) : -u(rng));
    tape.backward(out, w);
    AuditOptions o;
    o.samples = 6;
    const AuditReport rep = audit_step(tape, o);
    for (const AuditRow& r : rep.rows) {
      ops.insert(r.op);
      if (r.verdict == AuditVerdict::fail || r.note == "no replay")
        problems.push_back(entry.name + " [" + c.label + "]:\n" + rep.table());
    }
  }
  return problems;
}

TEST(Replay, EveryRegisteredOpAuditsInFloatAndDouble) {
  std::set<std::string> ops;
  std::size_t entries = 0;
  for (const OpEntry& e : op_registry()) {
    if (!e.unavailable.empty()) continue;
    ++entries;
    if (e.f32)
      for (const std::string& p : audit_entry<float>(e, e.f32, ops)) ADD_FAILURE() << "float " << p;
    if (e.f64)
      for (const std::string& p : audit_entry<double>(e, e.f64, ops)) ADD_FAILURE() << "double " << p;
  }
  EXPECT_GT(entries, 50u);
  // every push site's op was audited through some entry
  for (const char* op :
       {"relu", "leaky_relu", "tanh", "sigmoid", "add", "sub", "mul", "div", "add_scalar", "mul_scalar",
        "div_scalar", "rsub_scalar", "rdiv_scalar", "neg", "exp", "log", "square", "maximum", "minimum", "where",
        "abs", "sqrt", "pow", "clamp", "gather", "matmul", "max_pool2d", "avg_pool2d", "sum", "mean", "max", "min",
        "reshape", "flatten", "squeeze", "unsqueeze", "broadcast_to", "transpose", "concat", "slice", "logsumexp",
        "softmax", "log_softmax", "conv2d", "dropout", "batch_norm", "layer_norm", "multiclass_hinge",
        "multiclass_hinge_reference", "softmax_cross_entropy", "softmax_cross_entropy_reference"})
    EXPECT_TRUE(ops.count(op)) << op << " was never audited";
}

// The training tools' models: an MLP and a CNN (conv, batch norm in training and in
// eval mode, pooling, dropout) into both hinge forms and softmax cross-entropy.
TEST(Replay, TrainingModelsWithEveryLossAudit) {
  nn::Generator gen(5);
  nn::Sequential<float> cnn{nn::Conv2d<float>(1, 3, 3, gen, Conv2dOptions().padding(1)),
                            nn::BatchNorm2d<float>(3),
                            nn::ReLU<float>(),
                            nn::MaxPool2d<float>(2),
                            nn::Flatten<float>(),
                            nn::Linear<float>(3 * 4 * 4, 6, gen),
                            nn::Tanh<float>(),
                            nn::Dropout<float>(0.3, gen),
                            nn::Linear<float>(6, 4, gen)};
  const Tensor<float> x = cast<float>(testing::random_tensor({6, 1, 8, 8}, 21));
  const IndexTensor y = testing::random_labels(6, 4, 22);
  for (bool training : {true, false}) {
    if (training) cnn.train();
    else cnn.eval();
    for (int loss = 0; loss < 3; ++loss) {
      Tape<float> t;
      const Var<float> scores = cnn(t.borrow(x));
      HingeOptions h;
      h.kind = loss == 0 ? HingeKind::weston_watkins : HingeKind::crammer_singer;
      t.backward(loss == 2 ? softmax_cross_entropy(scores, y) : multiclass_hinge(scores, y, h));
      const AuditReport rep = audit_step(t);
      EXPECT_TRUE(rep.passed()) << rep.table();
      for (const AuditRow& r : rep.rows) {
        EXPECT_NE(r.note, "no replay") << r.op;
        EXPECT_GT(r.checked + r.skipped_kinks, 0u) << r.op;
      }
      EXPECT_EQ(rep.rows.size(), training ? 12u : 11u) << rep.table();  // eval: no dropout
    }
  }
}

}  // namespace
}  // namespace tapegrad
