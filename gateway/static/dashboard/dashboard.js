// The CallPulse wall-screen dashboard: sign in with a token, the viewer's widgets on a 24-column grid, live
// figures over graphql-transport-ws, and adding, arranging and removing widgets. No build step: plain modules
// served by the gateway, nothing from anywhere else.

import { GraphQLFailure, LiveClient, describeError, errorCode, request } from "./transport.js";
import { drawData, label, metricName } from "./widgets.js";

const COLUMNS = 24;
const TOKEN_KEY = "callpulse.dashboard.token";
const MIN_ROW_PX = 40;
const MAX_ROW_PX = 180;
const MOVE_SAVE_DELAY_MS = 400;
const START_RETRY_FIRST_MS = 2_000;
const START_RETRY_MAX_MS = 60_000;
// Codes that mean this token will not do: back to the sign-in (any other failure is retried).
const SIGN_IN_AGAIN = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);
// A screen token is renewed this long before it expires (or halfway through its life, if that is later),
// and again after this long when the gateway could not be reached.
const RENEW_BEFORE_MS = 10 * 60_000;
const RENEW_RETRY_MS = 15_000;
// A new widget's size, by type, in grid cells.
const DEFAULT_SIZE = { KPI: [6, 3], TIME_SERIES: [12, 5], LEADERBOARD: [8, 6], FUNNEL: [8, 5], TABLE: [12, 6] };

// -- GraphQL documents (constant text: every screen asking the same question shares one live group) -----------

const DATA_FIELDS = `
fragment SeriesFields on Series { granularity bucketStarts series { name metric values } }
fragment BoardFields on Leaderboard { name metric higherIsBetter entries { rank value agent { id name } } }
fragment WidgetDataFields on WidgetData {
  values { name metric value }
  series { ...SeriesFields }
  leaderboard { ...BoardFields }
  funnel { overallConversion stages { stage entered conversionToNext } }
  table { names metrics rows { agent { id name } values change } }
}`;

const WIDGET_FIELDS = `
fragment WidgetFields on Widget {
  id title type position { x y w h }
  config { metrics customMetrics scope { kind id } range { from to preset } granularity first }
}`;

const LOAD = `query DashboardLoad {
  viewer { subject user { displayName } tenant { name timezone } }
  widgets { ...WidgetFields data { ...WidgetDataFields } }
}${WIDGET_FIELDS}${DATA_FIELDS}`;

// The grid without figures: after a reconnect the subscriptions bring those.
const LAYOUT = `query DashboardLayout { widgets { ...WidgetFields } }${WIDGET_FIELDS}`;

// Introspection on its own: graphql-core answers it, the planned engine answers the rest.
const SCHEMA = `query DashboardSchema {
  metric: __type(name: "Metric") { enumValues { name } }
  preset: __type(name: "DateRangePreset") { enumValues { name } }
  granularity: __type(name: "Granularity") { enumValues { name } }
  widgetType: __type(name: "WidgetType") { enumValues { name } }
  scopeKind: __type(name: "ScopeKind") { enumValues { name } }
}`;

const CREATE = `mutation DashboardCreateWidget($input: CreateWidgetInput!) {
  createWidget(input: $input) { ...WidgetFields data { ...WidgetDataFields } }
}${WIDGET_FIELDS}${DATA_FIELDS}`;

const MOVE = `mutation DashboardMoveWidgets($moves: [WidgetMoveInput!]!) {
  moveWidgets(moves: $moves) { id position { x y w h } }
}`;

const DELETE = `mutation DashboardDeleteWidget($id: ID!) { deleteWidget(id: $id) }`;

const RENEW = `mutation DashboardRenewScreenToken { renewScreenToken { token tokenExpiresAt } }`;

const CUSTOM_METRICS = `query DashboardCustomMetrics { customMetrics { name } }`;

const SCOPE_CHOICES = {
  TEAM: `query DashboardTeams { choices: teams(first: 200) { edges { node { id name } } } }`,
  AGENT: `query DashboardAgents { choices: agents(first: 200) { edges { node { id name } } } }`,
  CAMPAIGN: `query DashboardCampaigns { choices: campaigns(first: 200) { edges { node { id name } } } }`,
};

// A widget's figures, live: the same fields as `widgets { data }`.
const LIVE_WIDGET_DATA = `subscription DashboardWidgetData($widgetId: ID!) {
  widgetData(widgetId: $widgetId) { ...WidgetDataFields }
}${DATA_FIELDS}`;

