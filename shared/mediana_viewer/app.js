// The report viewer: the SPA's reference client. It uses only the public API (v1/..., relative
// to the <base> the API sets, so a stage prefix such as /prod/ just works),
// keeps what is shown in the URL hash (#/reports/<id>?range=...), and draws charts where a
// person would rather look than read.
import { barChart, duration, fmt, heatmap, sortableTable } from "./charts.js";

const $ = (selector) => document.querySelector(selector);
const WORDS = {
  en: { range: "Range", custom: "custom", from: "from", to: "to", apply: "Apply", refresh: "Refresh now",
        previous: "previous", through: "Data through", computed: "computed", costs: "Costs", month: "Month",
        csv: "Download CSV", signin: "Sign in to see your reports.", any: "(any)" },
  es: { range: "Rango", custom: "personalizado", from: "desde", to: "hasta", apply: "Aplicar",
        refresh: "Actualizar ahora", previous: "anterior", through: "Datos hasta", computed: "calculado",
        costs: "Costos", month: "Mes", csv: "Descargar CSV", signin: "Ingresá para ver tus reportes.",
        any: "(todos)" },
};
const RANGES = {  // the presets' names; an id missing here is shown as it is
  en: { today: "Today", yesterday: "Yesterday", last_7_days: "Last 7 days", last_30_days: "Last 30 days",
        last_90_days: "Last 90 days", last_365_days: "Last 365 days", this_month: "This month", last_month: "Last month" },
  es: { today: "Hoy", yesterday: "Ayer", last_7_days: "Últimos 7 días", last_30_days: "Últimos 30 días",
        last_90_days: "Últimos 90 días", last_365_days: "Últimos 365 días", this_month: "Este mes", last_month: "Mes pasado" },
};
const state = {
  token: sessionStorage.getItem("mediana.token") || "",
  lang: localStorage.getItem("mediana.lang") || "en",
  catalogue: null,
  dimensions: null,
};
const t = (word) => WORDS[state.lang][word] || word;

function claims(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
}

const roles = () => (claims(state.token) || {}).roles || [];

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) },
  });
  const text = await response.text();
  let body = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* CSV or HTML */ }
  return { status: response.status, headers: response.headers, body };
}

function node(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined));
  return el;
}

function problem(response) {
  const error = (response.body && response.body.error) || {};
  const where = error.parameter ? ` (${error.parameter})` : "";
  return node("p", { class: "error", role: "alert" }, `${response.status}: ${error.message || "request failed"}${where}`);
}

// ---------------------------------------------------------------- sign-in
async function offerDemoTokens() {
  const response = await fetch("local/tokens").catch(() => null);
  if (!response || !response.ok) return; // not the local stack: paste a token
  const { tokens } = await response.json();
  const pick = $("#demo");
  pick.replaceChildren(node("option", { value: "" }, "demo tenant…"));
  for (const { tenant, role, token } of tokens) pick.append(node("option", { value: token }, `${tenant} · ${role}`));
  pick.hidden = false;
  pick.addEventListener("change", () => { if (pick.value) signIn(pick.value); });
}

async function signIn(token) {
  state.token = token.trim();
  sessionStorage.setItem("mediana.token", state.token);
  state.catalogue = state.dimensions = null;
  await route();
}

// ---------------------------------------------------------------- navigation
// Navigations overlap (a click, the language or a refresh while a report still loads) and
// their answers may arrive in any order: each navigation supersedes the ones before it,
// and an answer that arrives once a newer one began is dropped, never drawn over it.
let navigation = 0;
const superseded = (mine) => mine !== navigation;

async function loadBasics() {
  if (!state.catalogue) {
    const response = await api("v1/reports");
    if (response.status !== 200) return response;
    const dims = await api("v1/dimensions");
    // both at once: a navigation meanwhile must not find a catalogue without its dimensions
    state.catalogue = response.body.reports;
    state.dimensions = dims.status === 200 ? dims.body : {};
  }
  return null;
}

// What #main shows. data-loaded names the report drawn, and only while it is drawn: a
// later error or sign-in page never leaves an earlier report's name on it.
function show(loaded, ...children) {
  const main = $("#main");
  main.replaceChildren(...children);
  if (loaded) main.dataset.loaded = loaded;
  else delete main.dataset.loaded;
}

