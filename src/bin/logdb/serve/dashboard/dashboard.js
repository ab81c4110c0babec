// The logdb dashboard: every panel is one SQL query to /query, shown under the
// panel; charts are drawn here as SVG. No external resources.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 2000;
// time_bucket's origin (2000-01-03, a Monday), so that buckets line up with the server's.
const BUCKET_ORIGIN = Date.UTC(2000, 0, 3);
const BUCKETS = [60, 120, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800];

const state = {
  tables: [],
  following: false,
  filters: [], // {column, value} pairs: "column = value" in every panel
  busy: false,
};

// ---- talking to the server ----

function authHeaders() {
  const token = sessionStorage.getItem("logdb-token");
  return token ? { Authorization: "Bearer " + token } : {};
}

async function getJson(path) {
  const response = await fetch(path, { headers: authHeaders() });
  return answer(response);
}

async function runSql(sql) {
  const response = await fetch("/query?format=json", {
    method: "POST",
    headers: authHeaders(),
    body: sql,
  });
  return answer(response);
}

async function answer(response) {
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error("HTTP " + response.status + ": " + text.slice(0, 200));
  }
  if (response.status === 401) {
    $("login").hidden = false;
  }
  if (!response.ok) {
    const where = body.line ? " (line " + body.line + ", column " + body.column + ")" : "";
    throw new Error((body.error || "HTTP " + response.status) + where);
  }
  return body;
}

// ---- SQL text ----

