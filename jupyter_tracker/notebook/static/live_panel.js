// The live panel's view: a responsive grid of small uPlot charts, one per metric, grouped by the
// prefix before "/", drawn only while on screen.
//
// Built for 10,000 metric names: the kernel sends every name once (`_catalog`), but data only for
// the charts this view has on screen (it tells the kernel which with `model.send`; the kernel
// hears it while the training cell runs, through a subshell). A chart's uPlot instance is created
// when its cell scrolls near the viewport and destroyed when it is far out; a group pages its
// charts, and groups of more than a few dozen start folded with their count; the search box
// narrows every group at once. `_index` describes the metrics of the latest refresh and `_data`
// holds their downsampled columns (float32/float64) and, where present, the smoothing summary that
// makes the smoothed line equal TensorBoard's smoothing of the full series. Every control acts
// here, on the points the browser holds, so it responds while the cell runs.
//
// Images and histograms fill a media row above the groups: the last steps of each image key with
// a step slider (PNG bytes in `_media_data`, shown through blob URLs), and each histogram key as a
// plotly.js heatmap (plotly.js comes from the installed plotly package, sent once gzipped in
// `_plotly_gz`, and is evaluated once per page, only when a heatmap needs it).
// uPlot (MIT, vendored in static/) is inlined before this module by live_panel.bundled_esm().
import { tensorboardEma, readSmoothingSummary, smoothSummary } from "./smoothing.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f"];
const UNGROUPED = "charts";
const SYSTEM = "system";
const COLLAPSED_BY_DEFAULT = ["system"];
// a group with more charts than this starts folded, showing its count
const COLLAPSE_ABOVE = 36;
// charts per page of a group
const PAGE_SIZE = 24;
// groups open by default until they hold this many charts in all; later ones start folded
const OPEN_CHARTS = 96;
const CHART_HEIGHT = 190;
// charts nearer the viewport than this are drawn (and their data asked for)
const NEAR_MARGIN = "300px";
// charts farther than this are released (their uPlot instance and canvas freed)
const FAR_MARGIN = "1500px";
// drawing stops for the frame after this many milliseconds; the rest follows in the next frames
const FRAME_BUDGET_MS = 10;
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

// one colour per metric name, the same for the life of the run, across finish and reloads
export function colorFor(name) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return PALETTE[hash % PALETTE.length];
}

// plotly.js, loaded once per page (for histogram heatmaps) ------------------------------------
function plotlyRegistry() {
  let registry = globalThis.__jupyterTrackerPlotly;
  if (!registry) {
    let resolve;
    const promise = new Promise((done) => { resolve = done; });
    registry = { promise, resolve, started: false };
    globalThis.__jupyterTrackerPlotly = registry;
    if (globalThis.Plotly && typeof globalThis.Plotly.react === "function") {
      registry.started = true;
      resolve(globalThis.Plotly);
    }
  }
  return registry;
}

async function gunzipText(view) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

function evaluateScript(source) {
  return new Promise((resolve, reject) => {
    // an AMD loader on the page (classic Notebook's require.js) would swallow the UMD bundle
    const savedDefine = globalThis.define;
    globalThis.define = undefined;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const script = document.createElement("script");
    script.src = url;
    script.dataset.jupyterTracker = "plotly";
    script.onload = () => { globalThis.define = savedDefine; URL.revokeObjectURL(url); resolve(globalThis.Plotly); };
    script.onerror = (error) => { globalThis.define = savedDefine; URL.revokeObjectURL(url); reject(error); };
    document.head.appendChild(script);
  });
}

async function providePlotly(model) {
  const registry = plotlyRegistry();
  if (registry.started) return true;
  const packed = model.get("_plotly_gz");
  if (!packed || packed.byteLength === 0) return false;
  registry.started = true;
  try {
    registry.resolve(await evaluateScript(await gunzipText(packed)));
  } catch (error) {
    registry.started = false;
    console.error("jupyter_tracker: could not load plotly.js", error);
    return false;
  }
  return true;
}

function whenPlotly(model) {
  const registry = plotlyRegistry();
  providePlotly(model).then((provided) => {
    if (provided) { model.send({ type: "have-plotly" }); return; }
    if (registry.started) return; // another panel on this page is bringing it
    const take = () => providePlotly(model).then((done) => {
      if (!done) return;
      model.off("change:_plotly_gz", take);
      model.send({ type: "have-plotly" }); // the kernel drops it from the widget's state
    });
    model.on("change:_plotly_gz", take);
    model.send({ type: "need-plotly" });
  });
  return registry.promise;
}

