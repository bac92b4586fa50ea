// backprop_by_hand: cs231n's two-layer net with the hinge loss, its backward written
// out by hand one intermediate at a time, and each hand gradient compared with the
// tape's gradient of the same intermediate (Karpathy's exact / approx / maxdiff).
//
//   X (N, D) → h = X·W1 + b1 → a = relu(h) → s = a·W2 + b2 → L = Weston–Watkins mean
//
// The forward is tape ops, so every intermediate is a Var and tape.grad(v) reads its
// dL/dv after backward. The backward below is plain xtensor, in reverse order, each
// line with its formula. Then batch norm's simplified backward, checked against the
// composed batch norm (elementary tape ops) and the fused one.
//
//   backprop_by_hand                       # double; every row exact or approx
//   backprop_by_hand --dtype float --seed 3
//   backprop_by_hand --integers            # integer data: kinks hit, every row exact
//   backprop_by_hand --mistake no-relu-mask  # a classic bug, and the rows it breaks
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>

#include <tapegrad/tapegrad.hpp>
#include "support/cli.hpp"
#include "support/training.hpp"

using namespace tapegrad;

namespace {

const char* const kSynopsis =
    "Records a 2-layer ReLU net with the Weston-Watkins hinge on a tape, writes its backward\n"
    "by hand (one intermediate at a time), and compares each hand gradient with the tape's in\n"
    "a table: exact (equal), approx (max |hand - tape| <= tol) and maxdiff. Then the same for\n"
    "batch norm's simplified backward against the composed and the fused batch norm.\n"
    "Exit 0 when every row is exact or approx, 1 when one is not, 2 on a bad option.";

struct Settings {
  std::int64_t examples = 8, features = 5, hidden = 6, classes = 4, seed = 0;
  std::string dtype = "double", mistake = "none";
  bool integers = false;
};

// approx: maxdiff ≤ rtol·max(1, max |tape|), a relative tolerance of the tensor's
// scale (not per element: a sum that cancels to ~0 still carries its terms' round-off).
template <class T>
constexpr double kRtol = std::is_same_v<T, double> ? 1e-10 : 1e-4;

struct Row {
  std::string name, shape, formula;
  bool exact = false, approx = false;
  double maxdiff = 0;
};

template <class T>
Row compare(const std::string& name, const std::string& formula, const Tensor<T>& hand, const Tensor<T>& tape) {
  Row r{name, shape_str(tape.shape()), formula};
  if (hand.shape() != tape.shape()) {  // a wrong shape is never approx
    r.shape = shape_str(hand.shape()) + " vs " + r.shape;
    r.maxdiff = INFINITY;
    return r;
  }
  double scale = 1;
  for (std::size_t k = 0; k < hand.size(); ++k) {
    const double d = std::abs(static_cast<double>(hand.data()[k]) - static_cast<double>(tape.data()[k]));
    r.maxdiff = std::isnan(d) || d > r.maxdiff ? d : r.maxdiff;  // NaN sticks
    scale = std::max(scale, std::abs(static_cast<double>(tape.data()[k])));
  }
  r.exact = r.maxdiff == 0;
  r.approx = r.maxdiff <= kRtol<T> * scale;
  return r;
}

// Random N(0, stddev²) entries, rounded to integers with --integers (so every sum
// is exact in any order, and relu inputs and margins land exactly on 0).
template <class T>
Tensor<T> draw(const Shape& shape, double stddev, std::uint64_t seed, bool integers) {
  Tensor<T> t = xt::cast<T>(examples::normal_tensor(shape, integers ? 1.5 : stddev, seed));
  if (integers) t = xt::round(t);
  return t;
}

template <class T>
std::vector<Row> mlp_rows(const Settings& s) {
  const auto n = static_cast<std::size_t>(s.examples), d = static_cast<std::size_t>(s.features),
             hd = static_cast<std::size_t>(s.hidden), c = static_cast<std::size_t>(s.classes);
  const auto seed = static_cast<std::uint64_t>(s.seed) * 16;
  const Tensor<T> X = draw<T>({n, d}, 1.0, seed, s.integers);
  IndexTensor y = IndexTensor::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) y(i) = static_cast<std::int64_t>((i + s.seed) % c);
  Parameter<T> W1(draw<T>({d, hd}, std::sqrt(2.0 / d), seed + 1, s.integers), "W1");
  Parameter<T> b1(draw<T>({hd}, 0.1, seed + 2, s.integers), "b1");
  Parameter<T> W2(draw<T>({hd, c}, std::sqrt(2.0 / hd), seed + 3, s.integers), "W2");
  Parameter<T> b2(draw<T>({c}, 0.1, seed + 4, s.integers), "b2");

