// audit_step: every record of a real float step checked against central differences
// of its double replay; a wrong backward is FAIL, an all-kink input inconclusive, and
// nothing the caller sees (gradients, the tape, a model's buffers, the next steps)
// changes.
#include <cstring>
#include <set>

#include <tapegrad/core/audit.hpp>
#include <tapegrad/tapegrad.hpp>
#include "support/support.hpp"

namespace tapegrad {
namespace {

using testing::error_of;

Tensor<float> random_float(const Shape& shape, std::uint64_t seed, double lo = -1, double hi = 1) {
  const Tensor<double> d = testing::random_tensor(shape, seed, lo, hi);
  Tensor<float> f = Tensor<float>::from_shape(shape);
  std::copy(d.begin(), d.end(), f.begin());
  return f;
}

const AuditRow& row_of(const AuditReport& rep, const std::string& op) {
  for (const AuditRow& r : rep.rows)
    if (r.op == op) return r;
  throw std::runtime_error("no row for " + op);
}

// y = 2x whose backward adds 3g: a deliberately broken op, with a correct replay.
Var<float> broken_double(const Var<float>& x) {
  Tape<float>& t = x.tape();
  Record<float>& r = t.push("broken_double", {x}, [](Tape<float>& t, Record<float>& r) {
    t.accumulate(r.inputs[0], 3.0f * r.grad);  // the bug: d(2x) = 2g
  }, [](const Record<float>&, Tape<double>&, const Var<double>* x) { return mul_scalar(x[0], 2.0); });
  xt::noalias(r.value) = 2.0f * t.value_of(x.id());
  return t.commit(r);
}

// The parameters' gradients, then every record gradient the last sweep left.
std::vector<Tensor<float>> gradients(const Tape<float>& t, const std::vector<Parameter<float>*>& params) {
  std::vector<Tensor<float>> g;
  for (const Parameter<float>* p : params) g.push_back(p->grad);
  for (std::uint32_t id = 0; id < t.size(); ++id)
    if (t.record(id).grad_live && !t.record(id).param) g.push_back(t.record(id).grad);
  return g;
}

::testing::AssertionResult same_bits(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " gradients, expected " << b.size();
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a[k].shape() != b[k].shape() || std::memcmp(a[k].data(), b[k].data(), a[k].size() * sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "gradient " << k << " changed";
  return ::testing::AssertionSuccess();
}

// A two-layer MLP step: relu(x·W1 + b1)·W2 + b2 into the Crammer–Singer hinge.
struct Mlp {
  Tensor<float> x = random_float({6, 5}, 1);
  IndexTensor y = testing::random_labels(6, 3, 2);
  Parameter<float> w1{random_float({5, 4}, 3), "w1"}, b1{random_float({4}, 4, -0.1, 0.1), "b1"};
  Parameter<float> w2{random_float({4, 3}, 5), "w2"}, b2{Tensor<float>(xt::zeros<float>({3})), "b2"};
  // shared: W1 and h each feed two records (an L2 term on W1, a penalty on h), so
  // their gradients are sums the audit must put back whole
  Var<float> loss(Tape<float>& t, bool broken = false, bool shared = false) {
    const Var<float> w = t.watch(w1);
    Var<float> h = relu(matmul(t.borrow(x), w) + t.watch(b1));
    if (broken) h = broken_double(h);
    HingeOptions o;
    o.kind = HingeKind::crammer_singer;
    const Var<float> l = multiclass_hinge(matmul(h, t.watch(w2)) + t.watch(b2), y, o);
    return shared ? l + sum(square(w)) * 1e-2f + mean(h) * 0.1f : l;
  }
};

TEST(Audit, EveryRecordOfACorrectStepPasses) {
  Mlp m;
  Tape<float> t;
  t.backward(m.loss(t));
  const AuditReport rep = audit_step(t);
  std::vector<std::string> ops;
  for (const AuditRow& r : rep.rows) ops.push_back(r.op);
  EXPECT_EQ(ops, (std::vector<std::string>{"matmul", "add", "relu", "matmul", "add", "multiclass_hinge"}));
  for (const AuditRow& r : rep.rows) {
    EXPECT_TRUE(r.verdict == AuditVerdict::exact || r.verdict == AuditVerdict::approx) << rep.table();
    EXPECT_GT(r.checked, 0u) << r.op;
  }
  EXPECT_TRUE(rep.passed());
  // matmul #3: x (6, 5) needs no gradient, so only W1's 20 elements, 8 of them sampled
  EXPECT_EQ(row_of(rep, "matmul").checked + row_of(rep, "matmul").skipped_kinks, 8u);
  EXPECT_EQ(row_of(rep, "matmul").inputs, (std::vector<Shape>{{6, 5}, {5, 4}}));
  EXPECT_EQ(row_of(rep, "matmul").output, (Shape{6, 4}));
  // the table has a header, one line per record and a summary
  const std::string table = rep.table();
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 8);
  EXPECT_NE(table.find("6 records: "), std::string::npos) << table;
  EXPECT_NE(table.find("(6, 5) (5, 4) -> (6, 4)"), std::string::npos) << table;
}

TEST(Audit, ABrokenBackwardIsReportedFail) {
  Mlp m;
  Tape<float> t;
  t.backward(m.loss(t, true));
  AuditOptions o;
  o.samples = 24;  // every element of h (6 × 4)
  const AuditReport rep = audit_step(t, o);
  const AuditRow& bad = row_of(rep, "broken_double");
  EXPECT_EQ(bad.verdict, AuditVerdict::fail) << rep.table();
  EXPECT_EQ(bad.checked, 24u);  // linear: no kink
  // analytic 3g against numeric 2g: a relative error of 1/3
  EXPECT_NEAR(bad.max_rel_error, 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(bad.worst_analytic, 1.5 * bad.worst_numeric, 1e-6 * std::abs(bad.worst_numeric));
  EXPECT_FALSE(rep.passed());
  EXPECT_EQ(rep.count(AuditVerdict::fail), 1u);  // the other records still pass
  EXPECT_NE(rep.table().find("worst: input 0"), std::string::npos);
}

TEST(Audit, EveryElementAtAKinkIsInconclusiveNeverPassed) {
  Parameter<float> p(Tensor<float>(xt::zeros<float>({2, 3})), "p");
  Tape<float> t;
  const Var<float> x = t.watch(p);
  t.backward(sum(relu(x) + x));  // + x: the loss depends on p whatever relu passes
  const AuditReport rep = audit_step(t);
  const AuditRow& r = row_of(rep, "relu");
  EXPECT_EQ(r.verdict, AuditVerdict::inconclusive);
  EXPECT_EQ(r.checked, 0u);
  EXPECT_EQ(r.skipped_kinks, 6u);
  EXPECT_EQ(r.note, "every element at a kink");
  EXPECT_TRUE(rep.passed());  // inconclusive is not a failure, and not counted as exact or approx
  EXPECT_EQ(rep.count(AuditVerdict::inconclusive), 1u);
}

TEST(Audit, ARecordWithoutReplayIsInconclusive) {
  Parameter<float> p(random_float({3}, 9), "p");
  Tape<float> t;
  const Var<float> x = t.watch(p);
  Record<float>& r = t.push("no_replay", {x}, [](Tape<float>& t, Record<float>& r) {
    t.accumulate(r.inputs[0], r.grad);
  }, nullptr);
  xt::noalias(r.value) = t.value(x);
  t.backward(sum(t.commit(r)));
  const AuditReport rep = audit_step(t);
  EXPECT_EQ(row_of(rep, "no_replay").verdict, AuditVerdict::inconclusive);
  EXPECT_EQ(row_of(rep, "no_replay").note, "no replay");
}

TEST(Audit, ADuplicatedInputGetsBothRolesGradient) {
  // y = x·x: the contribution to x is 2·x·g, and the replay perturbs x in both roles
  Parameter<double> p(Tensor<double>{1.5, -2.0, 0.25}, "p");
  Tape<double> t;
  const Var<double> x = t.watch(p);
  const Var<double> y = x * x;
  t.backward(sum(y));
  std::vector<Tensor<double>> c;
  t.backward_contribution(y.id(), c);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], (Tensor<double>{3.0, -4.0, 0.5}));
  EXPECT_EQ(c[1], c[0]);
  EXPECT_EQ(p.grad, (Tensor<double>{3.0, -4.0, 0.5}));  // restored
  const AuditReport rep = audit_step(t);
  EXPECT_EQ(row_of(rep, "mul").checked, 3u);
  EXPECT_NE(row_of(rep, "mul").verdict, AuditVerdict::fail) << rep.table();
}

TEST(Audit, LeavesGradientsTheTapeAndBuffersUnchanged) {
  nn::Generator gen(3);
  nn::Sequential<float> net{nn::Conv2d<float>(2, 3, 3, gen, Conv2dOptions().padding(1)), nn::BatchNorm2d<float>(3),
                            nn::ReLU<float>(), nn::Flatten<float>(), nn::Linear<float>(3 * 16, 4, gen)};
  net.train();
  const Tensor<float> x = random_float({5, 2, 4, 4}, 11);
  const IndexTensor y = testing::random_labels(5, 4, 12);
  Tape<float> t;
  const Var<float> scores = net(t.borrow(x));
  const Var<float> loss = softmax_cross_entropy(scores, y);
  t.backward(loss);
  const std::vector<Tensor<float>> before = gradients(t, net.parameters());
  std::vector<Tensor<float>> buffers;
  for (auto& [name, b] : net.named_buffers()) buffers.push_back(*b);
  const std::size_t size = t.size();
  const float* grad_data = net.parameters()[0]->grad.data();

  const AuditReport rep = audit_step(t);
  EXPECT_TRUE(rep.passed()) << rep.table();
  EXPECT_EQ(t.size(), size);
  EXPECT_TRUE(same_bits(gradients(t, net.parameters()), before));
  EXPECT_EQ(net.parameters()[0]->grad.data(), grad_data);  // the same buffer: an optimizer holding it sees no move
  std::size_t k = 0;
  for (auto& [name, b] : net.named_buffers()) EXPECT_EQ(*b, buffers[k++]) << name;  // running statistics untouched
  t.backward(loss);  // a second sweep still works and adds the same gradients again (up to the sums' order)
  const Tensor<float> twice = before[0] + before[0];
  EXPECT_TRUE(xt::allclose(net.parameters()[0]->grad, twice, 1e-5, 1e-7));
}

TEST(Audit, TrainingIsBitIdenticalWithAndWithoutTheAudit) {
  const auto train = [](bool audit) {
    Mlp m;
    SGDOptions so;
    so.lr = 0.1;
    so.momentum = 0.9;
    SGD<float> sgd({&m.w1, &m.b1, &m.w2, &m.b2}, so);
    Tape<float> t;
    for (int step = 0; step < 4; ++step) {
      sgd.zero_grad();
      t.clear();
      const Var<float> loss = m.loss(t, false, true);
      t.backward(loss);
      if (audit) {
        const std::vector<Tensor<float>> before = gradients(t, {&m.w1, &m.b1, &m.w2, &m.b2});
        EXPECT_TRUE(audit_step(t).passed());
        EXPECT_TRUE(same_bits(gradients(t, {&m.w1, &m.b1, &m.w2, &m.b2}), before));
      }
      sgd.step();
    }
    return std::vector<Tensor<float>>{m.w1.value, m.b1.value, m.w2.value, m.b2.value};
  };
  const auto plain = train(false), audited = train(true);
  for (std::size_t k = 0; k < plain.size(); ++k)
    EXPECT_EQ(std::memcmp(plain[k].data(), audited[k].data(), plain[k].size() * sizeof(float)), 0) << k;
}

TEST(Audit, Errors) {
  Mlp m;
  Tape<float> t;
  const Var<float> loss = m.loss(t);
  EXPECT_EQ(error_of([&] { audit_step(t); }),
            "audit_step: no record of the tape's 11 holds a gradient (call tape.backward(loss) first)");
  t.backward(loss);
  std::vector<Tensor<float>> c;
  EXPECT_EQ(error_of([&] { t.backward_contribution(0, c); }),
            "backward_contribution: record #0 (watch) has no backward the last sweep ran");
  EXPECT_EQ(error_of([&] { t.backward_contribution(11, c); }),
            "backward_contribution: id 11 is outside the tape's 11 records");
  AuditOptions o;
  o.samples = 0;
  EXPECT_EQ(error_of([&] { audit_step(t, o); }), "audit_step: samples must be at least 1");
  o = AuditOptions();
  o.step = 0;
  EXPECT_EQ(error_of([&] { audit_step(t, o); }), "audit_step: step must be positive and finite, got 0");
  o = AuditOptions();
  o.rtol = -1;
  EXPECT_EQ(error_of([&] { audit_step(t, o); }), "audit_step: tolerances must be non-negative, got atol 0.001, rtol -1");
  // a replay that returns another shape than its record's value
  Tape<float> u;
  Parameter<float> p(random_float({2, 2}, 4), "p");
  const Var<float> x = u.watch(p);
  Record<float>& r = u.push("bad_replay", {x}, [](Tape<float>& t, Record<float>& r) {
    t.accumulate(r.inputs[0], r.grad);
  }, [](const Record<float>&, Tape<double>&, const Var<double>* x) { return sum(x[0]); });
  xt::noalias(r.value) = u.value(x);
  u.backward(sum(u.commit(r)));
  EXPECT_EQ(error_of([&] { audit_step(u); }),
            "audit_step: the replay of record #1 (bad_replay) returned shape (), its value has shape (2, 2)");
}

}  // namespace
}  // namespace tapegrad
