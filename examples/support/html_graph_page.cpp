// The fixed parts of tape_graph's HTML page (support/html_graph.cpp writes the rest):
// its style sheet and its script. The script reads the records from the page's JSON
// (<script id="tape-data">), shows a record's numbers when its node is clicked (or
// focused and Enter pressed), and checks the page as it loads: the nodes drawn, the
// records without one, and JS errors, into #status's data-* attributes and the title;
// with #selftest it clicks every node and checks that the panel shows its record;
// with #node-K it opens with record K shown.
// Plain ES5 and DOM calls, nothing fetched.
namespace examples {

const char* html_graph_style() {
  return R"css(body { font: 14px/1.4 sans-serif; margin: 0; color: #222; }
header, footer { padding: 8px 16px; }
h1 { font-size: 20px; margin: 4px 0; }
h2 { font-size: 16px; margin: 0 0 8px; font-family: monospace; }
h3 { font-size: 13px; margin: 10px 0 4px; }
#status { color: #555; }
main { display: flex; align-items: flex-start; border-top: 1px solid #ccc; border-bottom: 1px solid #ccc; }
#canvas { flex: 1; overflow: auto; max-height: 80vh; }
#details { width: 420px; padding: 10px 14px; border-left: 1px solid #ccc; max-height: 80vh; overflow: auto; }
#details table { border-collapse: collapse; font-size: 13px; }
#details th { text-align: left; vertical-align: top; padding: 2px 8px 2px 0; white-space: nowrap; color: #555; }
#details td { padding: 2px 0; }
#details pre { font-size: 12px; white-space: pre-wrap; background: #f6f6f6; padding: 4px; margin: 0; }
.link { color: #1a5fb4; cursor: pointer; text-decoration: underline; }
.edge { fill: none; stroke: #888; stroke-width: 1.3; }
marker path { fill: #888; }
.node { cursor: pointer; }
.node rect { fill: #fff; stroke: #333; stroke-width: 1.2; }
.node.param rect { fill: #cfe2f3; }
.node.constant rect { fill: #eee; }
.node.nograd rect { stroke-dasharray: 5 3; }
.node.loss rect.outer { fill: none; }
.node.selected rect { stroke: #c01c28; stroke-width: 3; }
.node:focus { outline: none; }
.node text { font: 12px monospace; text-anchor: middle; fill: #222; }
.node text.shape { fill: #555; }
)css";
}

const char* html_graph_script() {
  return R"js((function () {
  'use strict';
  var status = document.getElementById('status');
  var errors = window.tapeErrors || [];
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, ' '));
    status.dataset.errors = errors.length;
    consoleError.apply(console, arguments);
  };
  var records = JSON.parse(document.getElementById('tape-data').textContent).records;
  var title = document.getElementById('details-title');
  var body = document.getElementById('details-body');
  var selected = null;

  function fmt(v) {
    if (typeof v === 'string') return v;
    var a = Math.abs(v);
    if (v === 0) return '0';
    return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(6))) : v.toExponential(4);
  }
  function shapeText(s) { return '(' + s.join(', ') + ')'; }
  function el(tag, text) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function row(table, key, value) {
    var tr = el('tr');
    tr.appendChild(el('th', key));
    var td = el('td');
    if (typeof value === 'string') td.textContent = value; else td.appendChild(value);
    tr.appendChild(td);
    table.appendChild(tr);
  }
  function statsText(s) {
    if (s.n === 0) return 'empty';
    return 'min ' + fmt(s.min) + ', max ' + fmt(s.max) + ', mean ' + fmt(s.mean) + ', L2 norm ' + fmt(s.norm) +
        (s.nonfinite ? ', ' + s.nonfinite + ' not finite' : '') + ' (' + s.n + (s.n === 1 ? ' element)' : ' elements)');
  }
  function countText(n, what) { return (n < 0 ? 'not counted' : String(n)) + ' \u2014 ' + what; }
  function links(ids) {
    var span = el('span');
    if (!ids.length) span.textContent = 'none';
    ids.forEach(function (id, k) {
      if (k) span.appendChild(document.createTextNode(', '));
      var a = el('span', '#' + id + ' ' + records[id].op + ' ' + shapeText(records[id].shape));
      a.className = 'link';
      a.addEventListener('click', function () { show(id); });
      span.appendChild(a);
    });
    return span;
  }
  function list(name, values, s) {
    if (!s || !s.n) return;
    body.appendChild(el('h3', name + (values.length < s.n ? ' (the first ' + values.length + ' of ' + s.n + ')' : '')));
    body.appendChild(el('pre', values.map(fmt).join('  ')));
  }
  var kinds = { param: 'watched parameter (a leaf)', constant: 'constant (a leaf)', op: 'op' };

  function show(id) {
    var r = records[id];
    if (selected) selected.classList.remove('selected');
    selected = document.getElementById('node-' + id);
    selected.classList.add('selected');
    title.textContent = '#' + r.id + ' ' + r.op + (r.name ? ' ' + r.name : '');
    body.textContent = '';
    var t = el('table');
    row(t, 'kind', kinds[r.kind]);
    row(t, 'shape', shapeText(r.shape));
    row(t, 'inputs', links(r.inputs));
    row(t, 'used by', links(r.users));
    row(t, 'needs grad', r.needs_grad ? 'yes' : 'no');
    row(t, 'value', statsText(r.value));
    row(t, 'gradient', r.grad ? statsText(r.grad) : r.grad_note);
    if (r.grad) row(t, '', r.grad_note);
    row(t, 'kinks', countText(r.kinks, r.kinks_what));
    row(t, 'ties', countText(r.ties, r.ties_what));
    body.appendChild(t);
    list('value', r.values, r.value);
    list('gradient', r.grads, r.grad);
    body.dataset.shown = String(id);
  }

  var nodes = document.querySelectorAll('#graph g.node');
  Array.prototype.forEach.call(nodes, function (g) {
    var id = Number(g.dataset.id);
    g.addEventListener('click', function () { show(id); });
    g.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') show(id); });
  });

  // The page's own check: a drawn node, with a laid-out box, for every record.
  var missing = [];
  records.forEach(function (r) {
    var g = document.getElementById('node-' + r.id);
    if (!g || !(g.getBBox().width > 0)) missing.push(r.id);
  });
  status.dataset.rendered = String(nodes.length);
  status.dataset.missing = missing.join(' ');
  if (location.hash === '#selftest') {
    var failed = [];
    Array.prototype.forEach.call(nodes, function (g) {
      g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      var r = records[Number(g.dataset.id)];
      if (!r || body.dataset.shown !== g.dataset.id || title.textContent.indexOf('#' + r.id + ' ' + r.op) !== 0)
        failed.push(g.dataset.id);
    });
    status.dataset.clicked = String(nodes.length - failed.length);
    status.dataset.clickFailures = failed.join(' ');
  }
  // #node-K (a link to one record) opens with record K shown.
  var linked = /^#node-(\d+)$/.exec(location.hash);
  if (linked && records[Number(linked[1])]) show(Number(linked[1]));
  status.dataset.errors = String(errors.length);
  status.textContent = nodes.length + ' of ' + records.length + ' records drawn' +
      (missing.length ? '; without a node: #' + missing.join(', #') : '') + '. Click a node for its numbers.';
  document.title += ' (' + nodes.length + ' of ' + records.length + ' records)';
  status.dataset.ready = 'yes';
})();
)js";
}

}  // namespace examples