// data ----------------------------------------------------------------------------------------
// the metrics of one refresh: name -> {columns, summary, ...}
function decodeSeries(model) {
  const index = model.get("_index") || {};
  const view = model.get("_data");
  const series = new Map();
  if (!view || !index.metrics) return { index, series };
  for (const metric of index.metrics) {
    const columns = {};
    let start = view.byteOffset + metric.offset;
    metric.columns.forEach((column, position) => {
      const single = (metric.dtypes || [])[position] === "f4";
      const end = start + metric.count * (single ? 4 : 8);
      // copy: a column's offset inside the message buffer need not be aligned
      const bytes = view.buffer.slice(start, end);
      const values = single ? Float64Array.from(new Float32Array(bytes)) : new Float64Array(bytes);
      if (column === "wall") for (let i = 0; i < values.length; i++) values[i] += index.wall_base || 0;
      columns[column] = values;
      start = end;
    });
    let summary = null;
    if (metric.summary && typeof readSmoothingSummary === "function") {
      const at = view.byteOffset + metric.summary.offset;
      summary = readSmoothingSummary(new Uint8Array(view.buffer, at, metric.summary.length));
    }
    series.set(metric.name, { ...metric, columns, summary });
  }
  return { index, series };
}

// media: PNG bytes of the last steps of each image key, a float32 heatmap per histogram key
function bytesAt(view, offset, length) {
  return new Uint8Array(view.buffer, view.byteOffset + offset, length);
}

function heatmapTraces(entry, view) {
  const columns = entry.steps.length;
  const floats = new Float32Array(view.buffer.slice(view.byteOffset + entry.offset,
    view.byteOffset + entry.offset + entry.rows * columns * 4));
  const z = [];
  for (let row = 0; row < entry.rows; row++) z.push(Array.from(floats.subarray(row * columns, (row + 1) * columns)));
  const y = [];
  for (let row = 0; row < entry.rows; row++) y.push((entry.edges[row] + entry.edges[row + 1]) / 2);
  return [{ type: "heatmap", x: entry.steps, y, z, colorscale: "Viridis", showscale: false,
    hovertemplate: "step %{x}<br>bin %{y:.4g}: %{z}<extra></extra>" }];
}

function groupOf(name) {
  const slash = name.indexOf("/");
  return slash > 0 ? name.slice(0, slash) : UNGROUPED;
}

// the x column of `metric` for the chosen axis ("auto": its define_metric step metric, else step)
function xValues(metric, axis, stepMetric) {
  const columns = metric.columns;
  // system metrics have no step: they follow time whatever the chosen axis
  if (metric.time_axis) return { values: axis === "wall" ? columns.wall : columns.runtime, kind: axis === "wall" ? "wall" : "relative" };
  if (axis === "auto") {
    const defined = stepMetric || metric.step_metric;
    if (defined && columns[`axis:${defined}`]) return { values: columns[`axis:${defined}`], kind: defined };
    return { values: columns.step, kind: "step" };
  }
  if (axis === "relative") return { values: columns.runtime, kind: "relative" };
  if (axis === "wall") return { values: columns.wall, kind: "wall" };
  if (axis === "step") return { values: columns.step, kind: "step" };
  return { values: columns[`axis:${axis}`] || null, kind: axis };
}

export function formatNumber(value) {
  if (value === null || value === undefined) return "";
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(1).replace("e+", "e");
  return Number(value.toPrecision(4)).toString();
}

// seconds as a duration with its unit: 42 s, 3.5 min, 2.25 h, 1.5 d
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const magnitude = Math.abs(seconds);
  const trim = (value) => Number(value.toPrecision(3)).toString();
  if (magnitude < 60) return `${trim(seconds)} s`;
  if (magnitude < 3600) return `${trim(seconds / 60)} min`;
  if (magnitude < 86400 * 2) return `${trim(seconds / 3600)} h`;
  return `${trim(seconds / 86400)} d`;
}

// log-scale labels: only at powers of ten (uPlot places minor ticks at 2..9 × 10^k)
function logLabels(u, splits) {
  return splits.map((value) => {
    if (!(value > 0)) return "";
    const exponent = Math.log10(value);
    return Math.abs(exponent - Math.round(exponent)) < 1e-9 ? formatNumber(value) : "";
  });
}

// the view --------------------------------------------------------------------------------------
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let viewCounter = 0;

