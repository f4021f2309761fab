// Drawing a widget's figures: KPI numbers, line and bar charts (SVG), a leaderboard, a funnel and a table.
// Each `draw*` takes the widget's body element and the matching field of its WidgetData, and replaces what
// the body showed. Charts are drawn at the body's pixel size (text stays crisp); the page redraws on resize.

const SVG = "http://www.w3.org/2000/svg";

// How a metric's value reads, by the name the API gives it (MetricValue.name, SeriesValues.name, …).
const DURATIONS = new Set(["average_handle_time_seconds", "average_speed_of_answer_seconds", "available_seconds"]);
const RATES = new Set(["service_level", "abandonment_rate", "first_contact_resolution_rate", "csat", "occupancy",
                       "conversion_rate", "roi"]);
const MONEY = new Set(["revenue", "average_lead_value", "cost", "cost_per_lead"]);
const COUNTS = new Set(["calls_total", "calls_handled", "calls_inbound", "calls_outbound", "transfers",
                        "tasks_completed", "points", "leads_generated", "leads_contacted", "leads_converted"]);

const LABELS = {
  calls_total: "Calls", calls_handled: "Handled", calls_inbound: "Inbound", calls_outbound: "Outbound",
  average_handle_time_seconds: "Avg handle time", average_speed_of_answer_seconds: "Avg speed of answer",
  service_level: "Service level", abandonment_rate: "Abandoned", first_contact_resolution_rate: "First-contact res.",
  transfers: "Transfers", csat: "CSAT", csat_mean: "CSAT (mean)", tasks_completed: "Tasks done",
  available_seconds: "Available time", occupancy: "Occupancy", points: "Points", leads_generated: "Leads",
  leads_contacted: "Leads contacted", leads_converted: "Leads converted", conversion_rate: "Conversion",
  revenue: "Revenue", average_lead_value: "Avg lead value", cost: "Cost", roi: "ROI", cost_per_lead: "Cost per lead",
};

// The API name of each Metric enum value whose name is not simply its own in lower case.
const API_NAMES = { AVERAGE_HANDLE_TIME: "average_handle_time_seconds",
                    AVERAGE_SPEED_OF_ANSWER: "average_speed_of_answer_seconds",
                    FIRST_CONTACT_RESOLUTION: "first_contact_resolution_rate", AVAILABLE_TIME: "available_seconds" };

/** The name figures carry for a Metric enum value (CALLS_TOTAL → calls_total). */
export function metricName(metric) {
  return API_NAMES[metric] || metric.toLowerCase();
}

