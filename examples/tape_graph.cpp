// tape_graph: what the tape records. A 2-layer MLP on 4 examples with the hinge
// loss is recorded on a tape; every record is printed (id, op, shape, inputs),
// and --out FILE writes the graph as Graphviz DOT (plus FILE's .svg beside it
// when `dot` is on PATH). --composed records the loss from elementary ops
// instead of the fused op, so the graph shows what the fused op saves. --html FILE
// writes one self-contained page of the tape (support/html_graph.hpp): the graph as
// inline SVG, and each record's statistics, kinks and ties when its node is clicked.
//
//   tape_graph --out graph.dot            # then open graph.svg
//   tape_graph --html tape.html           # open it in a browser, offline
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "support/cli.hpp"
#include "support/html_graph.hpp"
#include "support/json.hpp"
#include "support/training.hpp"

extern char** environ;

using namespace tapegrad;

namespace {

const char* const kSynopsis =
    "Records a 2-layer ReLU network with the hinge loss on a tape, prints every record\n"
    "(id, op, shape, inputs) and writes the graph as Graphviz DOT with --out FILE\n"
    "(and FILE with .svg when Graphviz's dot is on PATH), or as one self-contained HTML\n"
    "page with --html FILE (inline SVG; click a node for its value and gradient\n"
    "statistics, kinks and ties).";

struct Settings {
  std::int64_t examples = 4, features = 6, hidden = 5, classes = 3, seed = 0;
  std::string loss = "weston-watkins", out, html;
  bool composed = false;
};

std::string label_of(const Tape<float>& tape, std::uint32_t id) {
  const Record<float>& r = tape.record(id);
  std::string s = r.op;
  if (r.param && !r.param->name.empty()) s += " " + r.param->name;
  return s;
}

std::string inputs_of(const Record<float>& r) {
  std::string s;
  for (std::size_t k = 0; k < r.n_inputs; ++k) s += (k ? ", #" : "#") + std::to_string(r.inputs[k]);
  return s;
}

void print_records(const Tape<float>& tape) {
  std::printf("%-4s %-16s %-10s %-14s %s\n", "id", "op", "shape", "inputs", "needs grad");
  for (std::uint32_t id = 0; id < tape.size(); ++id) {
    const Record<float>& r = tape.record(id);
    std::printf("#%-3u %-16s %-10s %-14s %s\n", id, label_of(tape, id).c_str(),
                shape_str(tape.value_of(id).shape()).c_str(), inputs_of(r).c_str(), r.requires_grad ? "yes" : "no");
  }
}

// A DOT string literal: quotes and backslashes escaped, newlines as DOT's \n.
std::string dot_string(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '\n') {
      out += "\\n";
    } else {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
  }
  return out + "\"";
}

// Parameters are blue boxes, constants grey boxes, ops ellipses; records no
// parameter depends on are dashed (backward skips them); the loss is doubled.
std::string to_dot(const Tape<float>& tape, std::uint32_t loss_id) {
  std::string dot = "digraph tape {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  for (std::uint32_t id = 0; id < tape.size(); ++id) {
    const Record<float>& r = tape.record(id);
    const std::string text = "#" + std::to_string(id) + " " + label_of(tape, id) + "\n" +
                             shape_str(tape.value_of(id).shape());
    std::string style;
    if (r.param)
      style = "shape=box, style=filled, fillcolor=\"#cfe2f3\"";
    else if (r.n_inputs == 0)
      style = "shape=box, style=filled, fillcolor=\"#eeeeee\"";
    else
      style = std::string("shape=") + "ellipse" + (id == loss_id ? ", peripheries=2" : "") +
              (r.requires_grad ? "" : ", style=dashed");
    dot += "  n" + std::to_string(id) + " [label=" + dot_string(text) + ", " + style + "];\n";
    for (std::size_t k = 0; k < r.n_inputs; ++k)
      dot += "  n" + std::to_string(r.inputs[k]) + " -> n" + std::to_string(id) + ";\n";
  }
  return dot + "}\n";
}