// -- page state ------------------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const state = {
  token: null,
  live: null,
  timeZone: undefined,
  schema: null,           // the enums the add form offers: {metrics, presets, granularities, types, scopeKinds}
  views: new Map(),       // widget id → view
  arranging: false,
  pendingMoves: new Map(), // widget id → {x, y, w, h}
  savesInFlight: 0,
  moveTimer: null,
  clockTimer: null,
  startTimer: null,
  renewTimer: null,
  generation: 0,          // bumped at every sign-in and sign-out: late answers of an old session are dropped
};

// -- a widget's live figures -------------------------------------------------------------------------------------
//
// `follow(widget, sink)` calls sink.data(WidgetData) with every new state of the widget's figures,
// sink.errors([GraphQLError]) when they cannot be had, and sink.ended() when the server ended the subscription
// (after an error); it returns a function that stops following. One `widgetData` subscription per widget: the
// gateway refreshes it when the figures change, and when the widget is edited.

function follow(widget, sink) {
  return state.live.subscribe(LIVE_WIDGET_DATA, { widgetId: widget.id }, {
    next(result) {
      const errors = result.errors || [];
      if (result.data) sink.data(result.data.widgetData);
      if (errors.length) sink.errors(errors);
    },
    error(errors) {
      sink.ended();
      sink.errors(errors);
    },
    complete() { sink.ended(); },
  });
}

// -- a widget on the grid ----------------------------------------------------------------------------------------

class WidgetView {
  constructor(widget) {
    this.widget = widget;
    this.data = null;
    this.stop = () => {};
    this.ended = false;
    this.element = document.createElement("article");
    this.element.className = "widget";
    this.head = document.createElement("header");
    this.head.className = "widget-head";
    this.title = document.createElement("h2");
    this.title.className = "widget-title";
    this.tools = arrangeTools(this);
    this.head.append(this.title, this.tools);
    this.body = document.createElement("div");
    this.body.className = "widget-body";
    this.error = document.createElement("p");
    this.error.className = "widget-error";
    this.error.hidden = true;
    this.element.append(this.head, this.body, this.error);
    enableDrag(this);
    this.update(widget);
    this.body.replaceChildren(Object.assign(document.createElement("p"), { className: "empty", textContent: "…" }));
  }

  /** Title, type and place; true when what it measures changed (its live figures must be followed anew). */
  update(widget) {
    const before = this.widget;
    this.widget = widget;
    this.element.dataset.widgetId = widget.id;
    this.element.dataset.type = widget.type;
    this.element.dataset.widgetTitle = widget.title;
    this.title.textContent = widget.title;
    this.place(widget.position);
    return before !== widget && (before.type !== widget.type
      || JSON.stringify(before.config) !== JSON.stringify(widget.config));
  }

  place({ x, y, w, h }) {
    this.widget = { ...this.widget, position: { x, y, w, h } };
    Object.assign(this.element.dataset, { x: String(x), y: String(y), w: String(w), h: String(h) });
    this.element.style.gridColumn = `${x + 1} / span ${w}`;
    this.element.style.gridRow = `${y + 1} / span ${h}`;
  }

  start() {
    this.stop();
    this.ended = false;
    this.stop = follow(this.widget, { data: (d) => this.showData(d), errors: (e) => this.showErrors(e),
                                      ended: () => { this.ended = true; } });
  }

  showData(data) {
    if (data === null || data === undefined) return;
    this.data = data;
    this.error.hidden = true;
    delete this.element.dataset.errorCode;
    this.redraw();
    markUpdated();
  }

  redraw() {
    if (this.data) drawData(this.body, this.data, state.timeZone);
  }

  showErrors(errors) {
    if (errors.some((e) => errorCode(e) === "UNAUTHENTICATED")) {
      signOut(describeError(errors.find((e) => errorCode(e) === "UNAUTHENTICATED")));
      return;
    }
    const first = errors[0];
    this.element.dataset.errorCode = errorCode(first);
    this.error.dataset.code = errorCode(first);
    this.error.textContent = describeError(first);
    this.error.hidden = false;
  }

  dispose() {
    this.stop();
    this.element.remove();
  }
}

