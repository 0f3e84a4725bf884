// One chart component for every host: a metric's downsampled points drawn with uPlot, its smoothed
// line computed in the browser from the smoothing summary of the full series (smoothing.js, the
// live panel's own module), an x-axis choice and a log scale.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { readSmoothingSummary, smoothSummary, SmoothingSummary } from 'jt-smoothing';
import { toNumber } from './format';

/** One metric as the server sends it (jupyter_tracker.lab.run_views._series_payload). */
export interface SeriesPayload {
  points: number;
  x: Record<string, Array<number | string>>;
  y: Array<number | string>;
  summary: string;
}

export interface ChartOptions {
  weight: number;
  xAxis: string;
  log: boolean;
  width: number;
  height: number;
}

export const AXIS_LABELS: Record<string, string> = {
  _step: 'step',
  _runtime: 'time since start (s)',
  _timestamp: 'wall time'
};

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The raw and smoothed y of a series for a smoothing weight; weight 0 draws the raw line only. */
export function chartLines(raw: Float64Array, summary: SmoothingSummary | null, weight: number): Float64Array {
  if (!summary || weight <= 0) return raw;
  return smoothSummary(summary, weight);
}

/** What a chart cell holds, reachable as `plotElement.__jtChart` (the uPlot instance) for tests. */
export class MetricChart {
  readonly node: HTMLElement;
  private plotNode: HTMLElement;
  private raw: Float64Array;
  private summary: SmoothingSummary | null;
  private plot: uPlot | null = null;
  private drawnKey = '';

  constructor(readonly metric: string, private series: SeriesPayload) {
    this.node = document.createElement('div');
    this.node.className = 'jt-chart';
    this.node.dataset.metric = metric;
    const title = document.createElement('div');
    title.className = 'jt-chart-title';
    title.textContent = metric;
    title.title = `${metric}: ${series.points.toLocaleString('en-US')} points`;
    this.plotNode = document.createElement('div');
    this.plotNode.className = 'jt-chart-plot';
    this.node.append(title, this.plotNode);
    this.raw = Float64Array.from(series.y, toNumber);
    this.summary = series.summary ? readSmoothingSummary(decodeBase64(series.summary)) : null;
  }

  /** Replaces the data (a live run grew) and redraws with the same options. */
  update(series: SeriesPayload, options: ChartOptions): void {
    this.series = series;
    this.raw = Float64Array.from(series.y, toNumber);
    this.summary = series.summary ? readSmoothingSummary(decodeBase64(series.summary)) : null;
    this.drawnKey = '';
    this.draw(options);
  }

