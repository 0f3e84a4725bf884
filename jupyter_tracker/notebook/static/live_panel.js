// The live panel's view: one small plotly.js chart per metric, grouped by the prefix before "/".
//
// Images and histograms fill a media row above the groups: the last steps of each image key with
// a step slider (PNG bytes in `_media_data`, shown through blob URLs), and each histogram key as a
// heatmap of bins over steps. Only data comes from the kernel (it is busy running the training cell): the `_index` trait
// describes the metrics and `_data` holds their downsampled columns as binary (float32/float64). Every
// control (smoothing, x-axis, filter, log scale, groups) acts here, on the points the browser
// holds, so it responds while the cell runs. plotly.js comes from the installed plotly package,
// sent once gzipped in `_plotly_gz`, and is evaluated once per page.
import { tensorboardEma } from "./smoothing.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
const UNGROUPED = "charts";
const COLLAPSED_BY_DEFAULT = ["system"];

// plotly.js, loaded once per page ------------------------------------------------------------
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
    if (provided || registry.started) return;
    model.on("change:_plotly_gz", () => providePlotly(model));
    // another panel on this page may be providing it; if none does, ask the kernel (answered once idle)
    setTimeout(() => { if (!plotlyRegistry().started) model.send({ type: "need-plotly" }); }, 5000);
  });
  return registry.promise;
}

// data ----------------------------------------------------------------------------------------
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
    series.set(metric.name, { ...metric, columns });
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

function xValues(metric, axis, startTime) {
  const columns = metric.columns;
  // system metrics have no step: they follow time whatever the chosen axis
  if (metric.time_axis) return axis === "wall" ? columns.wall : columns.runtime;
  if (axis === "relative") return columns.runtime;
  if (axis === "wall") return columns.wall;
  if (axis === "step") return columns.step;
  return columns[`axis:${axis}`] || null;
}

function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}