/** Puts the widgets on the grid: new ones added and followed, changed ones updated, gone ones removed. */
function applyWidgets(widgets, errors = []) {
  const seen = new Set();
  const grid = $("grid");
  widgets.forEach((widget, i) => {
    seen.add(widget.id);
    let view = state.views.get(widget.id);
    const fresh = !view;
    if (fresh) {
      view = new WidgetView(widget);
      state.views.set(widget.id, view);
      grid.append(view.element);
    }
    const changed = view.update(widget);
    if (widget.data !== undefined) view.showData(widget.data);
    const own = errors.filter((e) => Array.isArray(e.path) && e.path[0] === "widgets" && e.path[1] === i);
    if (own.length) view.showErrors(own);
    // A subscription the server ended (say FORBIDDEN) is tried again whenever the grid is read again.
    if (fresh || changed || view.ended) view.start();
  });
  for (const [id, view] of state.views) {
    if (!seen.has(id)) {
      view.dispose();
      state.views.delete(id);
    }
  }
  layout();
}

function addView(widget) {
  const widgets = [...state.views.values()].map((v) => ({ ...v.widget, data: undefined }));
  applyWidgets([...widgets, widget]);
}

/** Rows as tall as the screen allows (a wall screen shows the whole grid), within sane bounds. */
function layout() {
  const grid = $("grid");
  const rows = Math.max(1, ...[...state.views.values()].map((v) => v.widget.position.y + v.widget.position.h));
  const gap = parseFloat(getComputedStyle(grid).rowGap) || 0;
  const top = grid.getBoundingClientRect().top + window.scrollY;
  const room = window.innerHeight - top - 16 - gap * (rows - 1);
  const row = Math.max(MIN_ROW_PX, Math.min(MAX_ROW_PX, Math.floor(room / rows)));
  grid.style.setProperty("--row-height", `${row}px`);
  $("empty-grid").hidden = state.views.size > 0 || document.body.dataset.view !== "dashboard";
  for (const view of state.views.values()) view.redraw();
}

function markUpdated() {
  const at = new Date().toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit",
                                                       hourCycle: "h23", timeZone: state.timeZone });
  $("updated").textContent = `updated ${at}`;
}

// -- arranging: arrow buttons, drag, resize, remove ------------------------------------------------------------

function button(text, title, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.title = title;
  b.setAttribute("aria-label", title);
  b.addEventListener("click", (e) => { e.stopPropagation(); onClick(b); });
  return b;
}

function arrangeTools(view) {
  const tools = document.createElement("span");
  tools.className = "widget-tools";
  const nudge = (dx, dy, dw, dh) => () => {
    const { x, y, w, h } = view.widget.position;
    moveTo(view, { x: x + dx, y: y + dy, w: w + dw, h: h + dh });
  };
  tools.append(
    button("◀", "Move left", nudge(-1, 0, 0, 0)), button("▲", "Move up", nudge(0, -1, 0, 0)),
    button("▼", "Move down", nudge(0, 1, 0, 0)), button("▶", "Move right", nudge(1, 0, 0, 0)),
    button("−W", "Narrower", nudge(0, 0, -1, 0)), button("+W", "Wider", nudge(0, 0, 1, 0)),
    button("−H", "Shorter", nudge(0, 0, 0, -1)), button("+H", "Taller", nudge(0, 0, 0, 1)),
    button("✕", "Remove", (b) => confirmRemove(view, b)),
  );
  return tools;
}

function clampPosition({ x, y, w, h }) {
  const width = Math.max(1, Math.min(COLUMNS, w));
  const height = Math.max(1, Math.min(24, h));
  return { x: Math.max(0, Math.min(COLUMNS - width, x)), y: Math.max(0, Math.min(999, y)), w: width, h: height };
}

/** Shows the new place at once and saves it (with any other moves made meanwhile) in one moveWidgets. */
function moveTo(view, position) {
  const next = clampPosition(position);
  const now = view.widget.position;
  if (next.x === now.x && next.y === now.y && next.w === now.w && next.h === now.h) return;
  view.place(next);
  state.pendingMoves.set(view.widget.id, next);
  markUnsaved();
  clearTimeout(state.moveTimer);
  state.moveTimer = setTimeout(saveMoves, MOVE_SAVE_DELAY_MS);
  layout();
}

/** `data-unsaved` on the body while a move is waiting or being saved. */
function markUnsaved() {
  if (state.pendingMoves.size || state.savesInFlight) document.body.dataset.unsaved = "true";
  else delete document.body.dataset.unsaved;
}