  // ---- forward, on the tape: every intermediate is a Var ----
  Tape<T> tape;
  const Var<T> xv = tape.constant(X);
  const Var<T> w1 = tape.watch(W1);
  const Var<T> bv1 = tape.watch(b1);
  const Var<T> h = matmul(xv, w1) + bv1;  // (N, H)
  const Var<T> a = relu(h);
  const Var<T> w2 = tape.watch(W2);
  const Var<T> bv2 = tape.watch(b2);
  const Var<T> sc = matmul(a, w2) + bv2;  // (N, C)
  const Var<T> loss = multiclass_hinge(sc, y);  // Weston–Watkins, Δ = 1, mean over rows
  tape.backward(loss);

  // ---- backward, by hand, from the values alone ----
  const Tensor<T>& S = tape.value(sc);
  const Tensor<T>& Hv = tape.value(h);
  const Tensor<T>& A = tape.value(a);
  // L = (1/N) Σ_i Σ_{j≠y_i} max(0, m_ij), the margins m_ij = s_ij − s_iy_i + 1.
  // dL/ds_ij = [m_ij > 0]/N for j ≠ y_i; dL/ds_iy_i = −Σ_{j≠y_i} [m_ij > 0]/N
  // (a margin exactly 0 adds nothing: the tape's convention, and cs231n's).
  const T inv_n = s.mistake == "no-mean" ? T(1) : T(1) / static_cast<T>(n);  // the bug: forgetting 1/N
  Tensor<T> ds = xt::zeros<T>(S.shape());
  T L = 0;
  std::size_t kinks_margin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto yi = static_cast<std::size_t>(y(i));
    for (std::size_t j = 0; j < c; ++j) {
      if (j == yi) continue;
      const T m = (S(i, j) - S(i, yi)) + T(1);
      kinks_margin += m == T(0);
      if (m > T(0)) {
        L += m;
        ds(i, j) += inv_n;
        ds(i, yi) -= inv_n;
      }
    }
  }
  L /= static_cast<T>(n);
  const Tensor<T> dW2 = xt::linalg::dot(xt::transpose(A), ds);  // dW2 = aᵀ·ds
  const Tensor<T> db2 = xt::sum(ds, {0});                        // db2 = Σ_i ds_i
  const Tensor<T> da = xt::linalg::dot(ds, xt::transpose(W2.value));  // da = ds·W2ᵀ
  // dh = da ⊙ [h > 0] (relu'(0) = 0); the bug: passing da straight through.
  const Tensor<T> dh = s.mistake == "no-relu-mask" ? da : Tensor<T>(da * xt::cast<T>(Hv > T(0)));
  const Tensor<T> dW1 = xt::linalg::dot(xt::transpose(X), dh);  // dW1 = Xᵀ·dh
  const Tensor<T> db1 = xt::sum(dh, {0});                        // db1 = Σ_i dh_i
  std::size_t kinks_relu = 0;
  for (T v : Hv) kinks_relu += v == T(0);

  std::printf("two-layer net: X %s -> h = X.W1 + b1 %s -> a = relu(h) -> s = a.W2 + b2 %s -> Weston-Watkins mean\n",
              shape_str(X.shape()).c_str(), shape_str(Hv.shape()).c_str(), shape_str(S.shape()).c_str());
  std::printf("loss %.10g; kinks exactly at 0 (both sides give them gradient 0): relu inputs %zu, margins %zu\n\n",
              static_cast<double>(tape.value(loss)()), kinks_relu, kinks_margin);
  const Tensor<T> Lt = tape.value(loss)();  // 0-d tensors
  const Tensor<T> Lh = L;
  return {compare("L", "(1/N) sum_i sum_{j!=y_i} max(0, s_ij - s_iy + 1)", Lh, Lt),
          compare("ds", "[m_ij > 0]/N; ds_iy = -sum_j [m_ij > 0]/N", ds, tape.grad(sc)),
          compare("dW2", "a^T . ds", dW2, W2.grad),
          compare("db2", "sum_i ds_i", db2, b2.grad),
          compare("da", "ds . W2^T", da, tape.grad(a)),
          compare("dh", "da * [h > 0]", dh, tape.grad(h)),
          compare("dW1", "X^T . dh", dW1, W1.grad),
          compare("db1", "sum_i dh_i", db1, b1.grad)};
}