function quote(text) {
  return "'" + String(text).replace(/'/g, "''") + "'";
}

function ident(name) {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
}

function literal(value) {
  return typeof value === "number" ? String(value) : quote(value);
}

function sqlTime(ms) {
  return "TIMESTAMP " + quote(new Date(ms).toISOString().slice(0, 19).replace("T", " "));
}

function parseTime(text) {
  return Date.parse(text.replace(" ", "T") + "Z");
}

function currentTable() {
  return state.tables.find((t) => t.name === $("table").value);
}

// The window shown: [from, to) in ms, or null bounds for "everything". Relative
// ranges end now, or at the newest row when the table has nothing that recent
// (so old logs still show).
function timeWindow() {
  const table = currentTable();
  const newest = table && table.newest ? parseTime(table.newest) + 1000 : Date.now();
  const oldest = table && table.oldest ? parseTime(table.oldest) : newest - 3600e3;
  const range = $("range").value;
  if (range === "all") {
    return { from: null, to: null, start: oldest, end: newest };
  }
  if (range === "custom") {
    const from = Date.parse($("from").value + "Z");
    const to = Date.parse($("to").value + "Z");
    if (isNaN(from) || isNaN(to) || to <= from) {
      throw new Error("custom range: give a start before the end");
    }
    return { from, to, start: from, end: to };
  }
  const span = Number(range) * 1000;
  const end = Date.now() - newest > span ? newest : Date.now();
  return { from: end - span, to: end, start: end - span, end };
}

function whereClause(window) {
  const table = currentTable();
  const ts = ident((table && table.time_column) || "ts");
  const parts = [];
  if (window.from !== null) {
    parts.push(ts + " >= " + sqlTime(window.from) + " AND " + ts + " < " + sqlTime(window.to));
  }
  for (const f of state.filters) {
    parts.push(f.value === null ? ident(f.column) + " IS NULL" : ident(f.column) + " = " + literal(f.value));
  }
  return parts.length ? " WHERE " + parts.join(" AND ") : "";
}

function bucketSeconds(window) {
  const wanted = (window.end - window.start) / 1000 / 120;
  return BUCKETS.find((b) => b >= wanted) || BUCKETS[BUCKETS.length - 1];
}

function panelQueries(window) {
  const t = ident($("table").value);
  const where = whereClause(window);
  const and = where ? where + " AND " : " WHERE ";
  const bucket = bucketSeconds(window);
  return {
    summary:
      // Sketches, not exact quantiles: the server keeps each segment's sketch
      // between refreshes (its aggregate cache), and merging sketches costs
      // nothing next to selecting quantiles from every value again.
      "SELECT count(*) AS requests, count_if(status >= 500) AS errors_5xx,\n" +
      "  approx_count_distinct(client_ip) AS visitors, sum(bytes) AS bytes,\n" +
      "  approx_quantile(request_time, 0.5) AS p50, approx_quantile(request_time, 0.95) AS p95,\n" +
      "  approx_quantile(request_time, 0.99) AS p99\nFROM " + t + where,
    timeline:
      "SELECT time_bucket(INTERVAL '" + bucket + " seconds', ts) AS t, count(*) AS requests,\n" +
      "  count_if(status >= 500) AS errors_5xx\nFROM " + t + where + "\nGROUP BY t ORDER BY t",
    statuses: "SELECT status, count(*) AS requests\nFROM " + t + where +
      "\nGROUP BY status ORDER BY requests DESC",
    uris: "SELECT uri, count(*) AS requests, count_if(status >= 500) AS errors_5xx\nFROM " + t +
      where + "\nGROUP BY uri ORDER BY requests DESC LIMIT 10",
    agents: "SELECT user_agent, count(*) AS requests\nFROM " + t + where +
      "\nGROUP BY user_agent ORDER BY requests DESC LIMIT 10",
    visitors: "SELECT uid, count(*) AS requests\nFROM " + t + and +
      "uid IS NOT NULL\nGROUP BY uid ORDER BY requests DESC LIMIT 10",
  };
}

// ---- drawing ----

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function sqlDetails(sql) {
  return el("details", {}, el("summary", {}, "SQL"), el("pre", {}, sql));
}

function formatNumber(x) {
  if (x === null || x === undefined) return "–";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  return x.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

function formatBytes(x) {
  if (x === null || x === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return (i ? x.toFixed(1) : String(x)) + " " + units[i];
}

function formatSeconds(x) {
  if (x === null || x === undefined) return "–";
  return x < 1 ? (x * 1000).toFixed(1) + " ms" : x.toFixed(2) + " s";
}

function showError(panel, title, sql, error) {
  panel.replaceChildren(el("h2", {}, title), el("div", { class: "error" }, error.message), sqlDetails(sql));
}

function drawTiles(result, sql) {
  const row = result.data[0] || {};
  const rate = row.requests ? (100 * row.errors_5xx) / row.requests : null;
  const tiles = [
    ["requests", formatNumber(row.requests)],
    ["5xx rate", rate === null ? "–" : rate.toFixed(2) + " %"],
    ["unique visitors (client IPs, approx.)", formatNumber(row.visitors)],
    ["bytes served", formatBytes(row.bytes)],
    ["p50 latency", formatSeconds(row.p50)],
    ["p95 latency", formatSeconds(row.p95)],
    ["p99 latency", formatSeconds(row.p99)],
  ];
  $("tiles").replaceChildren(
    ...tiles.map(([label, value]) =>
      el("div", { class: "tile" }, el("div", { class: "value" }, value), el("div", { class: "label" }, label))),
    sqlDetails(sql),
  );
}

// A line chart of series over time: points [{t (ms), values: [..]}], one class
// per series for its colour.
function lineChart(points, series, perMinute) {
  const width = 900, height = 220, left = 56, right = 12, top = 12, bottom = 26;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  if (points.length === 0) {
    const text = svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle" });
    text.textContent = "no rows in this range";
    svg.append(text);
    return svg;
  }
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  const max = Math.max(1, ...points.flatMap((p) => p.values));
  const x = (t) => left + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (width - left - right);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  svg.append(svgEl("line", { class: "axis", x1: left, y1: y(0), x2: width - right, y2: y(0) }));
  svg.append(svgEl("line", { class: "axis", x1: left, y1: top, x2: left, y2: y(0) }));
  const label = (text, ax, ay, anchor) => {
    const node = svgEl("text", { x: ax, y: ay, "text-anchor": anchor });
    node.textContent = text;
    svg.append(node);
  };
  label(formatNumber(max), left - 4, top + 8, "end");
  label("0", left - 4, y(0), "end");
  label(new Date(t0).toISOString().slice(0, 16).replace("T", " "), left, height - 6, "start");
  label(new Date(t1).toISOString().slice(0, 16).replace("T", " ") + " UTC", width - right, height - 6, "end");
  series.forEach((cls, i) => {
    const path = points.map((p) => `${x(p.t).toFixed(1)},${y(p.values[i]).toFixed(1)}`).join(" ");
    svg.append(svgEl("polyline", { class: cls, points: path }));
  });
  const guide = svgEl("line", { class: "guide", y1: top, y2: y(0), visibility: "hidden" });
  const readout = svgEl("text", { y: top + 8, "text-anchor": "start" });
  svg.append(guide, readout);
  svg.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    let best = points[0];
    for (const p of points) if (Math.abs(x(p.t) - px) < Math.abs(x(best.t) - px)) best = p;
    guide.setAttribute("x1", x(best.t));
    guide.setAttribute("x2", x(best.t));
    guide.setAttribute("visibility", "visible");
    readout.setAttribute("x", Math.min(x(best.t) + 4, width - 260));
    readout.textContent = new Date(best.t).toISOString().slice(0, 19).replace("T", " ") + "  " +
      series.map((s, i) => s + " " + formatNumber(best.values[i]) + (perMinute ? "/min" : "")).join("  ");
  });
  return svg;
}

function drawTimeline(result, sql, window) {
  const bucket = bucketSeconds(window) * 1000;
  const byTime = new Map(result.data.map((r) => [parseTime(r.t), r]));
  // Every bucket of the window, empty ones as zero.
  const first = Math.floor((window.start - BUCKET_ORIGIN) / bucket) * bucket + BUCKET_ORIGIN;
  const points = [];
  const minutes = bucket / 60000;
  for (let t = first; t < window.end && points.length < 2000; t += bucket) {
    const r = byTime.get(t);
    points.push({ t, values: r ? [r.requests / minutes, r.errors_5xx / minutes] : [0, 0] });
  }
  $("timeline").replaceChildren(
    el("h2", {}, "requests per minute (blue) and 5xx per minute (red), " + bucket / 60000 + "-minute buckets"),
    lineChart(points, ["requests", "errors"], true),
    sqlDetails(sql),
  );
}

function statusColor(status) {
  const css = getComputedStyle(document.documentElement);
  const name = status >= 500 ? "--error" : status >= 400 ? "--client" : status >= 300 ? "--redirect" : "--ok";
  return css.getPropertyValue(name);
}

// A table of rows with a bar for `measure`; clicking `key` filters every panel.
function rankTable(result, key, measure, color) {
  const columns = result.meta.map((m) => m.name);
  const max = Math.max(1, ...result.data.map((r) => r[measure] || 0));
  const head = el("tr", {}, ...columns.map((c) => el("th", { class: c === key ? "" : "num" }, c)), el("th", {}));
  const rows = result.data.map((r) => {
    const cells = columns.map((c) =>
      c === key
        ? el("td", { class: "click", title: "filter on " + c + " = " + r[c], onclick: () => addFilter(key, r[c]) },
          r[c] === null ? "NULL" : String(r[c]))
        : el("td", { class: "num" }, formatNumber(r[c])));
    const bar = el("span");
    bar.style.width = ((100 * (r[measure] || 0)) / max).toFixed(1) + "%";
    if (color) bar.style.background = color(r);
    return el("tr", {}, ...cells, el("td", { class: "bar" }, bar));
  });
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

function drawRanking(id, title, result, sql, key, color) {
  const body = result.data.length ? rankTable(result, key, "requests", color) : el("p", { class: "muted" }, "no rows");
  $(id).replaceChildren(el("h2", {}, title), body, sqlDetails(sql));
}

// ---- filters and refresh ----

// The range and filters live in the URL's fragment as JSON
// (#{"range":"3600","filters":[{"column":"uri","value":"/"}]}), so a view can be
// bookmarked or shared.
function saveView() {
  const view = { range: $("range").value, filters: state.filters };
  history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(view)));
}