async function saveMoves() {
  const moves = [...state.pendingMoves].map(([id, p]) => ({ id, ...p }));
  state.pendingMoves.clear();
  if (!moves.length) return;
  const generation = state.generation;
  state.savesInFlight += 1;
  try {
    const { data } = await request(state.token, MOVE, { moves });
    if (generation !== state.generation) return;
    // As saved, unless moved again meanwhile (that move is saved next).
    for (const moved of data.moveWidgets) {
      if (!state.pendingMoves.has(moved.id)) state.views.get(moved.id)?.place(moved.position);
    }
    layout();
  } catch (e) {
    if (generation === state.generation) {
      handleFailure(e);
      await reload(); // the grid as the server has it
    }
  } finally {
    if (generation === state.generation) {
      state.savesInFlight -= 1;
      markUnsaved();
    }
  }
}

function confirmRemove(view, b) {
  if (b.dataset.confirm !== "true") {
    b.dataset.confirm = "true";
    b.textContent = "Remove?";
    setTimeout(() => { b.dataset.confirm = "false"; b.textContent = "✕"; }, 4000);
    return;
  }
  removeWidget(view);
}

async function removeWidget(view) {
  const generation = state.generation;
  // Unfollowed first: a deleted widget's subscription would end with NOT_FOUND.
  view.stop();
  try {
    await request(state.token, DELETE, { id: view.widget.id });
    if (generation !== state.generation) return;
    view.dispose();
    state.views.delete(view.widget.id);
    state.pendingMoves.delete(view.widget.id);
    layout();
  } catch (e) {
    if (generation !== state.generation) return;
    view.start();
    handleFailure(e, view);
  }
}

/** While arranging, a widget's head drags it; it lands on the nearest cell and is saved like a button move. */
function enableDrag(view) {
  let start = null;
  view.head.addEventListener("pointerdown", (e) => {
    if (!state.arranging || e.button !== 0 || e.target.closest("button")) return;
    const grid = $("grid");
    const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
    const column = (grid.clientWidth + gap) / COLUMNS;
    const row = view.element.getBoundingClientRect().height / view.widget.position.h
      + gap / view.widget.position.h;
    start = { x: e.clientX, y: e.clientY, column, row, from: view.widget.position };
    view.head.setPointerCapture(e.pointerId);
    view.element.classList.add("dragging");
    e.preventDefault();
  });
  view.head.addEventListener("pointermove", (e) => {
    if (!start) return;
    view.element.style.transform = `translate(${e.clientX - start.x}px, ${e.clientY - start.y}px)`;
  });
  const drop = (e, keep) => {
    if (!start) return;
    const dx = Math.round((e.clientX - start.x) / start.column);
    const dy = Math.round((e.clientY - start.y) / start.row);
    view.element.style.transform = "";
    view.element.classList.remove("dragging");
    const from = start.from;
    start = null;
    if (keep) moveTo(view, { ...from, x: from.x + dx, y: from.y + dy });
  };
  view.head.addEventListener("pointerup", (e) => drop(e, true));
  view.head.addEventListener("pointercancel", (e) => drop(e, false));
}

function setArranging(on) {
  state.arranging = on;
  document.body.classList.toggle("arranging", on);
  $("arrange-button").setAttribute("aria-pressed", String(on));
  $("arrange-button").textContent = on ? "Done" : "Arrange";
}

// -- adding a widget ---------------------------------------------------------------------------------------------

function options(select, values, labelOf = (v) => v) {
  select.replaceChildren(...values.map((v) => new Option(labelOf(v), v)));
}