// dx, dγ, dβ of y = batch_norm(x, γ, β) (training, statistics over the N rows) with
// loss = Σ y·G, so dL/dy = G; on the composed or the fused op.
template <class T>
std::vector<Tensor<T>> bn_tape(const Tensor<T>& X, const Tensor<T>& gamma, const Tensor<T>& beta,
                               const Tensor<T>& G, bool composed) {
  Parameter<T> x(X, "x"), g(gamma, "gamma"), b(beta, "beta");
  Tape<T> tape;
  const Var<T> xv = tape.watch(x);
  const Var<T> gv = tape.watch(g);
  const Var<T> bv = tape.watch(b);
  const Var<T> yv = composed ? batch_norm_composed(xv, gv, bv, nullptr, nullptr, true)
                             : batch_norm(xv, gv, bv, nullptr, nullptr, true);
  tape.backward(sum(yv * tape.constant(G)));
  return {x.grad, g.grad, b.grad};
}

template <class T>
std::vector<Row> bn_rows(const Settings& s) {
  const auto n = static_cast<std::size_t>(s.examples), c = static_cast<std::size_t>(s.hidden);
  const auto seed = static_cast<std::uint64_t>(s.seed) * 16 + 8;
  const Tensor<T> X = draw<T>({n, c}, 1.0, seed, false) + T(0.5);
  const Tensor<T> gamma = draw<T>({c}, 1.0, seed + 1, false), beta = draw<T>({c}, 1.0, seed + 2, false);
  const Tensor<T> G = draw<T>({n, c}, 1.0, seed + 3, false);  // the upstream dy

  // ---- batch norm's backward, by hand: the simplified closed form ----
  const T N = static_cast<T>(n), eps = T(1e-5);
  const Tensor<T> mu = xt::mean(X, {0});                                   // μ = (1/N) Σ_i x_i
  const Tensor<T> var = xt::mean(xt::square(X - mu), {0});                 // σ² = (1/N) Σ_i (x_i − μ)², biased
  const Tensor<T> inv_sigma = T(1) / xt::sqrt(var + eps);                  // σ⁻¹ = 1/√(σ² + ε)
  const Tensor<T> xhat = (X - mu) * inv_sigma;                             // x̂ = (x − μ)/σ
  const Tensor<T> dbeta = xt::sum(G, {0});                                 // dβ = Σ_i dy_i
  const Tensor<T> dgamma = xt::sum(G * xhat, {0});                         // dγ = Σ_i dy_i·x̂_i
  // dx = (1/N)·γ·σ⁻¹·(N·dy − Σ_i dy_i − x̂·Σ_i dy_i·x̂_i); the bug: dropping the x̂ term.
  const T xhat_term = s.mistake == "bn-no-xhat" ? T(0) : T(1);
  const Tensor<T> dx = (gamma * inv_sigma / N) * (N * G - dbeta - xhat_term * xhat * dgamma);

  std::printf("\nbatch norm (training): x %s, y = gamma * (x - mu)/sqrt(var + 1e-5) + beta, loss = sum(y * G)\n\n",
              shape_str(X.shape()).c_str());
  const char* fx = "(1/N) gamma/sigma (N dy - sum dy - xhat sum(dy xhat))";
  std::vector<Row> rows;
  for (bool composed : {true, false}) {
    const std::vector<Tensor<T>> t = bn_tape(X, gamma, beta, G, composed);
    const std::string on = composed ? " composed" : " fused";
    rows.push_back(compare("dx" + on, fx, dx, t[0]));
    rows.push_back(compare("dgamma" + on, "sum_i dy_i xhat_i", dgamma, t[1]));
    rows.push_back(compare("dbeta" + on, "sum_i dy_i", dbeta, t[2]));
  }
  return rows;
}