function render({ model, el }) {
  const viewId = `${Date.now().toString(36)}-${(viewCounter += 1)}-${Math.random().toString(36).slice(2, 8)}`;
  const created = performance.now();
  const root = element("div", "jt-live");
  el.appendChild(root);

  const header = element("div", "jt-live-header");
  const title = element("span", "jt-live-title");
  const stateBadge = element("span", "jt-live-state");
  const syncNote = element("span", "jt-live-sync");
  const pointsNote = element("span", "jt-live-points");
  header.append(title, stateBadge, syncNote, pointsNote);

  const controls = element("div", "jt-live-controls");
  const smoothingLabel = element("label", "jt-live-control", "Smoothing ");
  const slider = element("input", "jt-live-smoothing");
  slider.type = "range"; slider.min = "0"; slider.max = "0.999"; slider.step = "0.001";
  const smoothingValue = element("span", "jt-live-smoothing-value");
  smoothingLabel.append(slider, smoothingValue);

  const axisLabel = element("label", "jt-live-control", "X-axis ");
  const axisSelect = element("select", "jt-live-axis");
  axisLabel.append(axisSelect);

  const searchLabel = element("label", "jt-live-control", "Search ");
  const searchInput = element("input", "jt-live-search");
  searchInput.type = "search"; searchInput.placeholder = "metric name"; searchInput.spellcheck = false;
  searchLabel.append(searchInput);

  const filterLabel = element("label", "jt-live-control", "Filter ");
  const filterInput = element("input", "jt-live-filter");
  filterInput.type = "text"; filterInput.placeholder = "regex, e.g. ^train/"; filterInput.spellcheck = false;
  filterLabel.append(filterInput);

  const logLabel = element("label", "jt-live-control", " log scale");
  const logToggle = element("input", "jt-live-log");
  logToggle.type = "checkbox";
  logLabel.prepend(logToggle);
  const matchNote = element("span", "jt-live-matches");
  controls.append(smoothingLabel, axisLabel, searchLabel, filterLabel, logLabel, matchNote);

  const groupsRoot = element("div", "jt-live-groups");
  const emptyNote = element("div", "jt-live-empty", "Waiting for the first logged metrics…");
  const mediaRoot = element("details", "jt-live-group jt-live-media");
  mediaRoot.open = true;
  mediaRoot.hidden = true;
  const mediaGrid = element("div", "jt-live-grid");
  mediaRoot.append(element("summary", "jt-live-group-title", "media"), mediaGrid);
  root.append(header, controls, emptyNote, mediaRoot, groupsRoot);

  const state = {
    smoothing: Number(model.get("smoothing")),
    axis: model.get("x_axis") || "auto",
    filter: model.get("metric_filter") || "",
    search: "",
    log: Boolean(model.get("log_scale")),
    collapsed: new Set(model.get("collapsed_groups") || COLLAPSED_BY_DEFAULT),
    opened: new Set(), // groups the user opened although they are big
    index: {},
    names: [],
    stepMetric: new Map(),
    timeAxis: new Set(),
    series: new Map(),
    groups: new Map(),
    cells: new Map(),
    near: new Set(),
    dirty: new Set(),
    mediaCards: new Map(),
    mediaUrls: [],
    hasMedia: false,
    plotly: null,
    plotlyWanted: false,
    pending: false,
    reported: "",
    reportTimer: 0,
    theme: 0,
    alive: true,
  };
  slider.value = String(state.smoothing);
  smoothingValue.textContent = state.smoothing.toFixed(3);
  filterInput.value = state.filter;
  logToggle.checked = state.log;

  function saveControl(name, value) {
    // local first so every view of this model agrees; the kernel hears it through its subshell
    model.set(name, value);
    model.save_changes();
  }

  function filterExpression() {
    if (!state.filter) return null;
    try {
      filterInput.classList.remove("jt-invalid");
      return new RegExp(state.filter);
    } catch (error) {
      filterInput.classList.add("jt-invalid");
      return null;
    }
  }

  function updateHeader() {
    const info = model.get("header") || {};
    title.textContent = `${info.name || "run"}${info.project ? ` · ${info.project}` : ""}`;
    title.title = info.id ? `run id ${info.id}` : "";
    stateBadge.textContent = info.state || "";
    stateBadge.dataset.state = info.state || "";
    syncNote.textContent = info.sync || "";
    const total = state.index.total_points || 0;
    const metrics = state.names.length;
    pointsNote.textContent = total ? `${metrics.toLocaleString()} metrics · ${total.toLocaleString()} points` : "";
  }

  function updateAxisChoices() {
    const choices = [["auto", "Default"], ["step", "Step"], ["relative", "Relative time"], ["wall", "Wall time"]];
    for (const axis of state.index.axes || []) choices.push([axis, axis]);
    const current = Array.from(axisSelect.options).map((option) => option.value).join("\n");
    if (current !== choices.map((choice) => choice[0]).join("\n")) {
      axisSelect.replaceChildren(...choices.map(([value, label]) => {
        const option = element("option", "", label);
        option.value = value;
        return option;
      }));
    }
    if (!choices.some((choice) => choice[0] === state.axis)) state.axis = "auto";
    axisSelect.value = state.axis;
  }

  // the theme: JupyterLab's CSS variables, read again when the user switches themes
  function themeColors() {
    const style = getComputedStyle(root);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return {
      ink: read("--jt-ink", "#24292f"),
      muted: read("--jt-muted", "#6e7781"),
      grid: read("--jt-grid", "rgba(128,128,128,0.2)"),
      font: read("--jt-font", "system-ui, sans-serif"),
    };
  }
  let colors = themeColors();

  // catalog: every metric name, natural order, grouped ------------------------------------------
  function takeCatalog() {
    const catalog = model.get("_catalog") || {};
    const names = (catalog.names || []).slice().sort(collator.compare);
    state.names = names;
    state.stepMetric = new Map(Object.entries(catalog.step_metric || {}));
    state.timeAxis = new Set(catalog.time_axis || []);
    const byGroup = new Map();
    for (const name of names) {
      const group = groupOf(name);
      let list = byGroup.get(group);
      if (!list) byGroup.set(group, (list = []));
      list.push(name);
    }
    for (const [name, list] of byGroup) groupNode(name).names = list;
    for (const [name, group] of state.groups) if (!byGroup.has(name)) { group.names = []; }
    const order = Array.from(state.groups.keys()).sort((a, b) =>
      (a === SYSTEM) - (b === SYSTEM) || (a === UNGROUPED) - (b === UNGROUPED) || collator.compare(a, b));
    state.groupOrder = order.map((key) => state.groups.get(key));
    const wanted = state.groupOrder.map((group) => group.details);
    if (wanted.some((node, position) => groupsRoot.children[position] !== node)) groupsRoot.replaceChildren(...wanted);
    layoutGroups();
  }

  function groupNode(name) {
    let group = state.groups.get(name);
    if (group) return group;
    const details = element("details", "jt-live-group");
    details.dataset.group = name;
    const summary = element("summary", "jt-live-group-title");
    const label = element("span", "jt-live-group-name", name);
    const count = element("span", "jt-live-group-count");
    summary.append(label, count);
    const pager = element("div", "jt-live-pager");
    const previous = element("button", "jt-live-page-previous", "‹");
    const pageLabel = element("span", "jt-live-page-label");
    const next = element("button", "jt-live-page-next", "›");
    previous.type = "button"; next.type = "button";
    previous.title = "previous charts"; next.title = "next charts";
    pager.append(previous, pageLabel, next);
    const grid = element("div", "jt-live-grid");
    details.append(summary, pager, grid);
    group = { name, names: [], shown: [], details, count, pager, pageLabel, previous, next, grid, page: 0, openByDefault: true };
    state.groups.set(name, group);
    details.addEventListener("toggle", () => {
      if (details.open === group.intendedOpen) return; // the layout opened or folded it, not the user
      if (details.open) { state.collapsed.delete(name); state.opened.add(name); } else { state.collapsed.add(name); state.opened.delete(name); }
      group.intendedOpen = details.open;
      saveControl("collapsed_groups", Array.from(state.collapsed));
      layoutGroup(group);
      reportView();
    });
    previous.addEventListener("click", () => { group.page = Math.max(0, group.page - 1); layoutGroup(group); reportView(); });
    next.addEventListener("click", () => { group.page += 1; layoutGroup(group); reportView(); });
    return group;
  }

  function isOpen(group, matched) {
    if (state.search && matched > 0) return true; // a search opens every group it finds charts in
    if (state.collapsed.has(group.name)) return false;
    if (state.opened.has(group.name)) return true;
    return group.openByDefault;
  }

  // a group opens by default when it is small and the groups before it hold few charts in all
  function decideDefaults() {
    let open = 0;
    for (const group of state.groupOrder || []) {
      group.openByDefault = group.names.length <= COLLAPSE_ABOVE && open < OPEN_CHARTS;
      if (group.openByDefault) open += Math.min(group.names.length, PAGE_SIZE);
    }
  }

  function layoutGroups() {
    decideDefaults();
    const pattern = filterExpression();
    const needle = state.search.toLowerCase();
    let matched = 0;
    for (const group of state.groups.values()) {
      let shown = group.names;
      if (pattern) shown = shown.filter((name) => pattern.test(name));
      if (needle) shown = shown.filter((name) => name.toLowerCase().includes(needle));
      group.shown = shown;
      matched += shown.length;
      layoutGroup(group);
    }
    matchNote.textContent = state.search || state.filter ? `${matched.toLocaleString()} of ${state.names.length.toLocaleString()}` : "";
    const total = state.names.length;
    emptyNote.hidden = (total > 0 && matched > 0) || (total === 0 && state.hasMedia);
    emptyNote.textContent = total > 0 ? "No metric matches the search or filter." : "Waiting for the first logged metrics…";
    reportView();
  }

  function layoutGroup(group) {
    const shown = group.shown;
    group.details.hidden = shown.length === 0;
    const filtered = shown.length !== group.names.length;
    group.count.textContent = ` (${filtered ? `${shown.length.toLocaleString()} of ` : ""}${group.names.length.toLocaleString()})`;
    const open = isOpen(group, shown.length);
    group.intendedOpen = open;
    if (group.details.open !== open) group.details.open = open;
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    group.page = Math.min(group.page, pages - 1);
    const first = group.page * PAGE_SIZE;
    const page = open ? shown.slice(first, first + PAGE_SIZE) : [];
    group.pager.hidden = !open || pages <= 1;
    group.pageLabel.textContent = `${(first + 1).toLocaleString()}–${Math.min(first + PAGE_SIZE, shown.length).toLocaleString()} of ${shown.length.toLocaleString()}`;
    group.previous.disabled = group.page === 0;
    group.next.disabled = group.page >= pages - 1;
    const keep = new Set(page);
    for (const node of Array.from(group.grid.children)) {
      if (!keep.has(node.dataset.metric)) releaseCell(node.dataset.metric);
    }
    const nodes = page.map((name) => cellFor(name).node);
    if (nodes.some((node, position) => group.grid.children[position] !== node) || group.grid.children.length !== nodes.length) {
      group.grid.replaceChildren(...nodes);
    }
  }

  // cells: one per chart of an open group's current page --------------------------------------
  // near/far observers are rooted at the notebook's scroller (an ancestor that scrolls), so their
  // margins reach charts scrolled out of it; created once the panel is attached to the page
  const observers = { near: null, far: null, waiting: new Set() };
  function scrollRoot() {
    // JupyterLab's and Notebook 7's notebook scroller; elsewhere the nearest ancestor that does scroll
    // (an output area is overflow:auto too, but grows with its content: it never scrolls vertically)
    const notebook = root.closest(".jp-WindowedPanel-outer");
    if (notebook) return notebook;
    for (let node = root.parentElement; node && node !== document.body; node = node.parentElement) {
      const overflow = getComputedStyle(node).overflowY;
      if ((overflow === "auto" || overflow === "scroll" || overflow === "overlay") && node.scrollHeight > node.clientHeight + 1) {
        return node;
      }
    }
    return null;
  }
  function startObservers() {
    if (observers.near || !state.alive) return true;
    if (!root.isConnected) return false;
    const scroller = scrollRoot();
    observers.near = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const name = entry.target.dataset.metric;
        if (entry.isIntersecting) { state.near.add(name); state.dirty.add(name); } else state.near.delete(name);
      }
      schedule();
      reportView();
    }, { root: scroller, rootMargin: NEAR_MARGIN });
    observers.far = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) destroyChart(state.cells.get(entry.target.dataset.metric));
      }
    }, { root: scroller, rootMargin: FAR_MARGIN });
    for (const node of observers.waiting) observe(node);
    observers.waiting.clear();
    return true;
  }
  function waitForPage() {
    if (!startObservers()) requestAnimationFrame(waitForPage);
  }
  function observe(node) {
    if (!observers.near) { observers.waiting.add(node); waitForPage(); return; }
    observers.near.observe(node);
    observers.far.observe(node);
  }
  function unobserve(node) {
    observers.waiting.delete(node);
    if (!observers.near) return;
    observers.near.unobserve(node);
    observers.far.unobserve(node);
  }
  const resizeObserver = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const cell = state.cells.get(entry.target.parentNode && entry.target.parentNode.dataset.metric);
      if (!cell) continue;
      const width = Math.floor(entry.contentRect.width);
      if (width <= 0) continue; // hidden (a folded group, a closed sidebar): keep the last size
      cell.width = width;
      if (cell.chart && cell.chart.width !== width) cell.chart.setSize({ width, height: CHART_HEIGHT });
    }
  });

  function cellFor(name) {
    let cell = state.cells.get(name);
    if (cell) return cell;
    const node = element("div", "jt-live-chart");
    node.dataset.metric = name;
    const heading = element("div", "jt-live-chart-title", name);
    heading.title = name;
    const plot = element("div", "jt-live-plot");
    plot.style.height = `${CHART_HEIGHT}px`;
    node.append(heading, plot);
    cell = { name, node, plot, chart: null, width: 0, shape: "" };
    state.cells.set(name, cell);
    observe(node);
    resizeObserver.observe(plot);
    return cell;
  }

  function destroyChart(cell) {
    if (!cell || !cell.chart) return;
    cell.chart.destroy();
    cell.chart = null;
    cell.plot.__jtChart = null;
    cell.shape = "";
    cell.node.dataset.drawn = "false";
  }

  function releaseCell(name) {
    const cell = state.cells.get(name);
    if (!cell) return;
    destroyChart(cell);
    unobserve(cell.node);
    resizeObserver.unobserve(cell.plot);
    cell.node.remove();
    state.cells.delete(name);
    state.near.delete(name);
    // a chart off the page holds no data: paging through 10,000 charts keeps memory flat
    state.series.delete(name);
  }

  // telling the kernel which charts are on screen -------------------------------------------
  function reportView() {
    if (state.reportTimer) return;
    state.reportTimer = setTimeout(() => {
      state.reportTimer = 0;
      if (!state.alive) return;
      const visible = state.names.length ? Array.from(state.near).filter((name) => state.cells.has(name)).sort(collator.compare) : [];
      const missing = visible.filter((name) => !state.series.has(name));
      const key = `${visible.join("\n")}|${missing.length}`;
      if (key === state.reported) return;
      state.reported = key;
      model.send({ type: "view", view: viewId, visible, missing });
      root.dataset.reported = String(visible.length);
    }, 100);
  }

  // drawing ------------------------------------------------------------------------------------
  function chartData(cell, metric) {
    const { values: xs, kind } = xValues(metric, state.axis, state.stepMetric.get(cell.name));
    const values = metric.columns.value;
    let smoothed;
    if (metric.summary) smoothed = smoothSummary(metric.summary, state.smoothing);
    const x = [];
    const raw = [];
    const keep = [];
    for (let i = 0; i < values.length; i++) {
      if (xs && !Number.isFinite(xs[i])) continue; // no x on this axis yet (e.g. before the first epoch)
      x.push(xs ? xs[i] : i);
      raw.push(values[i]);
      keep.push(i);
    }
    let line;
    if (smoothed) line = keep.map((i) => smoothed[i]);
    else line = Array.from(tensorboardEma(raw, state.smoothing));
    const show = (value) => (Number.isFinite(value) && (!state.log || value > 0) ? value : null);
    return { kind, data: [x, raw.map(show), line.map(show)] };
  }

  function chartOptions(cell, kind, width) {
    const color = colorFor(cell.name);
    const time = kind === "wall";
    const font = `11px ${colors.font}`;
    const axisStyle = { stroke: colors.ink, font, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1, size: 4 } };
    const onePoint = (u) => u.data[0].length <= 1;
    return {
      width, height: CHART_HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: { x: { time }, y: { distr: state.log ? 3 : 1, log: 10 } },
      axes: [
        { ...axisStyle, size: 26, space: 60, values: time ? undefined : (u, splits) => splits.map(kind === "relative" ? formatDuration : formatNumber) },
        { ...axisStyle, size: 48, space: 24, values: state.log ? logLabels : (u, splits) => splits.map(formatNumber) },
      ],
      series: [
        {},
        { label: "raw", stroke: `${color}38`, width: 1, points: { show: onePoint, size: 7, fill: color, stroke: color } },
        { label: "smoothed", stroke: color, width: 2, points: { show: onePoint, size: 7, fill: color, stroke: color } },
      ],
    };
  }

  function drawCell(cell) {
    const metric = state.series.get(cell.name);
    if (!metric) return;
    const width = cell.width || Math.floor(cell.plot.getBoundingClientRect().width);
    if (width <= 0) return;
    cell.width = width;
    const { kind, data } = chartData(cell, metric);
    const shape = `${kind}|${state.log}|${state.theme}`;
    if (cell.chart && cell.shape === shape) {
      cell.chart.setData(data);
    } else {
      destroyChart(cell);
      cell.chart = new uPlot(chartOptions(cell, kind, width), data, cell.plot);
      cell.shape = shape;
    }
    cell.plot.__jtChart = cell.chart;
    cell.node.dataset.points = String(metric.count);
    cell.node.dataset.color = colorFor(cell.name);
    cell.node.dataset.drawn = "true";
  }

  function draw() {
    state.pending = false;
    if (!state.alive) return;
    const began = performance.now();
    for (const name of Array.from(state.dirty)) {
      state.dirty.delete(name);
      const cell = state.cells.get(name);
      if (!cell || !state.near.has(name)) continue;
      drawCell(cell);
      if (performance.now() - began > FRAME_BUDGET_MS && state.dirty.size) { schedule(); break; }
    }
    drawHeatmaps();
    root.dataset.renders = String(Number(root.dataset.renders || 0) + 1);
    // first paint: every chart on screen drawn (what the bench and the scale test measure)
    if (!root.dataset.firstPaintMs && state.near.size && !state.dirty.size) {
      let complete = true;
      for (const name of state.near) {
        const cell = state.cells.get(name);
        if (cell && !cell.chart) { complete = false; break; }
      }
      if (complete) root.dataset.firstPaintMs = String(Math.round(performance.now() - created));
    }
  }

  function redrawAll() {
    for (const name of state.near) state.dirty.add(name);
    schedule();
  }

  function schedule() {
    if (state.pending || !state.alive) return;
    state.pending = true;
    requestAnimationFrame(draw);
  }

  // media row ------------------------------------------------------------------------------------
  function showImageStep(card) {
    const entry = card.steps[card.position];
    card.stepLabel.textContent = entry ? `step ${entry.step} (${card.position + 1}/${card.steps.length})` : "";
    card.frame.replaceChildren(...(entry ? entry.items : []).map((item) => {
      const figure = element("figure", "jt-live-image");
      const image = element("img");
      image.src = item.url;
      image.alt = item.caption || card.key;
      // small images (MNIST digits) are scaled up, big ones down, to a readable size
      if (item.width) image.style.width = `${Math.max(96, Math.min(item.width, 256))}px`;
      figure.append(image);
      if (item.caption) figure.append(element("figcaption", "", item.caption));
      return figure;
    }));
  }

  function mediaCard(id, key, kind) {
    let card = state.mediaCards.get(id);
    if (card) return card;
    const node = element("div", `jt-live-chart jt-live-media-card jt-live-${kind}`);
    node.dataset.media = key;
    card = { node, key, kind, steps: [], position: 0, follow: true };
    if (kind === "images") {
      node.append(element("div", "jt-live-media-title", key));
      card.frame = element("div", "jt-live-images");
      const row = element("label", "jt-live-control jt-live-step");
      card.slider = element("input", "jt-live-step-slider");
      card.slider.type = "range"; card.slider.min = "0"; card.slider.step = "1";
      card.stepLabel = element("span", "jt-live-step-label");
      row.append(card.slider, card.stepLabel);
      node.append(card.frame, row);
      card.slider.addEventListener("input", () => {
        card.position = Number(card.slider.value);
        card.follow = card.position === card.steps.length - 1;
        showImageStep(card);
      });
    } else {
      card.canvas = element("div", "jt-live-plot");
      node.append(card.canvas);
    }
    mediaGrid.append(node);
    state.mediaCards.set(id, card);
    return card;
  }

  function updateMedia() {
    const index = model.get("_media_index") || {};
    const view = model.get("_media_data");
    for (const url of state.mediaUrls) URL.revokeObjectURL(url);
    state.mediaUrls = [];
    const seen = new Set();
    for (const entry of (view && index.images) || []) {
      const id = `images:${entry.key}`;
      seen.add(id);
      const card = mediaCard(id, entry.key, "images");
      card.steps = entry.steps.map((step) => ({ step: step.step, items: step.items.map((item) => {
        const url = URL.createObjectURL(new Blob([bytesAt(view, item.offset, item.length)], { type: "image/png" }));
        state.mediaUrls.push(url);
        return { ...item, url };
      }) }));
      const last = card.steps.length - 1;
      if (card.follow || card.position > last) card.position = last;
      card.slider.max = String(last);
      card.slider.value = String(card.position);
      card.slider.disabled = last < 1;
      showImageStep(card);
    }
    for (const entry of (view && index.histograms) || []) {
      const id = `histogram:${entry.key}`;
      seen.add(id);
      const card = mediaCard(id, entry.key, "histogram");
      card.entry = entry;
      card.view = view;
      card.stale = true;
      wantPlotly();
    }
    for (const [id, card] of state.mediaCards) {
      if (seen.has(id)) continue;
      if (card.canvas && state.plotly) state.plotly.purge(card.canvas);
      card.node.remove();
      state.mediaCards.delete(id);
    }
    state.hasMedia = seen.size > 0;
    mediaRoot.hidden = !state.hasMedia;
  }

  function heatmapLayout(name) {
    return {
      height: 210,
      margin: { l: 46, r: 10, t: 26, b: 30 },
      title: { text: "", font: { size: 12, color: colors.ink } },
      showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 10, color: colors.ink },
      xaxis: { type: "linear", gridcolor: colors.grid, zeroline: false, automargin: true, title: { text: "step", standoff: 2 } },
      yaxis: { type: "linear", gridcolor: colors.grid, zeroline: false, automargin: true, exponentformat: "e" },
      hovermode: "closest",
    };
  }

  function drawHeatmaps() {
    if (!mediaRoot.open || !state.plotly) return;
    for (const card of state.mediaCards.values()) {
      if (card.kind !== "histogram" || !card.stale) continue;
      card.stale = false;
      if (!card.title) { card.title = element("div", "jt-live-media-title", card.key); card.node.prepend(card.title); }
      state.plotly.react(card.canvas, heatmapTraces(card.entry, card.view), heatmapLayout(card.key),
        { displaylogo: false, responsive: true, displayModeBar: "hover" });
      card.node.dataset.steps = String(card.entry.steps.length);
    }
  }
  mediaRoot.addEventListener("toggle", () => {
    if (!mediaRoot.open) return;
    for (const card of state.mediaCards.values()) if (card.kind === "histogram") card.stale = true;
    schedule();
  });

  function wantPlotly() {
    if (state.plotlyWanted) return;
    state.plotlyWanted = true;
    const loading = element("div", "jt-live-loading", "Loading plotly.js for the histograms…");
    mediaRoot.append(loading);
    whenPlotly(model).then((Plotly) => {
      loading.remove();
      state.plotly = Plotly;
      schedule();
    });
  }

  // controls act here, at once, on the points the browser holds ----------------------------
  slider.addEventListener("input", () => {
    state.smoothing = Math.min(Math.max(Number(slider.value) || 0, 0), 0.999);
    smoothingValue.textContent = state.smoothing.toFixed(3);
    redrawAll();
  });
  slider.addEventListener("change", () => saveControl("smoothing", state.smoothing));
  axisSelect.addEventListener("change", () => { state.axis = axisSelect.value; saveControl("x_axis", state.axis); redrawAll(); });
  searchInput.addEventListener("input", () => {
    state.search = searchInput.value.trim();
    for (const group of state.groups.values()) group.page = 0;
    layoutGroups();
  });
  filterInput.addEventListener("input", () => { state.filter = filterInput.value; layoutGroups(); });
  filterInput.addEventListener("change", () => saveControl("metric_filter", state.filter));
  logToggle.addEventListener("change", () => { state.log = logToggle.checked; saveControl("log_scale", state.log); redrawAll(); });

  const onCatalog = () => { takeCatalog(); updateHeader(); };
  // `_index` and `_data` change together: decode once, after both
  let dataQueued = false;
  const onData = () => {
    if (dataQueued) return;
    dataQueued = true;
    queueMicrotask(() => { dataQueued = false; if (state.alive) takeData(); });
  };
  const takeData = () => {
    const { index, series } = decodeSeries(model);
    state.index = index;
    for (const [name, metric] of series) {
      state.series.set(name, metric);
      state.dirty.add(name);
    }
    // names the catalog has not caught up with yet (a saved state, an old kernel)
    if (!state.names.length && series.size) {
      model.set("_catalog", { names: Array.from(series.keys()) });
      takeCatalog();
    }
    updateHeader();
    updateAxisChoices();
    schedule();
  };
  model.on("change:_catalog", onCatalog);
  model.on("change:_data", onData);
  model.on("change:header", updateHeader);
  const onMedia = () => { updateMedia(); layoutGroups(); schedule(); };
  model.on("change:_media_data", onMedia);
  model.on("change:_media_index", onMedia);

  // JupyterLab's theme switch changes the CSS variables: redraw with the new colours
  const themeObserver = new MutationObserver(() => {
    colors = themeColors();
    state.theme += 1;
    redrawAll();
  });
  themeObserver.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });

  updateMedia();
  takeCatalog();
  takeData();

  return () => {
    state.alive = false;
    model.send({ type: "view-closed", view: viewId });
    model.off("change:_catalog", onCatalog);
    model.off("change:_data", onData);
    model.off("change:header", updateHeader);
    model.off("change:_media_data", onMedia);
    model.off("change:_media_index", onMedia);
    themeObserver.disconnect();
    if (observers.near) { observers.near.disconnect(); observers.far.disconnect(); }
    resizeObserver.disconnect();
    for (const url of state.mediaUrls) URL.revokeObjectURL(url);
    for (const cell of state.cells.values()) destroyChart(cell);
    if (state.plotly) for (const card of state.mediaCards.values()) if (card.canvas) state.plotly.purge(card.canvas);
  };
}

export default { render };