function pretty(enumName) {
  const words = enumName.replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function checkboxes(container, name, values, labelOf) {
  container.replaceChildren(...values.map((v) => {
    const box = Object.assign(document.createElement("input"), { type: "checkbox", name, value: v });
    const item = document.createElement("label");
    item.className = "choice";
    item.append(box, ` ${labelOf(v)}`);
    return item;
  }));
}

function prepareAddForm() {
  const s = state.schema;
  options($("add-type"), s.types, pretty);
  checkboxes($("add-metrics"), "metrics", s.metrics, (m) => label(metricName(m)));
  options($("add-scope-kind"), s.scopeKinds, pretty);
  options($("add-range"), s.presets, pretty);
  options($("add-granularity"), s.granularities, pretty);
  $("add-range").value = s.presets.includes("TODAY") ? "TODAY" : s.presets[0];
  $("add-granularity").value = s.granularities.includes("HOUR") ? "HOUR" : s.granularities[0];
  fitAddForm();
}

function fitAddForm() {
  const type = $("add-type").value;
  $("add-metrics-set").hidden = type === "FUNNEL";
  $("add-custom-set").hidden = type === "FUNNEL" || !$("add-custom").childElementCount;
  $("add-granularity-label").hidden = type !== "TIME_SERIES";
  $("add-first-label").hidden = type !== "LEADERBOARD";
  const [w, h] = DEFAULT_SIZE[type] || [6, 4];
  $("add-w").value = String(w);
  $("add-h").value = String(h);
}

async function openAddForm() {
  showFormError(null);
  $("add-form").reset();
  prepareAddForm();
  $("add-dialog").showModal();
  const generation = state.generation;
  try {
    const { data } = await request(state.token, CUSTOM_METRICS);
    if (generation !== state.generation) return;
    checkboxes($("add-custom"), "customMetrics", data.customMetrics.map((m) => m.name), label);
    fitAddForm();
  } catch (e) {
    if (generation === state.generation && e.code === "UNAUTHENTICATED") handleFailure(e);
  }
  await fillScopeChoices();
}

async function fillScopeChoices() {
  const kind = $("add-scope-kind").value;
  const select = $("add-scope-id");
  $("add-scope-id-label").hidden = !SCOPE_CHOICES[kind];
  select.replaceChildren();
  if (!SCOPE_CHOICES[kind]) return;
  try {
    const { data } = await request(state.token, SCOPE_CHOICES[kind]);
    if ($("add-scope-kind").value !== kind) return;
    select.replaceChildren(...data.choices.edges.map((e) => new Option(e.node.name, e.node.id)));
  } catch (e) {
    showFormError(e.errors ? e.errors[0] : { message: String(e) });
  }
}

function showFormError(error) {
  const box = $("add-error");
  for (const field of $("add-form").querySelectorAll(".invalid")) field.classList.remove("invalid");
  if (!error) {
    box.hidden = true;
    return;
  }
  box.textContent = describeError(error);
  box.dataset.code = errorCode(error);
  box.hidden = false;
  // `extensions.argument` names the input field, e.g. input.config.metrics.
  const argument = String((error.extensions && error.extensions.argument) || "").replace(/^input\./, "");
  const parts = argument.split(".");
  for (let n = parts.length; n > 0; n -= 1) {
    const field = $("add-form").querySelector(`[data-field="${parts.slice(0, n).join(".")}"]`);
    if (field) {
      field.classList.add("invalid");
      break;
    }
  }
}

function nextFreeRow() {
  return Math.max(0, ...[...state.views.values()].map((v) => v.widget.position.y + v.widget.position.h));
}

async function submitAddForm(event) {
  event.preventDefault();
  const form = $("add-form");
  const type = $("add-type").value;
  const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((b) => b.value);
  const kind = $("add-scope-kind").value;
  const config = {
    range: { preset: $("add-range").value },
    scope: SCOPE_CHOICES[kind] ? { kind, id: $("add-scope-id").value || null } : { kind },
    metrics: type === "FUNNEL" ? [] : checked("metrics"),
    customMetrics: type === "FUNNEL" ? [] : checked("customMetrics"),
  };
  if (type === "TIME_SERIES") config.granularity = $("add-granularity").value;
  if (type === "LEADERBOARD") config.first = Number($("add-first").value) || 10;
  const input = {
    title: $("add-title-input").value, type, config,
    position: { x: 0, y: Math.min(999, nextFreeRow()), w: Number($("add-w").value), h: Number($("add-h").value) },
  };
  const generation = state.generation;
  $("add-submit").disabled = true;
  try {
    const { data } = await request(state.token, CREATE, { input });
    if (generation !== state.generation) return;
    $("add-dialog").close();
    addView(data.createWidget);
  } catch (e) {
    if (generation !== state.generation) return;
    if (e.code === "UNAUTHENTICATED") handleFailure(e);
    else showFormError(e.errors ? e.errors[0] : { message: String(e) });
  } finally {
    $("add-submit").disabled = false;
  }
}

// -- signing in and out ------------------------------------------------------------------------------------------

function enumValues(type) {
  return type && type.enumValues ? type.enumValues.map((v) => v.name) : [];
}

/** The token's claims as the page can read them (unverified: only to schedule renewals and pick a token). */
function claimsOf(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims && typeof claims === "object" ? claims : {};
  } catch {
    return {};
  }
}