void print_table(const std::vector<Row>& rows, double rtol) {
  std::printf("%-16s %-9s %-6s %-7s %-10s %s\n", "gradient", "shape", "exact", "approx", "maxdiff", "by hand");
  for (const Row& r : rows)
    std::printf("%-16s %-9s %-6s %-7s %-10.3g %s\n", r.name.c_str(), r.shape.c_str(), r.exact ? "yes" : "no",
                r.approx ? "yes" : "no", r.maxdiff, r.formula.c_str());
  std::printf("(approx: maxdiff <= %g * max(1, max |tape|))\n", rtol);
}

template <class T>
int run_typed(const Settings& s) {
  std::printf("backprop_by_hand in %s, seed %lld%s\n\n", s.dtype.c_str(), static_cast<long long>(s.seed),
              s.mistake == "none" ? "" : (", with the mistake " + s.mistake).c_str());
  const std::vector<Row> mlp = mlp_rows<T>(s);
  print_table(mlp, kRtol<T>);
  const std::vector<Row> bn = bn_rows<T>(s);
  print_table(bn, kRtol<T>);
  std::string wrong;
  std::size_t count = 0, total = 0;
  for (const auto* rows : {&mlp, &bn})
    for (const Row& r : *rows) {
      ++total;
      if (!r.approx) wrong += (count++ ? ", " : "") + r.name;
    }
  std::fflush(stdout);
  if (count)
    throw std::runtime_error(std::to_string(count) + " of " + std::to_string(total) +
                             " hand gradients differ from the tape's: " + wrong);
  std::printf("\nall %zu hand gradients agree with the tape's\n", total);
  return 0;
}

int run(const Settings& s) { return s.dtype == "float" ? run_typed<float>(s) : run_typed<double>(s); }

void add_options(examples::ArgParser& args, Settings* s) {
  args.add_string("--dtype", &s->dtype, "", "precision of the tape and the hand backward", {"double", "float"});
  args.add_int("--seed", &s->seed, "seed of the data and the weights", 0, 1000000);
  args.add_int("--examples", &s->examples, "rows N of X (and of batch norm's x)", 2, 256);
  args.add_int("--features", &s->features, "columns D of X", 1, 256);
  args.add_int("--hidden", &s->hidden, "hidden units H (and batch norm's channels)", 1, 256);
  args.add_int("--classes", &s->classes, "classes C", 2, 64);
  args.add_flag("--integers", &s->integers, "round the net's data and weights to integers (exact sums, kinks hit)");
  args.add_string("--mistake", &s->mistake, "", "put a classic bug into the hand backward",
                  {"none", "no-mean", "no-relu-mask", "bn-no-xhat"});
}

}  // namespace

int main(int argc, char** argv) {
  return examples::tool_main("backprop_by_hand", kSynopsis, argc, argv, add_options, run);
}
