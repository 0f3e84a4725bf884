// Line plots of a report, drawn with uPlot from the JSON beside each placeholder.
// Needs uPlot and the shared smoothing module (readSmoothingSummary, smoothSummary) in scope.
// A smoothing slider re-smooths every line in the browser from its per-bucket summary, so the
// smoothed line stays that of the full series whatever weight is chosen.
var jtReportCharts = (function () {
  "use strict";

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
    return bytes;
  }

  function finite(value) {
    return value === null || value === undefined || !Number.isFinite(value) ? null : value;
  }

  // one line's columns, sorted by x for drawing (the smoothing ran in logged order)
  function lineTable(line, smooth) {
    const order = line.x.map((_, index) => index).sort((a, b) => line.x[a] - line.x[b]);
    const pick = (values) => order.map((index) => finite(values[index]));
    const table = [pick(line.x), pick(line.y), pick(smooth)];
    if (line.low && line.high) table.push(pick(line.low), pick(line.high));
    return table;
  }

  function smoothedValues(line, weight, state) {
    if (state.type !== "exponential") return line.smooth;
    if (!(weight > 0)) return line.y;
    if (!line.summary) {
      // a whole (not downsampled) line: the EMA of its points, in logged order
      return Array.from(tensorboardEma(line.y.map((value) => (value === null ? NaN : value)), weight));
    }
    if (!line._summary) line._summary = readSmoothingSummary(decodeBase64(line.summary));
    return Array.from(smoothSummary(line._summary, weight));
  }

  function chartData(data, weight, state) {
    const tables = data.lines.map((line) => lineTable(line, smoothedValues(line, weight, state)));
    return uPlot.join(tables);
  }

  function chartOptions(data, width, state) {
    const series = [{ label: data.x_label }];
    const bands = [];
    data.lines.forEach((line) => {
      const raw = series.length;
      series.push({ label: line.label + " (raw)", stroke: line.color + "55", width: 1, spanGaps: true,
                    show: state.showOriginal });
      series.push({ label: line.label, stroke: line.color, width: 1.6, spanGaps: true });
      if (line.low && line.high) {
        series.push({ label: line.label + " low", stroke: line.color + "33", width: 1, spanGaps: true });
        series.push({ label: line.label + " high", stroke: line.color + "33", width: 1, spanGaps: true });
        bands.push({ series: [raw + 3, raw + 2], fill: line.color + "22" });
      }
    });
    return {
      width: width, height: 240, series: series, bands: bands,
      legend: { show: data.lines.length <= 4 },
      scales: { x: fixedRange({ time: false, distr: data.log_x ? 3 : 1 }, data.range_x),
                y: fixedRange({ distr: data.log_y ? 3 : 1 }, data.range_y) },
      axes: [axisTitle({}, data.title_x), axisTitle({ size: 56 }, data.title_y)],
    };
  }

  // a scale whose set ends (range_x/range_y) stay put; a null end follows the data
  function fixedRange(scale, range) {
    const low = range ? finite(range[0]) : null;
    const high = range ? finite(range[1]) : null;
    if (low === null && high === null) return scale;
    scale.range = (self, dataMin, dataMax) => {
      let min = low === null ? dataMin : low;
      let max = high === null ? dataMax : high;
      if (min === null || max === null || !(max > min)) {
        min = low === null ? (max === null ? 0 : max - 1) : low;
        max = high === null ? min + 1 : high;
      }
      return [min, max];
    };
    return scale;
  }

  function axisTitle(axis, title) {
    if (title) axis.label = title;
    return axis;
  }

  // draws one line-plot element; returns {setSmoothing(weight)} for hosts that drive it
  function draw(element) {
    const holder = element.querySelector(".jt-chart");
    const script = element.querySelector("script.jt-data");
    if (!holder || !script || element._jtChart) return element._jtChart;
    const data = JSON.parse(script.textContent);
    const state = { type: data.smoothing_type, showOriginal: data.show_original !== false };
    let weight = Number(data.smoothing_factor) || 0;
    const width = Math.max(280, Math.floor(holder.clientWidth || element.clientWidth || 420));
    const plot = new uPlot(chartOptions(data, width, state), chartData(data, weight, state), holder);
    const slider = element.querySelector(".jt-smoothing input");
    const output = element.querySelector(".jt-smoothing output");
    const controller = {
      plot: plot,
      weight: () => weight,
      setSmoothing(value) {
        weight = Math.min(Math.max(Number(value) || 0, 0), 0.999);
        if (slider) slider.value = String(weight);
        if (output) output.textContent = weight.toFixed(3);
        plot.setData(chartData(data, weight, state));
      },
    };
    if (slider) {
      slider.addEventListener("input", () => {
        controller.setSmoothing(slider.value);
        element.dispatchEvent(new CustomEvent("jt-smoothing", { bubbles: true, detail: { weight: weight } }));
      });
    }
    element._jtChart = controller;
    return controller;
  }

  function renderAll(root) {
    const found = [];
    root.querySelectorAll(".jt-line-plot").forEach((element) => found.push(draw(element)));
    return found;
  }

  return { draw: draw, renderAll: renderAll };
})();