// the view --------------------------------------------------------------------------------------
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
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

  const filterLabel = element("label", "jt-live-control", "Filter ");
  const filterInput = element("input", "jt-live-filter");
  filterInput.type = "text"; filterInput.placeholder = "regex, e.g. ^train/"; filterInput.spellcheck = false;
  filterLabel.append(filterInput);

  const logLabel = element("label", "jt-live-control", " log scale");
  const logToggle = element("input", "jt-live-log");
  logToggle.type = "checkbox";
  logLabel.prepend(logToggle);
  controls.append(smoothingLabel, axisLabel, filterLabel, logLabel);

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
    axis: model.get("x_axis") || "step",
    filter: model.get("metric_filter") || "",
    log: Boolean(model.get("log_scale")),
    collapsed: new Set(model.get("collapsed_groups") || COLLAPSED_BY_DEFAULT),
    data: decodeSeries(model),
    groups: new Map(),
    charts: new Map(),
    mediaCards: new Map(),
    mediaUrls: [],
    hasMedia: false,
    plotly: null,
    pending: false,
    alive: true,
  };
  slider.value = String(state.smoothing);
  smoothingValue.textContent = state.smoothing.toFixed(3);
  filterInput.value = state.filter;
  logToggle.checked = state.log;

  function saveControl(name, value) {
    // local first so every view of this model agrees; the kernel gets it once it is idle
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
    const total = state.data.index.total_points || 0;
    pointsNote.textContent = total ? `${total.toLocaleString()} points` : "";
  }

  function updateAxisChoices() {
    const choices = [["step", "Step"], ["relative", "Relative time (s)"], ["wall", "Wall time"]];
    for (const axis of state.data.index.axes || []) choices.push([axis, axis]);
    const current = Array.from(axisSelect.options).map((option) => option.value).join("\n");
    if (current !== choices.map((choice) => choice[0]).join("\n")) {
      axisSelect.replaceChildren(...choices.map(([value, label]) => {
        const option = element("option", "", label);
        option.value = value;
        return option;
      }));
    }
    if (!choices.some((choice) => choice[0] === state.axis)) state.axis = "step";
    axisSelect.value = state.axis;
  }

  function groupNode(name) {
    let group = state.groups.get(name);
    if (group) return group;
    const details = element("details", "jt-live-group");
    details.open = !state.collapsed.has(name);
    const summary = element("summary", "jt-live-group-title", name);
    const grid = element("div", "jt-live-grid");
    details.append(summary, grid);
    details.addEventListener("toggle", () => {
      if (details.open) state.collapsed.delete(name); else state.collapsed.add(name);
      saveControl("collapsed_groups", Array.from(state.collapsed));
      if (details.open) schedule();
    });
    group = { details, grid, name };
    state.groups.set(name, group);
    const names = Array.from(state.groups.keys()).sort((a, b) =>
      (a === "system") - (b === "system") || (a === UNGROUPED) - (b === UNGROUPED) || a.localeCompare(b));
    groupsRoot.replaceChildren(...names.map((key) => state.groups.get(key).details));
    return group;
  }

  function chartNode(name) {
    let chart = state.charts.get(name);
    if (chart) return chart;
    const group = groupNode(groupOf(name));
    const node = element("div", "jt-live-chart");
    node.dataset.metric = name;
    const canvas = element("div", "jt-live-plot");
    node.append(canvas);
    group.grid.append(node);
    chart = { node, canvas, color: PALETTE[state.charts.size % PALETTE.length], drawn: false };
    state.charts.set(name, chart);
    return chart;
  }

  function traces(metric, color) {
    const xs = xValues(metric, state.axis, state.data.index.start_time);
    const values = metric.columns.value;
    const x = [];
    const raw = [];
    for (let i = 0; i < values.length; i++) {
      if (xs && !Number.isFinite(xs[i])) continue; // no x on this axis yet (e.g. before the first epoch)
      x.push(state.axis === "wall" ? new Date(xs[i] * 1000) : xs ? xs[i] : i);
      raw.push(values[i]);
    }
    const smoothed = tensorboardEma(raw, state.smoothing);
    const show = (value) => (Number.isFinite(value) ? value : null);
    return [
      { x, y: raw.map(show), type: "scatter", mode: "lines", name: "raw", line: { color, width: 1 }, opacity: 0.3, hoverinfo: "skip" },
      { x, y: Array.from(smoothed, show), type: "scatter", mode: "lines", name: "smoothed", line: { color, width: 2 },
        hovertemplate: "%{y:.4g}<extra></extra>" },
    ];
  }

  function layout(name) {
    const style = getComputedStyle(root);
    const ink = style.getPropertyValue("--jt-ink").trim() || "#333";
    const grid = style.getPropertyValue("--jt-grid").trim() || "rgba(128,128,128,0.2)";
    return {
      height: 210,
      margin: { l: 46, r: 10, t: 26, b: 30 },
      title: { text: name, font: { size: 12, color: ink }, x: 0.02, xanchor: "left" },
      showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 10, color: ink },
      xaxis: { type: state.axis === "wall" ? "date" : "linear", gridcolor: grid, zeroline: false, automargin: true },
      yaxis: { type: state.log ? "log" : "linear", gridcolor: grid, zeroline: false, automargin: true, exponentformat: "e" },
      uirevision: `${name}|${state.axis}|${state.log}`,
      hovermode: "x",
    };
  }

  function draw() {
    state.pending = false;
    if (!state.alive || !state.plotly) return;
    const Plotly = state.plotly;
    const pattern = filterExpression();
    let shown = 0;
    for (const [name, metric] of state.data.series) {
      const chart = chartNode(name);
      const visible = !pattern || pattern.test(name);
      chart.node.hidden = !visible;
      if (!visible) continue;
      shown += 1;
      const group = state.groups.get(groupOf(name));
      if (group && !group.details.open) { chart.stale = true; continue; }
      chart.stale = false;
      Plotly.react(chart.canvas, traces(metric, chart.color), layout(name),
        { displaylogo: false, responsive: true, displayModeBar: "hover" });
      chart.drawn = true;
      chart.node.dataset.points = String(metric.count);
    }
    for (const group of state.groups.values()) {
      group.details.hidden = !Array.from(group.grid.children).some((node) => !node.hidden);
    }
    drawHeatmaps();
    emptyNote.hidden = state.data.series.size > 0 || state.hasMedia;
    if (state.data.series.size > 0 && shown === 0) {
      emptyNote.hidden = false;
      emptyNote.textContent = "No metric matches the filter.";
    } else {
      emptyNote.textContent = "Waiting for the first logged metrics…";
    }
    root.dataset.renders = String(Number(root.dataset.renders || 0) + 1);
  }

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

  function drawHeatmaps() {
    if (!mediaRoot.open) return;
    for (const card of state.mediaCards.values()) {
      if (card.kind !== "histogram" || !card.stale) continue;
      card.stale = false;
      const figure = layout(card.key);
      figure.hovermode = "closest";
      figure.yaxis = { ...figure.yaxis, type: "linear" };
      figure.xaxis = { ...figure.xaxis, type: "linear", title: { text: "step", standoff: 2 } };
      state.plotly.react(card.canvas, heatmapTraces(card.entry, card.view), figure,
        { displaylogo: false, responsive: true, displayModeBar: "hover" });
      card.node.dataset.steps = String(card.entry.steps.length);
    }
  }
  mediaRoot.addEventListener("toggle", () => {
    if (!mediaRoot.open) return;
    for (const card of state.mediaCards.values()) if (card.kind === "histogram") card.stale = true;
    schedule();
  });

  function schedule() {
    if (state.pending) return;
    state.pending = true;
    requestAnimationFrame(draw);
  }

  // controls act here, at once, on the points the browser holds
  slider.addEventListener("input", () => {
    state.smoothing = Math.min(Math.max(Number(slider.value) || 0, 0), 0.999);
    smoothingValue.textContent = state.smoothing.toFixed(3);
    schedule();
  });
  slider.addEventListener("change", () => saveControl("smoothing", state.smoothing));
  axisSelect.addEventListener("change", () => { state.axis = axisSelect.value; saveControl("x_axis", state.axis); schedule(); });
  filterInput.addEventListener("input", () => { state.filter = filterInput.value; schedule(); });
  filterInput.addEventListener("change", () => saveControl("metric_filter", state.filter));
  logToggle.addEventListener("change", () => { state.log = logToggle.checked; saveControl("log_scale", state.log); schedule(); });

  const onData = () => {
    state.data = decodeSeries(model);
    updateHeader();
    updateAxisChoices();
    schedule();
  };
  model.on("change:_data", onData);
  model.on("change:_index", onData);
  model.on("change:header", updateHeader);
  const onMedia = () => { updateMedia(); schedule(); };
  model.on("change:_media_data", onMedia);
  model.on("change:_media_index", onMedia);
  updateMedia();
  updateHeader();
  updateAxisChoices();

  const loading = element("div", "jt-live-loading", "Loading plotly.js…");
  root.append(loading);
  whenPlotly(model).then((Plotly) => {
    loading.remove();
    state.plotly = Plotly;
    schedule();
  });

  return () => {
    state.alive = false;
    model.off("change:_data", onData);
    model.off("change:_index", onData);
    model.off("change:header", updateHeader);
    model.off("change:_media_data", onMedia);
    model.off("change:_media_index", onMedia);
    for (const url of state.mediaUrls) URL.revokeObjectURL(url);
    if (state.plotly) for (const chart of state.charts.values()) state.plotly.purge(chart.canvas);
    if (state.plotly) for (const card of state.mediaCards.values()) if (card.canvas) state.plotly.purge(card.canvas);
  };
}

export default { render };