function drawNav(current) {
  const links = state.catalogue.map((r) =>
    node("a", { href: `#/reports/${r.id}`, class: r.id === current ? "current" : null, dataset: { report: r.id } },
      r.title[state.lang]));
  if (roles().includes("finance")) links.push(node("a", { href: "#/costs", class: current === "costs" ? "current" : null }, t("costs")));
  $("#nav").replaceChildren(...links);
  const who = claims(state.token);
  $("#who").textContent = who ? `${who.tenant_id} · ${(who.roles || []).join(", ")}` : "";
}

async function route() {
  const mine = ++navigation;
  if (!state.token) {
    show(null, node("p", { class: "muted" }, t("signin")));
    return;
  }
  const failed = await loadBasics();
  if (superseded(mine)) return;
  if (failed) {
    show(null, problem(failed));
    return;
  }
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const [, section, id] = path.split("/");
  if (section === "costs") return showCosts(params, mine);
  const report = state.catalogue.find((r) => r.id === id) || state.catalogue[0];
  return showReport(report, params, mine);
}

// ---------------------------------------------------------------- a report
function controls(report, params) {
  const custom = params.has("from");
  const range = node("select", { name: "range", "aria-label": t("range") },
    ...report.ranges.map((r) => node("option", { value: r, selected: !custom && (params.get("range") || report.default_range) === r },
      RANGES[state.lang][r] || r)),
    node("option", { value: "custom", selected: custom }, t("custom")));
  const from = node("input", { type: "date", name: "from", value: params.get("from") || "", "aria-label": t("from") });
  const to = node("input", { type: "date", name: "to", value: params.get("to") || "", "aria-label": t("to") });
  const dates = node("span", { class: "dates", hidden: !custom }, from, to);
  range.addEventListener("change", () => { dates.hidden = range.value !== "custom"; });
  const pickers = (report.filters || []).map((f) => {
    const chosen = new Set(params.getAll(f).flatMap((v) => v.split(",")));
    const options = (state.dimensions[f] || []).map((d) => node("option", { value: d.value, selected: chosen.has(d.value) }, d.label));
    return node("label", {}, f.replace("_", " "), node("select", { name: f, multiple: true, size: 3 }, ...options));
  });
  const form = node("form", { class: "controls" },
    node("label", {}, t("range"), range), dates, ...pickers, node("button", { type: "submit" }, t("apply")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (range.value === "custom") { next.set("from", from.value); next.set("to", to.value); } else next.set("range", range.value);
    for (const select of form.querySelectorAll("select[multiple]")) {
      const values = [...select.selectedOptions].map((o) => o.value);
      if (values.length) next.set(select.name, values.join(","));
    }
    location.hash = `#/reports/${report.id}?${next}`;
  });
  return form;
}

function cards(comparison) {
  return node("div", { class: "cards" }, ...Object.entries(comparison).map(([key, s]) =>
    node("div", { class: "card", dataset: { metric: key, value: JSON.stringify(s.current) } },
      node("span", { class: "label" }, key.replaceAll("_", " ")),
      node("span", { class: "value" }, fmt(s.current)),
      key.endsWith("_seconds") && s.current !== null ? node("span", { class: "duration" }, duration(s.current)) : null,
      node("span", { class: "previous" }, `${t("previous")}: ${fmt(s.previous)}`,
        s.change_pct === null ? "" : ` (${s.change_pct > 0 ? "+" : ""}${fmt(s.change_pct)}%)`))));
}

function drawValues(values, title) {
  const parts = [];
  if (values.series) parts.push(node("figure", {}, barChart(values.series, { label: title }), node("figcaption", {}, "per day")));
  if (values.matrix) parts.push(node("figure", {}, heatmap(values.weekdays, values.hours, values.matrix, title), node("figcaption", {}, "weekday × hour")));
  for (const [key, value] of Object.entries(values)) {
    if (key === "series" || key === "matrix" || !Array.isArray(value) || !value.length || typeof value[0] !== "object") continue;
    const total = values.total && typeof values.total === "object" ? values.total : values.totals || null;
    parts.push(node("section", { class: "table", dataset: { list: key } }, sortableTable(value, { total, caption: key.replaceAll("_", " ") })));
  }
  return parts;
}