/** A screen token (issueScreenToken) names its grant in `scr`: read-only, short-lived, renewed by the page. */
function isScreenToken(token) {
  return typeof claimsOf(token).scr === "string";
}

function expiresAt(token) {
  const { exp } = claimsOf(token);
  return typeof exp === "number" ? exp * 1000 : null;
}

function showConnection(connection, detail = "") {
  const badge = $("connection");
  badge.dataset.state = connection;
  badge.textContent = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
                        "signed-out": "Signed out", closed: "Signed out" }[connection] || connection;
  badge.title = detail;
}

function showBanner(text) {
  const banner = $("banner");
  banner.textContent = text || "";
  banner.hidden = !text;
}

/** UNAUTHENTICATED anywhere sends the page back to its sign-in; anything else is shown where it happened. */
function handleFailure(e, view = null) {
  const errors = e instanceof GraphQLFailure ? e.errors : [{ message: String(e), extensions: { code: "INTERNAL" } }];
  if (errors.some((x) => errorCode(x) === "UNAUTHENTICATED")) {
    signOut(describeError(errors.find((x) => errorCode(x) === "UNAUTHENTICATED")));
  } else if (view) {
    view.showErrors(errors);
  } else {
    showBanner(describeError(errors[0]));
  }
}

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY);
}

/** Kept for this tab; across browser restarts too when asked, and always for a screen (it renews its token, so
 *  the one in a bookmarked #token= URL is soon older than the one kept here). The last sign-in replaces any
 *  token kept before. */
