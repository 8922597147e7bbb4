// Small SVG charts and a sortable table: enough for the reports, no library to vendor.
// Every number drawn carries its exact value in data-value, so a test can compare it with the API.

const SVG = "http://www.w3.org/2000/svg";

export function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// A number of seconds as a person reads a wait: "9 min 14 s", "2 h 5 min", "1 d 3 h".
export function duration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const i = units.findIndex(([, size]) => s >= size);
  if (i < 0) return "0 s";
  const [big, bigSize] = units[i];
  const parts = [`${Math.floor(s / bigSize)} ${big}`];
  if (i < units.length - 1) {
    const [small, smallSize] = units[i + 1];
    const rest = Math.floor((s % bigSize) / smallSize);
    if (rest) parts.push(`${rest} ${small}`);
  }
  return parts.join(" ");
}

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Bars over a per-day series: points = [{date, count}]. */
export function barChart(points, { x = "date", y = "count", label = "" } = {}) {
  const width = 760, height = 220, left = 40, bottom = 24, top = 10;
  const max = Math.max(1, ...points.map((p) => p[y] || 0));
  const step = (width - left) / Math.max(points.length, 1);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart bars", role: "img", "aria-label": label });
  const plot = height - bottom - top;
  svg.append(el("text", { x: 2, y: top + 8, class: "axis" }, fmt(max)));
  svg.append(el("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, class: "axis" }));
  points.forEach((p, i) => {
    const h = ((p[y] || 0) / max) * plot;
    const bar = el("rect", {
      x: left + i * step + step * 0.1, y: height - bottom - h, width: Math.max(step * 0.8, 1), height: h,
      "data-x": p[x], "data-value": p[y],
    });
    bar.append(el("title", {}, `${p[x]}: ${fmt(p[y])}`));
    svg.append(bar);
  });
  const ticks = points.length > 1 ? [0, Math.floor(points.length / 2), points.length - 1] : [0];
  for (const i of ticks) {
    if (!points[i]) continue;
    const anchor = i === 0 ? "start" : i === points.length - 1 ? "end" : "middle";
    svg.append(el("text", { x: left + i * step + step / 2, y: height - 6, "text-anchor": anchor, class: "axis" }, points[i][x]));
  }
  return svg;
}

/** Weekday x hour counts as a heatmap (matrix[weekday][hour]). */
export function heatmap(weekdays, hours, matrix, label = "") {
  const cell = 28, left = 44, top = 18;
  const max = Math.max(1, ...matrix.flat());
  const svg = el("svg", {
    viewBox: `0 0 ${left + hours.length * cell} ${top + weekdays.length * cell}`, class: "chart heatmap", role: "img", "aria-label": label,
  });
  hours.forEach((h, j) => { if (j % 3 === 0) svg.append(el("text", { x: left + j * cell + 4, y: 12, class: "axis" }, String(h))); });
  weekdays.forEach((d, i) => {
    svg.append(el("text", { x: 0, y: top + i * cell + 18, class: "axis" }, d.slice(0, 3)));
    hours.forEach((h, j) => {
      const v = matrix[i][j];
      const rect = el("rect", {
        x: left + j * cell, y: top + i * cell, width: cell - 2, height: cell - 2, rx: 3,
        fill: v ? `rgba(37, 99, 235, ${0.12 + 0.88 * (v / max)})` : "#f1f5f9",
        "data-weekday": d, "data-hour": h, "data-value": v,
      });
      rect.append(el("title", {}, `${d} ${h}:00 — ${fmt(v)}`));
      svg.append(rect);
    });
  });
  return svg;
}

// who or what a row is about comes first; the API's keys arrive sorted alphabetically
const IDENTITY = ["name", "owner_id", "tenant_id", "origin", "channel", "type", "call_type", "outcome", "date"];
const rank = (column) => (IDENTITY.includes(column) ? IDENTITY.indexOf(column) : IDENTITY.length);

/** A table sorted by clicking a column; nested lists of rows open as details below their row. */
export function sortableTable(rows, { total = null, caption = "" } = {}) {
  const columns = [...new Set(rows.concat(total ? [total] : []).flatMap((r) => Object.keys(r)))]
    .filter((c) => !rows.some((r) => Array.isArray(r[c])))
    .sort((a, b) => rank(a) - rank(b));
  const nested = rows.length ? Object.keys(rows[0]).filter((c) => Array.isArray(rows[0][c])) : [];
  const table = document.createElement("table");
  table.className = "report-table";
  if (caption) table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  const body = table.createTBody();
  let order = { col: null, dir: 1 };
  // one row of cells; `missing(column)` is shown where the row has no such key
  const addRow = (kind, row, missing = () => fmt(null)) => {
    const tr = body.insertRow();
    tr.className = kind;
    for (const c of columns) {
      const td = tr.insertCell();
      td.dataset.col = c;
      td.dataset.value = JSON.stringify(row[c] ?? null);
      td.textContent = c in row ? fmt(row[c]) : missing(c);
    }
  };
  const fill = () => {
    body.replaceChildren();
    const sorted = [...rows];
    if (order.col) {
      sorted.sort((a, b) => {
        const x = a[order.col], y = b[order.col];
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * order.dir;
      });
    }
    for (const row of sorted) {
      addRow("row", row);
      for (const n of nested) {
        if (!row[n] || !row[n].length) continue;
        const detail = body.insertRow().insertCell();
        detail.colSpan = columns.length;
        const box = document.createElement("details");
        box.append(Object.assign(document.createElement("summary"), { textContent: `${n} (${row[n].length})` }));
        box.append(sortableTable(row[n]));
        detail.append(box);
      }
    }
    if (total) addRow("total", total, (c) => (c === columns[0] ? "total" : ""));
  };
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c.replaceAll("_", " ");
    th.dataset.col = c;
    th.addEventListener("click", () => {
      order = { col: c, dir: order.col === c ? -order.dir : 1 };
      table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", order.dir > 0 ? "ascending" : "descending");
      fill();
    });
    head.append(th);
  }
  fill();
  return table;
}