/** A metric's name for people: ours for built-ins, a custom metric's own name with spaces. */
export function label(name) {
  if (LABELS[name]) return LABELS[name];
  const spaced = String(name).replace(/_/g, " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function duration(seconds) {
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** The value as a wall screen shows it; "–" when the metric is undefined (a ratio over nothing). */
export function format(name, value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (DURATIONS.has(name)) return duration(value);
  if (RATES.has(name)) return `${(value * 100).toLocaleString(undefined, { maximumFractionDigits: 1 })}%`;
  if (MONEY.has(name)) {
    return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  if (COUNTS.has(name)) return value.toLocaleString(undefined, { maximumFractionDigits: 0 });
  return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** Counts read best as bars, everything else (rates, durations, money) as a line. */
export function chartKind(name) {
  return COUNTS.has(name) ? "bar" : "line";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function empty(body, text) {
  body.replaceChildren(el("p", { class: "empty", text }));
}

// -- KPI ---------------------------------------------------------------------------------------------------------

/** One big number per metric, side by side; `data-value` keeps the exact figure. */
export function drawValues(body, values) {
  if (!values.length) return empty(body, "No metrics");
  const row = el("div", { class: "kpis", "data-count": String(values.length) });
  for (const v of values) {
    row.append(el("div", { class: "kpi" },
      el("div", { class: "kpi-value", "data-metric": v.name, "data-value": v.value === null ? "" : String(v.value),
                  text: format(v.name, v.value) }),
      el("div", { class: "kpi-label", text: label(v.name) })));
  }
  body.replaceChildren(row);
}

// -- charts ------------------------------------------------------------------------------------------------------

function bucketLabel(iso, granularity, timeZone) {
  const at = new Date(iso);
  const options = granularity === "QUARTER_HOUR" || granularity === "HOUR"
    ? { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
    : granularity === "MONTH" ? { month: "short", year: "numeric" } : { day: "numeric", month: "short" };
  try {
    return at.toLocaleString(undefined, { ...options, timeZone });
  } catch {
    return at.toLocaleString(undefined, options);
  }
}

/** The headline of a series: the total of a count, the latest known value of anything else. */
function headline(s) {
  if (chartKind(s.name) === "bar") return s.values.reduce((sum, v) => sum + (v ?? 0), 0);
  return [...s.values].reverse().find((v) => v !== null) ?? null;
}

/** Each series in its own panel (their units differ): a label, its headline, and a bar or line chart. */
export function drawSeries(body, series, timeZone) {
  if (!series.series.length || !series.bucketStarts.length) return empty(body, "No buckets in this range");
  const panels = el("div", { class: "series-panels" });
  body.replaceChildren(panels);
  const charts = [];
  for (const [i, s] of series.series.entries()) {
    const chart = el("div", { class: "series-chart" });
    const kind = chartKind(s.name) === "bar" ? "total" : "latest";
    const value = headline(s);
    panels.append(el("div", { class: "series-panel", "data-series": s.name },
      el("div", { class: "series-head" },
        el("span", { class: "series-name", text: `${label(s.name)} · ${kind}` }),
        el("span", { class: `series-latest colour-${i % 6}`, "data-value": value === null ? "" : String(value),
                     text: format(s.name, value) })),
      chart));
    charts.push([chart, s, i % 6]);
  }
  // Plotted once every panel is in place, at the size each ends up with.
  for (const [chart, s, colour] of charts) chart.append(plot(chart, s, series, timeZone, colour));
}

function plot(container, s, series, timeZone, colour) {
  const width = Math.max(120, container.clientWidth);
  const height = Math.max(60, container.clientHeight);
  const pad = { left: 8, right: 8, top: 18, bottom: 22 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const known = s.values.filter((v) => v !== null);
  const top = Math.max(0, ...known);
  const bottom = Math.min(0, ...known);
  const span = top - bottom || 1;
  const n = s.values.length;
  const y = (v) => pad.top + h - ((v - bottom) / span) * h;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                             "aria-label": `${label(s.name)} per ${series.granularity.toLowerCase()}`,
                             class: "chart", "data-kind": chartKind(s.name) });
  for (const f of [0, 0.5, 1]) {
    const gy = pad.top + h - f * h;
    chart.append(svg("line", { x1: pad.left, x2: pad.left + w, y1: gy, y2: gy, class: "grid-line" }));
  }
  chart.append(svg("text", { x: pad.left, y: pad.top - 5, class: "axis-label" }, format(s.name, top)));
  if (chartKind(s.name) === "bar") {
    const slot = w / n;
    const bar = Math.max(1, slot * 0.7);
    s.values.forEach((v, i) => {
      if (v === null) return;
      const x = pad.left + i * slot + (slot - bar) / 2;
      chart.append(svg("rect", { x, y: Math.min(y(v), y(0)), width: bar, height: Math.abs(y(0) - y(v)),
                                 class: `bar colour-${colour}`, "data-value": v }));
    });
  } else {
    const x = (i) => pad.left + (n === 1 ? w / 2 : (i / (n - 1)) * w);
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) chart.append(svg("path", { d, class: `line colour-${colour}` }));
    s.values.forEach((v, i) => {
      if (v !== null && (n <= 31 || i === n - 1)) {
        chart.append(svg("circle", { cx: x(i), cy: y(v), r: 3, class: `dot colour-${colour}` }));
      }
    });
  }
  const ticks = n <= 2 ? [...Array(n).keys()] : [0, Math.floor((n - 1) / 2), n - 1];
  for (const i of ticks) {
    const tx = pad.left + (n === 1 ? w / 2 : (i / Math.max(1, n - 1)) * w);
    const anchor = i === 0 && n > 1 ? "start" : i === n - 1 && n > 1 ? "end" : "middle";
    chart.append(svg("text", { x: tx, y: height - 5, "text-anchor": anchor, class: "axis-label" },
                     bucketLabel(series.bucketStarts[i], series.granularity, timeZone)));
  }
  return chart;
}

// -- leaderboard, funnel, table ------------------------------------------------------------------------------------

export function drawLeaderboard(body, board) {
  if (!board.entries.length) return empty(body, "Nobody ranked yet");
  const rows = board.entries.map((e) => el("tr", { class: e.rank !== null && e.rank <= 3 ? `podium podium-${e.rank}` : "" },
    el("td", { class: "rank", text: e.rank === null ? "–" : String(e.rank) }),
    el("td", { class: "agent", text: e.agent.name }),
    el("td", { class: "number", "data-value": e.value === null ? "" : String(e.value),
               text: format(board.name, e.value) })));
  body.replaceChildren(el("table", { class: "board" },
    el("thead", {}, el("tr", {}, el("th", { text: "#" }), el("th", { text: "Agent" }),
                                el("th", { class: "number", text: label(board.name) }))),
    el("tbody", {}, ...rows)));
}

export function drawFunnel(body, funnel) {
  const stages = funnel.stages;
  if (!stages.length) return empty(body, "No leads in this range");
  const most = Math.max(1, ...stages.map((s) => s.entered));
  const list = el("div", { class: "funnel" });
  for (const s of stages) {
    const fill = el("div", { class: `funnel-fill stage-${s.stage.toLowerCase()}` });
    fill.style.width = `${(s.entered / most) * 100}%`;
    const next = s.conversionToNext === null ? "" : `→ ${format("conversion_rate", s.conversionToNext)}`;
    list.append(el("div", { class: "funnel-stage", "data-stage": s.stage },
      el("span", { class: "funnel-name", text: s.stage.charAt(0) + s.stage.slice(1).toLowerCase() }),
      el("div", { class: "funnel-bar" }, fill),
      el("span", { class: "funnel-count number", "data-value": String(s.entered),
                   text: s.entered.toLocaleString() }),
      el("span", { class: "funnel-next", text: next })));
  }
  const overall = funnel.overallConversion === null ? null
    : el("p", { class: "funnel-overall", text: `Overall ${format("conversion_rate", funnel.overallConversion)}` });
  body.replaceChildren(list);
  if (overall) body.append(overall);
}

export function drawTable(body, table) {
  if (!table.rows.length) return empty(body, "No agents");
  const head = el("tr", {}, el("th", { text: "Agent" }),
                  ...table.names.map((n) => el("th", { class: "number", text: label(n) })));
  const rows = table.rows.map((r) => el("tr", {}, el("td", { class: "agent", text: r.agent.name }),
    ...table.names.map((n, i) => {
      const change = r.change[i];
      const arrow = change === null || change === 0 ? null
        : el("span", { class: change > 0 ? "up" : "down", text: change > 0 ? " ▲" : " ▼" });
      return el("td", { class: "number", "data-value": r.values[i] === null ? "" : String(r.values[i]) },
                format(n, r.values[i]), arrow);
    })));
  body.replaceChildren(el("table", { class: "board compare" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

/** Whichever field of the WidgetData is set (the one of the widget's type, as the gateway read it). */
export function drawData(body, data, timeZone) {
  if (!data) return empty(body, "No data");
  if (data.values) return drawValues(body, data.values);
  if (data.series) return drawSeries(body, data.series, timeZone);
  if (data.leaderboard) return drawLeaderboard(body, data.leaderboard);
  if (data.funnel) return drawFunnel(body, data.funnel);
  if (data.table) return drawTable(body, data.table);
  return empty(body, "No data");
}