function keepToken(token, remember) {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (remember || isScreenToken(token)) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** The fragment's token, unless the kept one is a renewal of the same screen grant that lasts longer. */
function startingToken() {
  const given = fragmentToken();
  const kept = storedToken();
  if (given && kept && isScreenToken(given) && claimsOf(given).scr === claimsOf(kept).scr
      && (expiresAt(kept) ?? 0) > (expiresAt(given) ?? 0)) {
    return kept;
  }
  return given || kept;
}

// -- screen tokens: renewed before they expire ------------------------------------------------------------------

function scheduleRenewal(generation) {
  clearTimeout(state.renewTimer);
  const claims = claimsOf(state.token);
  const expiry = expiresAt(state.token);
  if (typeof claims.scr !== "string" || expiry === null) return;
  const lifetime = typeof claims.iat === "number" ? expiry - claims.iat * 1000 : RENEW_BEFORE_MS * 6;
  const ahead = Math.min(RENEW_BEFORE_MS, lifetime / 2);
  state.renewTimer = setTimeout(() => renew(generation), Math.max(0, expiry - ahead - Date.now()));
}

async function renew(generation) {
  try {
    const { data } = await request(state.token, RENEW);
    if (generation !== state.generation) return;
    state.token = data.renewScreenToken.token;
    keepToken(state.token, true);
    showExpiry();
    state.live.renew(state.token);
    scheduleRenewal(generation);
    document.body.dataset.renewals = String(Number(document.body.dataset.renewals || 0) + 1);
  } catch (e) {
    if (generation !== state.generation) return;
    if (e instanceof GraphQLFailure && SIGN_IN_AGAIN.has(e.code)) {
      signOut(`${describeError(e.errors[0])} (renewing the screen token)`);
      return;
    }
    // Unreachable for now: try again, until the token has expired (then the gateway answers UNAUTHENTICATED).
    state.renewTimer = setTimeout(() => renew(generation), RENEW_RETRY_MS);
  }
}

function showExpiry() {
  const expiry = expiresAt(state.token);
  $("tenant").title = expiry ? `token valid until ${new Date(expiry).toLocaleString()}` : "";
}

function fragmentToken() {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (token) {
    // Out of the address bar (and out of a bookmark made later); the fragment never reached the server.
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  return token;
}

async function signIn(token, { remember = false, attempt = 0 } = {}) {
  signOutQuietly();
  const generation = ++state.generation;
  state.token = token;
  document.body.dataset.view = "loading";
  showConnection("connecting");
  let loaded;
  let schemaInfo;
  try {
    [loaded, schemaInfo] = await Promise.all([request(token, LOAD), request(token, SCHEMA)]);
  } catch (e) {
    if (generation !== state.generation) return;
    const error = e instanceof GraphQLFailure ? e.errors[0] : { message: String(e), extensions: {} };
    if (SIGN_IN_AGAIN.has(errorCode(error))) {
      signOut(describeError(error));
      return;
    }
    // The gateway is down or failing (a wall screen that booted first): keep the token and try again.
    const delay = Math.min(START_RETRY_MAX_MS, START_RETRY_FIRST_MS * 2 ** attempt);
    showBanner(`${describeError(error)} — trying again in ${Math.round(delay / 1000)} s`);
    showConnection("reconnecting", describeError(error));
    state.startTimer = setTimeout(() => signIn(token, { remember, attempt: attempt + 1 }), delay);
    return;
  }
  if (generation !== state.generation) return;
  showBanner("");
  keepToken(token, remember);
  const screen = isScreenToken(token);
  document.body.classList.toggle("read-only", screen);
  const { viewer, widgets } = loaded.data;
  const s = schemaInfo.data;
  state.schema = {
    metrics: enumValues(s.metric), presets: enumValues(s.preset), granularities: enumValues(s.granularity),
    types: enumValues(s.widgetType), scopeKinds: enumValues(s.scopeKind),
  };
  state.timeZone = viewer.tenant.timezone;
  const who = viewer.user ? viewer.user.displayName : viewer.subject;
  $("tenant").textContent = `${viewer.tenant.name} · ${who}`;
  $("tenant").textContent += screen ? " · screen" : "";
  showExpiry();
  document.body.dataset.view = "dashboard";
  showBanner(loaded.errors.filter((e) => !Array.isArray(e.path) || e.path[0] !== "widgets")
    .map(describeError).join("; "));
  state.live = new LiveClient(token, {
    onState: (connection, detail) => { if (generation === state.generation) showConnection(connection, detail); },
    onSignedOut: (reason) => {
      if (generation === state.generation) signOut(`UNAUTHENTICATED: the live connection was refused (${reason})`);
    },
    onReconnected: () => { if (generation === state.generation) reload(); },
  });
  applyWidgets(widgets, loaded.errors);
  scheduleRenewal(generation);
}

/** After a reconnect, or a failed save: the grid as the server has it now (others may have changed it). */
async function reload() {
  const generation = state.generation;
  try {
    const { data, errors } = await request(state.token, LAYOUT);
    if (generation !== state.generation) return;
    applyWidgets(data.widgets, errors);
  } catch (e) {
    if (generation === state.generation) handleFailure(e);
  }
}

function signOutQuietly() {
  state.generation += 1;
  if (state.live) state.live.close();
  state.live = null;
  clearTimeout(state.startTimer);
  clearTimeout(state.renewTimer);
  clearTimeout(state.moveTimer);
  state.pendingMoves.clear();
  state.savesInFlight = 0;
  markUnsaved();
  for (const view of state.views.values()) view.dispose();
  state.views.clear();
  state.token = null;
}

function signOut(message = "") {
  signOutQuietly();
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  setArranging(false);
  document.body.classList.remove("read-only");
  if ($("add-dialog").open) $("add-dialog").close();
  document.body.dataset.view = "sign-in";
  showConnection("signed-out");
  showBanner("");
  $("tenant").textContent = "";
  $("updated").textContent = "";
  const box = $("sign-in-error");
  box.textContent = message;
  box.dataset.code = message ? message.split(":")[0] : "";
  box.hidden = !message;
  layout();
}

function tick() {
  $("clock").textContent = new Date().toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit",
                                                                     hourCycle: "h23", timeZone: state.timeZone });
}

function start() {
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
    $("token-input").value = "";
    if (token) signIn(token, { remember: $("remember-input").checked });
  });
  $("sign-out-button").addEventListener("click", () => signOut());
  $("arrange-button").addEventListener("click", () => setArranging(!state.arranging));
  $("add-button").addEventListener("click", openAddForm);
  $("add-cancel").addEventListener("click", () => $("add-dialog").close());
  $("add-form").addEventListener("submit", submitAddForm);
  $("add-type").addEventListener("change", fitAddForm);
  $("add-scope-kind").addEventListener("change", fillScopeChoices);
  window.addEventListener("hashchange", () => {
    const token = fragmentToken();
    if (token) signIn(token);
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(layout, 150);
  });
  state.clockTimer = setInterval(tick, 10_000);
  tick();
  const token = startingToken();
  if (token) signIn(token);
  else signOut();
}

start();