async function showReport(report, params, mine) {
  drawNav(report.id);
  const query = params.toString();
  const response = await api(`v1/reports/${report.id}${query ? `?${query}` : ""}`);
  if (superseded(mine)) return;
  const head = [node("h1", {}, report.title[state.lang]), controls(report, params)];
  if (roles().includes("admin")) head.push(refreshButton());
  if (response.status !== 200) {
    show(null, ...head, problem(response));
    return;
  }
  const body = response.body;
  const meta = node("p", { class: "meta" },
    node("span", { class: "range", dataset: { from: body.range.from, to: body.range.to } },
      `${body.range.from} → ${body.range.to} (${body.range.days} d, ${body.range.timezone})`),
    ` · ${t("previous")}: ${body.previous_range.from} → ${body.previous_range.to}`,
    ...appliedFilters(body),
    node("br"),
    node("span", { class: "through" }, `${t("through")}: ${body.data_through || "—"}`),
    ` · ${t("computed")}: ${body.computed_at || "—"} · ${body.source}`);
  show(`${report.id}?${query}`, ...head, meta, cards(body.comparison), ...drawValues(body.values, report.title[state.lang]));
}

// the filters the answer applied, groups and owners by name (the API's filter_labels)
function appliedFilters(body) {
  const applied = Object.entries(body.filters || {}).filter(([, values]) => values.length);
  if (!applied.length) return [];
  const labels = body.filter_labels || {};
  const text = applied.map(([name, values]) =>
    `${name.replace("_", " ")}: ${values.map((v) => (labels[name] || {})[v] ?? v).join(", ")}`).join(" · ");
  return [node("br"), node("span", { class: "filters" }, text)];
}

function refreshButton() {
  const status = node("span", { class: "refresh-status", role: "status" });
  const button = node("button", { type: "button", class: "refresh" }, t("refresh"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    const response = await api("v1/refresh", { method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (response.status === 429) {
      status.textContent = `${response.body.status || "cooling down"}: retry after ${response.headers.get("Retry-After")} s`;
    } else if (response.status !== 202) {
      status.replaceChildren(problem(response));
    } else {
      let record = response.body;
      while (record.status === "queued" || record.status === "running") {
        status.textContent = record.status;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        record = (await api(`v1/refresh/${record.refresh_id}`)).body;
      }
      status.textContent = `${record.status}${record.data_through ? ` · ${t("through")} ${record.data_through}` : ""}${record.error ? ` · ${record.error}` : ""}`;
      if (record.status === "succeeded") setTimeout(route, 1500);
    }
    button.disabled = false;
  });
  return node("span", { class: "refresh-box" }, button, status);
}

// ---------------------------------------------------------------- costs (finance)
async function showCosts(params, mine) {
  drawNav("costs");
  const month = params.get("month") || new Date().toISOString().slice(0, 7);
  const picker = node("input", { type: "month", name: "month", value: month });
  picker.addEventListener("change", () => { location.hash = `#/costs?month=${picker.value}`; });
  const download = node("button", { type: "button" }, t("csv"));
  download.addEventListener("click", async () => {
    const csv = await api(`v1/costs?month=${month}&format=csv`);
    const link = node("a", { href: URL.createObjectURL(new Blob([csv.body], { type: "text/csv" })), download: `mediana-costs-${month}.csv` });
    link.click();
  });
  const response = await api(`v1/costs?month=${month}`);
  if (superseded(mine)) return;
  const head = [node("h1", {}, `${t("costs")} ${month}`), node("p", { class: "controls" }, node("label", {}, t("month"), picker), download)];
  if (response.status !== 200) {
    show(null, ...head, problem(response));
    return;
  }
  const report = response.body;
  const flat = (row) => ({ tenant_id: row.tenant_id, ...row.services_usd, total_usd: row.total_usd });
  show(null, ...head,
    node("p", { class: "meta" }, `${report.region} · ${report.currency} · prices as of ${report.prices_as_of}`),
    node("section", { class: "table", dataset: { list: "costs" } }, sortableTable(report.rows.map(flat), { total: flat(report.total) })));
}

// ---------------------------------------------------------------- start
$("#lang").value = state.lang;
$("#lang").addEventListener("change", () => {
  state.lang = $("#lang").value;
  localStorage.setItem("mediana.lang", state.lang);
  document.documentElement.lang = state.lang;
  route();
});
$("#signin").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("#token").value) signIn($("#token").value);
});
window.addEventListener("hashchange", route);
offerDemoTokens();
route();