// The absolute path of `dot` on PATH, or "" when it is not there.
std::string find_dot() {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::string dirs = path;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/dot";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Runs `dot -Tsvg in -o out`; true when it exited 0.
bool run_dot(const std::string& dot, const std::string& in, const std::string& out) {
  std::vector<std::string> args = {dot, "-Tsvg", in, "-o", out};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, dot.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The fused hinge's kinks and ties, which need the labels (the page cannot read them
// from the record): margins z = (s_j − s_y) + Δ exactly 0, computed as the kernels do;
// Crammer–Singer's rows whose largest wrong score is shared.
examples::NodeCounts hinge_counts(const Tensor<float>& s, const IndexTensor& y, const HingeOptions& o) {
  examples::NodeCounts c{0, 0, "", ""};
  const float delta = static_cast<float>(o.margin);
  for (std::size_t i = 0; i < s.shape()[0]; ++i) {
    const auto yi = static_cast<std::size_t>(y(i));
    float best = -INFINITY;
    std::size_t at_best = 0;
    for (std::size_t j = 0; j < s.shape()[1]; ++j) {
      if (j == yi) continue;
      if (o.kind == HingeKind::weston_watkins) c.kinks += (s(i, j) - s(i, yi)) + delta == 0.0f;
      at_best = s(i, j) > best ? 1 : at_best + (s(i, j) == best);
      best = std::max(best, s(i, j));
    }
    if (o.kind == HingeKind::crammer_singer) {
      c.kinks += (best - s(i, yi)) + delta == 0.0f;
      c.ties += at_best > 1;
    }
  }
  c.kinks_what = "margins (s_j - s_y) + 1 exactly 0, from the scores and labels: no loss, no gradient";
  c.ties_what = o.kind == HingeKind::weston_watkins ? "Weston-Watkins takes no max: no ties"
                                                   : "rows whose largest wrong-class score is shared (split evenly)";
  return c;
}

int run(const Settings& s) {
  const auto n = static_cast<std::size_t>(s.examples), d = static_cast<std::size_t>(s.features),
             h = static_cast<std::size_t>(s.hidden), c = static_cast<std::size_t>(s.classes);
  const auto seed = static_cast<std::uint64_t>(s.seed);
  const Tensor<float> x = examples::normal_tensor({n, d}, 1.0, seed);
  IndexTensor y = IndexTensor::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) y(i) = static_cast<std::int64_t>(i % c);
  Parameter<float> w1(examples::normal_tensor({d, h}, std::sqrt(2.0 / static_cast<double>(d)), seed + 1), "W1");
  Parameter<float> b1(Tensor<float>(xt::zeros<float>({h})), "b1");
  Parameter<float> w2(examples::normal_tensor({h, c}, std::sqrt(2.0 / static_cast<double>(h)), seed + 2), "W2");
  Parameter<float> b2(Tensor<float>(xt::zeros<float>({c})), "b2");

  HingeOptions o;
  o.kind = s.loss == "crammer-singer" ? HingeKind::crammer_singer : HingeKind::weston_watkins;
  Tape<float> tape;
  // One statement per leaf, so records appear in reading order (the order in which
  // C++ evaluates the operands of one expression is unspecified).
  const Var<float> xv = tape.constant(x);
  const Var<float> w1v = tape.watch(w1);
  const Var<float> b1v = tape.watch(b1);
  const Var<float> hidden = relu(matmul(xv, w1v) + b1v);
  const Var<float> w2v = tape.watch(w2);
  const Var<float> b2v = tape.watch(b2);
  const Var<float> scores = matmul(hidden, w2v) + b2v;
  const Var<float> loss = s.composed ? multiclass_hinge_composed(scores, y, o) : multiclass_hinge(scores, y, o);
  tape.backward(loss);

  std::printf("scores = relu(X*W1 + b1)*W2 + b2, X %s, %s hinge (%s): loss %.6f, %zu records\n\n",
              shape_str(x.shape()).c_str(), s.loss.c_str(), s.composed ? "composed" : "fused", tape.value(loss)(),
              tape.size());
  print_records(tape);
  std::printf("\nbackward() swept these records in reverse and left dL/dW1 %s, dL/db1 %s, dL/dW2 %s, dL/db2 %s\n",
              shape_str(w1.grad.shape()).c_str(), shape_str(b1.grad.shape()).c_str(),
              shape_str(w2.grad.shape()).c_str(), shape_str(b2.grad.shape()).c_str());

  if (!s.html.empty()) {
    examples::HtmlGraphOptions page;
    page.title = std::string("tape_graph: ") + (s.composed ? "composed " : "fused ") + s.loss + " hinge";
    page.caption = "scores = relu(X*W1 + b1)*W2 + b2, X " + shape_str(x.shape()) + ", loss " +
                   std::to_string(tape.value(loss)()) + ", " + std::to_string(tape.size()) + " records";
    page.loss_id = loss.id();
    if (!s.composed) page.counts[loss.id()] = hinge_counts(tape.value(scores), y, o);
    examples::write_html_graph(s.html, tape, page);
    std::printf("wrote %s\n", s.html.c_str());
  }
  if (!s.out.empty()) {
    examples::write_file_atomic(s.out, to_dot(tape, loss.id()));
    std::printf("wrote %s\n", s.out.c_str());
    const std::string dot = find_dot();
    if (dot.empty()) {
      std::printf("(Graphviz 'dot' is not on PATH: no SVG; apt-get install graphviz)\n");
    } else {
      const std::string svg = std::filesystem::path(s.out).replace_extension(".svg").string();
      if (svg == s.out) throw std::runtime_error(s.out + ": name the DOT file something other than .svg");
      if (!run_dot(dot, s.out, svg)) throw std::runtime_error(dot + " -Tsvg " + s.out + " failed");
      std::printf("wrote %s\n", svg.c_str());
    }
  }
  return 0;
}

void add_options(examples::ArgParser& args, Settings* s) {
  args.add_string("--out", &s->out, "FILE", "write the graph as Graphviz DOT");
  args.add_string("--html", &s->html, "FILE", "write the tape as one self-contained HTML page");
  args.add_flag("--composed", &s->composed, "record the loss from elementary ops (the composed hinge)");
  args.add_string("--loss", &s->loss, "", "hinge form", {"weston-watkins", "crammer-singer"});
  args.add_int("--examples", &s->examples, "rows of X", 1, 64);
  args.add_int("--features", &s->features, "columns of X", 1, 64);
  args.add_int("--hidden", &s->hidden, "hidden units", 1, 64);
  args.add_int("--classes", &s->classes, "classes", 2, 64);
  args.add_int("--seed", &s->seed, "seed of X and the weights", 0, INT64_MAX);
}

}  // namespace

int main(int argc, char** argv) {
  return examples::tool_main("tape_graph", kSynopsis, argc, argv, add_options, run);
}
