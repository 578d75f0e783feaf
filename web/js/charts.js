// Small charts as plain inline SVG (no library): horizontal bars, which fit a 360 px phone whatever the
// labels, and a share bar. Every chart is a <figure> whose SVG carries its figures as text (role="img" with a
// label that reads them out) and whose numbers are also a table under "show as a table": nothing is in the
// picture alone, and colour never carries meaning on its own (every bar has its label and value written).
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const ROW = 38;
const BAR = 14;
const MAX_LABEL = 46;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function shorten(text) {
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

let serial = 0;

// The table behind a chart: one row per bar, with its count and share.
function table(rows, labels, format) {
  const total = rows.reduce((sum, r) => sum + r.value, 0);
  const head = h("thead", {}, h("tr", {}, h("th", { scope: "col", text: labels.what }),
    h("th", { scope: "col", text: labels.count }), h("th", { scope: "col", text: labels.share })));
  const body = h("tbody", {}, ...rows.map((r) => h("tr", {}, h("th", { scope: "row", text: r.label }),
    h("td", { text: format.number(r.value) }), h("td", { text: total ? format.percent(r.value / total) : "—" }))));
  return h("details", { class: "chart-table" }, h("summary", { text: labels.table }),
    h("table", {}, head, body));
}

// barChart({caption, rows: [{label, value, key?}], labels: {what, count, share, table}, format: {number, percent}})
export function barChart({ caption, rows, labels, format }) {
  const id = `chart-${++serial}`;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = Math.max(ROW, rows.length * ROW);
  const spoken = rows.map((r) => `${r.label}: ${format.number(r.value)}`).join("; ");
  const picture = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: "100%", role: "img",
    "aria-label": `${caption}. ${spoken}`, class: "chart", preserveAspectRatio: "xMinYMin meet" });
  rows.forEach((r, i) => {
    const top = i * ROW;
    const value = format.number(r.value);
    // Leave room for the value after the bar; an empty row still shows its zero.
    const width = Math.round(((WIDTH - 8 - value.length * 8) * r.value) / max);
    const row = svg("g", { class: `bar${r.key ? ` bar-${r.key}` : ""}` });
    row.append(svg("text", { x: 0, y: top + 13, class: "label" }, shorten(r.label)));
    row.append(svg("rect", { x: 0, y: top + 18, width: Math.max(width, 2), height: BAR, rx: 2 }));
    row.append(svg("text", { x: Math.max(width, 2) + 4, y: top + 30, class: "value" }, value));
    picture.append(row);
  });
  return h("figure", { class: "chart-box", id },
    h("figcaption", { text: caption }), picture, table(rows, labels, format));
}

// shareBar({caption, parts: [{label, value, key}], ...}): one bar split in its parts (e.g. on time / late),
// each part's label and percentage written below it.
export function shareBar({ caption, parts, labels, format }) {
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  const spoken = parts.map((p) => `${p.label}: ${total ? format.percent(p.value / total) : "—"}`).join("; ");
  const picture = svg("svg", { viewBox: `0 0 ${WIDTH} ${28 + parts.length * 20}`, width: "100%", role: "img",
    "aria-label": `${caption}. ${spoken}`, class: "chart", preserveAspectRatio: "xMinYMin meet" });
  let x = 0;
  parts.forEach((p, i) => {
    const width = total ? (WIDTH * p.value) / total : 0;
    picture.append(svg("rect", { x, y: 0, width, height: 20, class: `part part-${p.key}` }));
    x += width;
    const legend = svg("g", { class: `legend part-${p.key}` });
    legend.append(svg("rect", { x: 0, y: 28 + i * 20, width: 12, height: 12 }));
    legend.append(svg("text", { x: 18, y: 38 + i * 20, class: "label" },
      `${p.label}: ${total ? format.percent(p.value / total) : "—"} (${format.number(p.value)})`));
    picture.append(legend);
  });
  return h("figure", { class: "chart-box" }, h("figcaption", { text: caption }), picture,
    table(parts, labels, format));
}