function loadView() {
  if (location.hash.length < 2) return;
  try {
    const view = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    if ([...$("range").options].some((o) => o.value === view.range)) $("range").value = view.range;
    if (Array.isArray(view.filters)) {
      state.filters = view.filters
        .filter((f) => f && typeof f.column === "string")
        .map((f) => ({ column: f.column, value: f.value === undefined ? null : f.value }));
    }
  } catch (e) {
    $("status").textContent = "ignored a malformed view in the URL: " + e.message;
  }
}

function addFilter(column, value) {
  if (!state.filters.some((f) => f.column === column && f.value === value)) {
    state.filters.push({ column, value });
  }
  drawFilters();
  refresh();
}

function drawFilters() {
  saveView();
  $("filters").replaceChildren(
    ...state.filters.map((f, i) =>
      el("span", {
        class: "chip",
        title: "remove this filter",
        onclick: () => {
          state.filters.splice(i, 1);
          drawFilters();
          refresh();
        },
      }, f.column + " = " + (f.value === null ? "NULL" : f.value) + " ×")),
  );
}

async function loadTables() {
  const [tables, health] = await Promise.all([getJson("/tables"), getJson("/health")]);
  state.tables = tables.tables.filter((t) => t.time_column);
  state.following = health.following.some((f) => f.running);
  const select = $("table");
  const chosen = select.value;
  if (select.options.length !== state.tables.length) {
    select.replaceChildren(...state.tables.map((t) => el("option", { value: t.name }, t.name)));
    if (chosen) select.value = chosen;
  }
  return health;
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  const started = performance.now();
  try {
    await loadTables();
    if (!state.tables.length) {
      $("status").textContent = "no log tables yet";
      return;
    }
    const window = timeWindow();
    const queries = panelQueries(window);
    let serverSeconds = 0;
    const run = async (name, title, draw) => {
      try {
        const result = await runSql(queries[name]);
        serverSeconds += result.statistics.elapsed;
        draw(result, queries[name]);
      } catch (error) {
        if (name === "summary") showError($("tiles"), title, queries[name], error);
        else showError($(name), title, queries[name], error);
      }
    };
    await Promise.all([
      run("summary", "summary", drawTiles),
      run("timeline", "requests per minute", (r, sql) => drawTimeline(r, sql, window)),
      run("statuses", "status", (r, sql) =>
        drawRanking("statuses", "status mix", r, sql, "status", (row) => statusColor(row.status))),
      run("uris", "top URIs", (r, sql) => drawRanking("uris", "top URIs", r, sql, "uri")),
      run("agents", "top user agents", (r, sql) => drawRanking("agents", "top user agents", r, sql, "user_agent")),
      run("visitors", "top visitors (uid)", (r, sql) => drawRanking("visitors", "top visitors (uid)", r, sql, "uid")),
    ]);
    const took = performance.now() - started;
    $("status").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC in " +
      took.toFixed(0) + " ms (queries " + (serverSeconds * 1000).toFixed(0) + " ms on the server)" +
      (state.following ? ", following" : "");
  } catch (error) {
    $("status").textContent = error.message;
  } finally {
    state.busy = false;
  }
}