  draw(options: ChartOptions): void {
    const key = JSON.stringify(options);
    if (key === this.drawnKey && this.plot) return;
    this.drawnKey = key;
    const axis = this.series.x[options.xAxis] ? options.xAxis : '_step';
    const x = Float64Array.from(this.series.x[axis], toNumber);
    const smoothed = chartLines(this.raw, this.summary, options.weight);
    const positive = (values: Float64Array) =>
      Array.from(values, (value) => (Number.isFinite(value) && (!options.log || value > 0) ? value : null));
    const data: uPlot.AlignedData = [Array.from(x), positive(this.raw), positive(smoothed)];
    const smoothing = options.weight > 0;
    const plotOptions: uPlot.Options = {
      width: options.width,
      height: options.height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: axis === '_timestamp' }, y: { distr: options.log ? 3 : 1 } },
      axes: [
        { stroke: 'var(--jt-axis, #666)', grid: { stroke: 'rgba(128,128,128,0.15)' }, label: AXIS_LABELS[axis] ?? axis, labelSize: 16, size: 36 },
        { stroke: 'var(--jt-axis, #666)', grid: { stroke: 'rgba(128,128,128,0.15)' }, size: 56 }
      ],
      series: [
        {},
        { label: 'raw', stroke: smoothing ? 'rgba(31,119,180,0.3)' : 'rgb(31,119,180)', width: 1, points: { show: this.raw.length === 1 } },
        { label: 'smoothed', stroke: 'rgb(31,119,180)', width: 2, show: smoothing, points: { show: false } }
      ]
    };
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot(plotOptions, data, this.plotNode);
    (this.plotNode as HTMLElement & { __jtChart?: uPlot }).__jtChart = this.plot;
  }

  dispose(): void {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

/** One run's line in an overlay: its series and the colour and label it is drawn with. */
export interface OverlayLine {
  label: string;
  color: string;
  series: SeriesPayload;
}

function translucent(color: string, alpha: number): string {
  const hex = color.replace('#', '');
  const value = parseInt(hex.length === 3 ? hex.replace(/(.)/g, '$1$1') : hex, 16);
  return `rgba(${(value >> 16) & 255},${(value >> 8) & 255},${value & 255},${alpha})`;
}

/** A metric of several runs on one chart (the compare view): each run's raw line faint, its smoothed line solid. */
export class OverlayChart {
  readonly node: HTMLElement;
  private plotNode: HTMLElement;
  private lines: Array<OverlayLine & { raw: Float64Array; summary: SmoothingSummary | null }>;
  private plot: uPlot | null = null;
  private drawnKey = '';

  constructor(readonly metric: string, lines: OverlayLine[]) {
    this.node = document.createElement('div');
    this.node.className = 'jt-chart jt-overlay-chart';
    this.node.dataset.metric = metric;
    const title = document.createElement('div');
    title.className = 'jt-chart-title';
    title.textContent = metric;
    this.plotNode = document.createElement('div');
    this.plotNode.className = 'jt-chart-plot';
    this.node.append(title, this.plotNode);
    this.lines = lines.map((line) => ({
      ...line,
      raw: Float64Array.from(line.series.y, toNumber),
      summary: line.series.summary ? readSmoothingSummary(decodeBase64(line.series.summary)) : null
    }));
  }

  draw(options: ChartOptions): void {
    const key = JSON.stringify(options);
    if (key === this.drawnKey && this.plot) return;
    this.drawnKey = key;
    const smoothing = options.weight > 0;
    const shown = (value: number) => (Number.isFinite(value) && (!options.log || value > 0) ? value : null);
    const tables: uPlot.AlignedData[] = [];
    const series: uPlot.Series[] = [{}];
    for (const line of this.lines) {
      const axis = line.series.x[options.xAxis] ? options.xAxis : '_step';
      const x = Float64Array.from(line.series.x[axis], toNumber);
      const smoothed = chartLines(line.raw, line.summary, options.weight);
      const keep: number[] = [];
      let last = -Infinity;
      for (let i = 0; i < x.length; i++) {
        if (Number.isFinite(x[i]) && x[i] >= last) {
          keep.push(i);
          last = x[i];
        }
      }
      tables.push([keep.map((i) => x[i]), keep.map((i) => shown(line.raw[i])), keep.map((i) => shown(smoothed[i]))] as uPlot.AlignedData);
      series.push(
        { label: `${line.label} raw`, stroke: smoothing ? translucent(line.color, 0.3) : line.color, width: 1, spanGaps: true, points: { show: line.raw.length === 1 } },
        { label: line.label, stroke: line.color, width: 2, show: smoothing, spanGaps: true, points: { show: false } }
      );
    }
    const data = tables.length ? uPlot.join(tables) : ([[]] as unknown as uPlot.AlignedData);
    const axis = options.xAxis;
    const plotOptions: uPlot.Options = {
      width: options.width,
      height: options.height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: axis === '_timestamp' }, y: { distr: options.log ? 3 : 1 } },
      axes: [
        { stroke: 'var(--jt-axis, #666)', grid: { stroke: 'rgba(128,128,128,0.15)' }, label: AXIS_LABELS[axis] ?? axis, labelSize: 16, size: 36 },
        { stroke: 'var(--jt-axis, #666)', grid: { stroke: 'rgba(128,128,128,0.15)' }, size: 56 }
      ],
      series
    };
    if (this.plot) this.plot.destroy();
    this.plot = new uPlot(plotOptions, data, this.plotNode);
    (this.plotNode as HTMLElement & { __jtChart?: uPlot }).__jtChart = this.plot;
  }

  dispose(): void {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}

/** One logged histogram drawn as filled steps over its bin edges. */
export class HistogramChart {
  readonly node: HTMLElement;
  private plot: uPlot | null = null;

  constructor(width: number, height: number) {
    this.node = document.createElement('div');
    this.node.className = 'jt-histogram-plot';
    this.size = { width, height };
  }

  private size: { width: number; height: number };

  show(bins: ArrayLike<number>, counts: ArrayLike<number>): void {
    const x = Array.from(bins);
    const y = [...Array.from(counts), counts.length ? counts[counts.length - 1] : 0];
    const data: uPlot.AlignedData = [x, y];
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const plotOptions: uPlot.Options = {
      ...this.size,
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [
        { stroke: 'var(--jt-axis, #666)', grid: { stroke: 'rgba(128,128,128,0.15)' }, size: 30 },
        { stroke: 'var(--jt-axis, #666)', grid: { stroke: 'rgba(128,128,128,0.15)' }, size: 50 }
      ],
      series: [{}, { label: 'count', stroke: 'rgb(31,119,180)', fill: 'rgba(31,119,180,0.35)', width: 1, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false } }]
    };
    this.plot = new uPlot(plotOptions, data, this.node);
    (this.node as HTMLElement & { __jtChart?: uPlot }).__jtChart = this.plot;
  }

  dispose(): void {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
