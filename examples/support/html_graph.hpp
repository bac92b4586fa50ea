#pragma once
// A recorded tape as one self-contained HTML page (tape_graph --html FILE): the graph
// as inline SVG, laid out here (records in layers by depth, no Graphviz), and per
// record its op, shapes, inputs, value and gradient statistics (min, max, mean, L2
// norm), its kinks and ties counted, and its first values, shown when its node is
// clicked. Inline CSS and JS only: no network, no external scripts, fonts or images.
//
// The page checks itself as it loads: its script counts the nodes it finds in the
// SVG and writes the count, the records it expected, the records without a node and
// every JS error (window.onerror, console.error) into the #status element's data-*
// attributes and document.title; with the fragment #selftest it also clicks every
// node and checks that the panel shows that record (tests/examples/test_tape_graph_html.cpp
// reads them from headless Chromium's DOM).
#include <cstdint>
#include <map>
#include <string>

#include <tapegrad/core/tape.hpp>

namespace examples {

// Kinks and ties of one record: count < 0 when not counted; `what` says what was
// counted (or why nothing was), and is shown on the page.
struct NodeCounts {
  std::int64_t kinks = -1, ties = -1;
  std::string kinks_what, ties_what;
};

// What a record's own value and its inputs' values tell, with no other knowledge of
// the op (its saved state is private to it):
// - kinks: relu, leaky_relu and abs inputs exactly 0 (their subgradient points);
// - ties: maximum/minimum elements with a == b (after broadcasting), and max/min
//   reductions whose extreme is shared by two or more entries (the axis read from
//   the shapes; not counted when the shapes leave it ambiguous);
// - smooth ops (matmul, add, exp, sum, reshape, batch_norm, ...) have 0 of both;
// - leaves, and ops whose kinks need their saved state (clamp's bounds, max_pool2d's
//   windows, a fused hinge's labels), are not counted here: a caller that knows more
//   passes its own counts in HtmlGraphOptions::counts.
template <class T>
NodeCounts count_from_values(const tapegrad::Tape<T>& tape, std::uint32_t id);

struct HtmlGraphOptions {
  std::string title = "tape";   // the page's heading and title
  std::string caption;          // one line under the heading (the model, the loss)
  std::uint32_t loss_id = UINT32_MAX;  // drawn with a double border
  std::map<std::uint32_t, NodeCounts> counts;  // replaces count_from_values for these records
  std::size_t max_shown = 48;   // values and gradient entries listed per record
};

// The page's text (the tape after backward: a record without a gradient says so).
template <class T>
std::string html_graph(const tapegrad::Tape<T>& tape, const HtmlGraphOptions& options);

// html_graph written atomically to path (a temporary file beside it, renamed over it:
// on an error nothing partial is left); std::runtime_error names the file.
template <class T>
void write_html_graph(const std::string& path, const tapegrad::Tape<T>& tape, const HtmlGraphOptions& options);

}  // namespace examples