// ---- the SQL box ----

function resultTable(result) {
  const head = el("tr", {}, ...result.meta.map((m) => el("th", {}, m.name + " " + m.type)));
  const rows = result.data.map((r) =>
    el("tr", {}, ...result.meta.map((m) => {
      const v = r[m.name];
      return el("td", { class: typeof v === "number" ? "num" : "" }, v === null ? "NULL" : formatNumber(v));
    })));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

const NUMERIC = ["BIGINT", "INTEGER", "SMALLINT", "DOUBLE"];

// A line chart when the first column is a time, bars of the last numeric column otherwise.
function resultChart(result) {
  const last = result.meta[result.meta.length - 1];
  if (result.meta.length < 2 || !NUMERIC.includes(last.type)) {
    return el("p", { class: "muted" }, "a chart needs a label column and a numeric last column");
  }
  if (result.meta[0].type === "TIMESTAMP") {
    const points = result.data.map((r) => ({ t: parseTime(r[result.meta[0].name]), values: [r[last.name] || 0] }));
    return lineChart(points, ["requests"], false);
  }
  return rankTable(result, result.meta[0].name, last.name);
}

async function runConsole() {
  const sql = $("sql").value;
  $("run-status").textContent = "running…";
  try {
    const result = await runSql(sql);
    $("run-status").textContent = result.rows + " rows in " + formatSeconds(result.statistics.elapsed) +
      ", " + formatNumber(result.statistics.rows_read) + " rows read";
    $("output").replaceChildren($("as-chart").checked ? resultChart(result) : resultTable(result));
  } catch (error) {
    $("run-status").textContent = "";
    $("output").replaceChildren(el("div", { class: "error" }, error.message));
  }
}

// ---- wiring ----

$("range").addEventListener("change", () => {
  saveView();
  $("custom").hidden = $("range").value !== "custom";
  if ($("range").value === "custom" && !$("from").value) {
    const end = new Date();
    $("to").value = end.toISOString().slice(0, 19);
    $("from").value = new Date(end - 3600e3).toISOString().slice(0, 19);
  }
  refresh();
});
for (const id of ["table", "from", "to"]) $(id).addEventListener("change", refresh);
$("refresh").addEventListener("click", refresh);
$("run").addEventListener("click", runConsole);
$("sql").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    runConsole();
  }
});
$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("logdb-token", $("token").value);
  $("login").hidden = true;
  refresh();
});

setInterval(() => {
  if ($("live").checked && state.following && !document.hidden) refresh();
}, REFRESH_MS);
loadView();
$("custom").hidden = $("range").value !== "custom";
drawFilters();
refresh();
