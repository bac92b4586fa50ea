// The tape as a page: statistics, the SVG layout and the page here; kinks and ties
// in html_graph_counts.cpp, the page's fixed CSS and script in html_graph_page.cpp.
#include "support/html_graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "support/json.hpp"

namespace examples {

using tapegrad::Record;
using tapegrad::Shape;
using tapegrad::Tape;
using tapegrad::Tensor;

// The page's fixed parts (html_graph_page.cpp).
const char* html_graph_style();
const char* html_graph_script();

namespace {

// {"n":…,"min":…,"max":…,"mean":…,"norm":…,"nonfinite":…} in double; NaN and
// infinities are JSON strings.
std::string number(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  return format_number(v);
}

template <class T>
std::string stats_json(const Tensor<T>& t) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0, sq = 0;
  std::size_t nonfinite = 0;
  for (T e : t) {
    const double v = static_cast<double>(e);
    if (!std::isfinite(v)) ++nonfinite;
    lo = std::min(lo, v), hi = std::max(hi, v), sum += v, sq += v * v;
  }
  if (t.size() == 0) return "{\"n\":0}";
  const double n = static_cast<double>(t.size());
  return "{\"n\":" + std::to_string(t.size()) + ",\"min\":" + number(lo) + ",\"max\":" + number(hi) +
         ",\"mean\":" + number(sum / n) + ",\"norm\":" + number(std::sqrt(sq)) +
         ",\"nonfinite\":" + std::to_string(nonfinite) + "}";
}

template <class T>
std::string first_values(const Tensor<T>& t, std::size_t count) {
  std::string s = "[";
  for (std::size_t k = 0; k < std::min(count, t.size()); ++k) s += (k ? "," : "") + number(t.data()[k]);
  return s + "]";
}

// A JSON string safe inside <script>: no '<', '>' or '&' as such.
std::string script_string(const std::string& text) {
  std::string out;
  for (char ch : json_string(text)) {
    if (ch == '<') out += "\\u003c";
    else if (ch == '>') out += "\\u003e";
    else if (ch == '&') out += "\\u0026";
    else out += ch;
  }
  return out;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '&') out += "&amp;";
    else if (ch == '<') out += "&lt;";
    else if (ch == '>') out += "&gt;";
    else if (ch == '"') out += "&quot;";
    else out += ch;
  }
  return out;
}

std::string label_of(const Record<float>& r) { return r.param && !r.param->name.empty() ? r.param->name : ""; }
std::string label_of(const Record<double>& r) { return r.param && !r.param->name.empty() ? r.param->name : ""; }

// Layers by depth (Sugiyama's scheme, simplified): an op one below its deepest input,
// a leaf just above its first user. An edge spanning several layers passes through a
// point of its own in each layer between (a virtual node holding a slot), so it
// never runs behind a node. Within a layer, items by the mean position of their
// inputs (one pass, top down), leaves after.
struct Layout {
  std::vector<double> x, y;  // records 0..n-1, then the virtual points
  std::vector<std::vector<std::vector<std::size_t>>> via;  // via[id][k]: input k's edge's points
  double width = 0, height = 0;
};
constexpr double kDx = 190, kDy = 84, kNodeW = 170, kNodeH = 44, kMargin = 30;

template <class T>
Layout lay_out(const Tape<T>& tape, std::vector<std::vector<std::uint32_t>>& users) {
  const std::size_t n = tape.size();
  std::vector<std::size_t> depth(n, 0);
  users.assign(n, {});
  for (std::uint32_t id = 0; id < n; ++id) {
    const Record<T>& r = tape.record(id);
    for (std::size_t k = 0; k < r.n_inputs; ++k) {
      depth[id] = std::max(depth[id], depth[r.inputs[k]] + 1);
      users[r.inputs[k]].push_back(id);
    }
  }
  for (std::uint32_t id = 0; id < n; ++id)
    if (tape.record(id).n_inputs == 0 && !users[id].empty()) {
      std::size_t first = SIZE_MAX;
      for (std::uint32_t u : users[id]) first = std::min(first, depth[u]);
      depth[id] = first - 1;
    }
  // Items: the records, then one virtual point per layer crossed by a long edge.
  Layout l;
  std::vector<std::vector<std::size_t>> preds(n);  // whose x orders an item
  std::vector<std::size_t> layer = depth;
  l.via.assign(n, {});
  for (std::uint32_t id = 0; id < n; ++id) {
    const Record<T>& r = tape.record(id);
    l.via[id].resize(r.n_inputs);
    for (std::size_t k = 0; k < r.n_inputs; ++k) {
      std::size_t prev = r.inputs[k];
      for (std::size_t d = depth[prev] + 1; d < depth[id]; ++d) {
        preds.push_back({prev});
        layer.push_back(d);
        prev = preds.size() - 1;
        l.via[id][k].push_back(prev);
      }
      preds[id].push_back(prev);
    }
  }
  const std::size_t items = preds.size();
  const std::size_t layers = n ? *std::max_element(layer.begin(), layer.end()) + 1 : 0;
  std::vector<std::vector<std::size_t>> at(layers);
  for (std::size_t i = 0; i < items; ++i) at[layer[i]].push_back(i);
  std::size_t widest = 1;
  for (const auto& row : at) widest = std::max(widest, row.size());
  l.x.assign(items, 0), l.y.assign(items, 0);
  l.width = static_cast<double>(widest) * kDx + 2 * kMargin;
  l.height = static_cast<double>(layers) * kDy + 2 * kMargin;
  for (std::size_t d = 0; d < layers; ++d) {
    std::vector<std::pair<double, std::size_t>> keyed;
    for (std::size_t i : at[d]) {
      double key = 1e300;  // leaves after the ops
      if (!preds[i].empty()) {
        key = 0;
        for (std::size_t p : preds[i]) key += l.x[p];
        key /= static_cast<double>(preds[i].size());
      }
      keyed.emplace_back(key, i);
    }
    std::stable_sort(keyed.begin(), keyed.end());
    const double left = (l.width - static_cast<double>(keyed.size()) * kDx) / 2;
    for (std::size_t i = 0; i < keyed.size(); ++i) {
      l.x[keyed[i].second] = left + (static_cast<double>(i) + 0.5) * kDx;
      l.y[keyed[i].second] = kMargin + (static_cast<double>(d) + 0.5) * kDy;
    }
  }
  return l;
}

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

template <class T>
std::string html_graph(const Tape<T>& tape, const HtmlGraphOptions& o) {
  std::vector<std::vector<std::uint32_t>> users;
  const Layout l = lay_out(tape, users);
  std::string svg = "<svg id=\"graph\" width=\"" + fixed(l.width) + "\" height=\"" + fixed(l.height) +
                    "\" viewBox=\"0 0 " + fixed(l.width) + " " + fixed(l.height) +
                    "\" role=\"img\" aria-label=\"the tape's records as a graph\">\n"
                    "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
                    "markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>\n<g class=\"edges\">\n";
  std::string nodes, records;
  for (std::uint32_t id = 0; id < tape.size(); ++id) {
    const Record<T>& r = tape.record(id);
    const std::string name = label_of(r), op = r.op;
    const std::string kind = r.param ? "param" : r.n_inputs == 0 ? "constant" : "op";
    const Tensor<T>& value = tape.value_of(id);
    for (std::size_t k = 0; k < r.n_inputs; ++k) {
      const std::uint32_t from = r.inputs[k];
      // Inputs arrive side by side, in input order, along the node's top.
      const double spread = (static_cast<double>(k) - (static_cast<double>(r.n_inputs) - 1) / 2) * 28;
      // Through the edge's virtual points, one vertical S-curve per layer.
      std::vector<std::pair<double, double>> points = {{l.x[from], l.y[from] + kNodeH / 2}};
      for (std::size_t v : l.via[id][k]) points.emplace_back(l.x[v], l.y[v]);
      points.emplace_back(l.x[id] + spread, l.y[id] - kNodeH / 2 - 2);
      std::string d = "M" + fixed(points[0].first) + "," + fixed(points[0].second);
      for (std::size_t p = 1; p < points.size(); ++p) {
        const double ym = (points[p - 1].second + points[p].second) / 2;
        d += " C" + fixed(points[p - 1].first) + "," + fixed(ym) + " " + fixed(points[p].first) + "," + fixed(ym) + " " +
             fixed(points[p].first) + "," + fixed(points[p].second);
      }
      svg += "<path class=\"edge\" data-from=\"" + std::to_string(from) + "\" data-to=\"" + std::to_string(id) +
             "\" d=\"" + d + "\" marker-end=\"url(#arrow)\"/>\n";
    }
    std::string text = "#" + std::to_string(id) + " " + op + (name.empty() ? "" : " " + name);
    if (text.size() > 26) text = text.substr(0, 25) + "~";
    std::string cls = "node " + kind + (id == o.loss_id ? " loss" : "") + (r.requires_grad ? "" : " nograd");
    nodes += "<g class=\"" + cls + "\" id=\"node-" + std::to_string(id) + "\" data-id=\"" + std::to_string(id) +
             "\" tabindex=\"0\" transform=\"translate(" + fixed(l.x[id]) + "," + fixed(l.y[id]) + ")\">";
    if (id == o.loss_id)
      nodes += "<rect class=\"outer\" x=\"" + fixed(-kNodeW / 2 - 4) + "\" y=\"" + fixed(-kNodeH / 2 - 4) +
               "\" width=\"" + fixed(kNodeW + 8) + "\" height=\"" + fixed(kNodeH + 8) + "\" rx=\"22\"/>";
    nodes += "<rect x=\"" + fixed(-kNodeW / 2) + "\" y=\"" + fixed(-kNodeH / 2) + "\" width=\"" + fixed(kNodeW) +
             "\" height=\"" + fixed(kNodeH) + "\" rx=\"" + (kind == "op" ? "18" : "3") + "\"/><text y=\"-4\">" +
             xml_escape(text) + "</text><text class=\"shape\" y=\"13\">" + xml_escape(tapegrad::shape_str(value.shape())) +
             "</text></g>\n";

    // The record's data for the panel.
    const auto found = o.counts.find(id);
    const NodeCounts c = found != o.counts.end() ? found->second : count_from_values(tape, id);
    std::string shape = "[", inputs = "[", used = "[";
    for (std::size_t k = 0; k < value.dimension(); ++k) shape += (k ? "," : "") + std::to_string(value.shape()[k]);
    for (std::size_t k = 0; k < r.n_inputs; ++k) inputs += (k ? "," : "") + std::to_string(r.inputs[k]);
    for (std::size_t k = 0; k < users[id].size(); ++k) used += (k ? "," : "") + std::to_string(users[id][k]);
    const Tensor<T>* grad = r.param ? &r.param->grad : r.grad_live ? &r.grad : nullptr;
    const std::string grad_note = r.param ? "the Parameter's grad (accumulated over backward calls)"
                                  : !r.requires_grad ? "none: it depends on no watched parameter (backward skips it)"
                                  : grad ? "dloss/d(this record) from the last backward"
                                         : "none: no gradient reached it in the last backward";
    records += std::string(records.empty() ? "" : ",\n") + "{\"id\":" + std::to_string(id) + ",\"op\":" +
               script_string(op) + ",\"name\":" + script_string(name) + ",\"kind\":\"" + kind +
               "\",\"shape\":" + shape + "],\"inputs\":" + inputs + "],\"users\":" + used +
               "],\"needs_grad\":" + (r.requires_grad ? "true" : "false") + ",\"value\":" + stats_json(value) +
               ",\"values\":" + first_values(value, o.max_shown) + ",\"grad\":" +
               (grad ? stats_json(*grad) : "null") + ",\"grads\":" + (grad ? first_values(*grad, o.max_shown) : "[]") +
               ",\"grad_note\":" + script_string(grad_note) + ",\"kinks\":" + std::to_string(c.kinks) +
               ",\"kinks_what\":" + script_string(c.kinks_what) + ",\"ties\":" + std::to_string(c.ties) +
               ",\"ties_what\":" + script_string(c.ties_what) + "}";
  }
  svg += "</g>\n<g class=\"nodes\">\n" + nodes + "</g>\n</svg>";

  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     xml_escape(o.title) + "</title>\n<style>\n" + html_graph_style() + "</style>\n</head>\n<body>\n";
  // The first script: errors of everything after it are recorded in #status.
  page += "<script>window.tapeErrors=[];window.addEventListener('error',function(e){window.tapeErrors.push("
          "String(e.message));var s=document.getElementById('status');if(s)s.dataset.errors=window.tapeErrors."
          "length;});</script>\n";
  page += "<header><h1>" + xml_escape(o.title) + "</h1><p>" + xml_escape(o.caption) + "</p>\n<p id=\"status\" data-records=\"" +
          std::to_string(tape.size()) + "\" data-errors=\"0\">The page's script did not run.</p></header>\n";
  page += "<main><div id=\"canvas\">\n" + svg + "\n</div>\n<aside id=\"details\"><h2 id=\"details-title\">Click a node"
          "</h2><div id=\"details-body\"></div></aside></main>\n";
  page += "<footer><p>Blue boxes: watched parameters; grey: constants; rounded: ops; doubled: the loss; dashed: "
          "records no parameter depends on (backward skips them). Statistics are over every element, in double; "
          "the first " + std::to_string(o.max_shown) + " values are listed. <b>Kinks</b>: elements exactly at the "
          "op's non-differentiable point (relu, leaky_relu, abs inputs 0; hinge margins 0 when the tool knows the "
          "labels). <b>Ties</b>: max/min entries sharing the extreme (reductions, maximum/minimum). Each record says "
          "what was counted, or why nothing was.</p></footer>\n";
  page += "<script id=\"tape-data\" type=\"application/json\">{\"records\":[\n" + records + "]}</script>\n<script>\n" +
          html_graph_script() + "</script>\n</body>\n</html>\n";
  return page;
}

template <class T>
void write_html_graph(const std::string& path, const Tape<T>& tape, const HtmlGraphOptions& o) {
  write_file_atomic(path, html_graph(tape, o));  // built whole first: an error leaves no file
}

template std::string html_graph(const Tape<float>&, const HtmlGraphOptions&);
template std::string html_graph(const Tape<double>&, const HtmlGraphOptions&);
template void write_html_graph(const std::string&, const Tape<float>&, const HtmlGraphOptions&);
template void write_html_graph(const std::string&, const Tape<double>&, const HtmlGraphOptions&);

}  // namespace examples
