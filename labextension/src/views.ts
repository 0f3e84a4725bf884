// The views every host shows (runs list, run page), built with plain DOM and textContent only, so a
// run name, tag or config value is always text, never markup. A host supplies the data and navigation.

import { AXIS_LABELS, ChartOptions, MetricChart, SeriesPayload } from './chart';
import { formatAge, formatDuration, formatValue } from './format';
import { RunRow, RunsTableModel } from './table_model';

export interface ProjectInfo {
  name: string;
  entity?: string | null;
  runs: number;
  running: number;
  updated?: number | null;
}

export interface RunPageData {
  run: RunRow;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
  notes?: string | null;
  metrics: Record<string, SeriesPayload>;
  axes: string[];
}

/** What a view needs from where it is shown (JupyterLab, the server's pages). */
export interface ViewHost {
  projects(): Promise<ProjectInfo[]>;
  runs(project: ProjectInfo): Promise<RunRow[]>;
  run(project: string, id: string, entity?: string | null): Promise<RunPageData>;
  openRun(row: RunRow): void;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Refresh period while something runs, and otherwise (new runs still show up). */
export const LIVE_REFRESH_MS = 2000;
export const IDLE_REFRESH_MS = 6000;

/** Projects, each opening to its runs (state, age, key summary values), with a search box; refreshes itself. */
export class RunsListView {
  readonly node = element('div', 'jt-runs');
  private search = element('input', 'jt-runs-search');
  private body = element('div', 'jt-runs-body');
  private open = new Set<string>();
  private models = new Map<string, RunsTableModel>();
  private projectsShown: ProjectInfo[] = [];
  private timer: number | null = null;
  private disposed = false;

  constructor(private host: ViewHost) {
    this.search.type = 'search';
    this.search.placeholder = 'Search runs (name, tag, state:running, loss:0.1)';
    this.search.addEventListener('input', () => this.render());
    this.node.append(this.search, this.body);
  }

  async refresh(): Promise<void> {
    if (this.disposed) return;
    if (this.timer !== null) window.clearTimeout(this.timer);
    let running = false;
    try {
      this.projectsShown = await this.host.projects();
      if (this.projectsShown.length === 1) this.open.add(this.projectsShown[0].name);
      for (const project of this.projectsShown) {
        running = running || project.running > 0;
        if (!this.open.has(project.name)) continue;
        const model = this.models.get(project.name) ?? new RunsTableModel();
        model.setRows(await this.host.runs(project));
        this.models.set(project.name, model);
      }
      this.node.classList.remove('jt-error');
      this.render();
    } catch (error) {
      this.node.classList.add('jt-error');
      this.body.replaceChildren(element('div', 'jt-runs-message', `Could not read runs: ${String(error)}`));
    }
    if (!this.disposed) this.timer = window.setTimeout(() => void this.refresh(), running ? LIVE_REFRESH_MS : IDLE_REFRESH_MS);
  }

  private render(): void {
    const children: HTMLElement[] = [];
    if (this.projectsShown.length === 0) {
      children.push(element('div', 'jt-runs-message', 'No runs yet: start one with jt.init() in a notebook.'));
    }
    for (const project of this.projectsShown) {
      const section = element('div', 'jt-project');
      section.dataset.project = project.name;
      const header = element('button', 'jt-project-header');
      const opened = this.open.has(project.name);
      header.append(
        element('span', 'jt-caret', opened ? '▾' : '▸'),
        element('span', 'jt-project-name', project.name),
        element('span', 'jt-project-count', project.running ? `${project.runs} · ${project.running} running` : String(project.runs))
      );
      header.addEventListener('click', () => {
        if (this.open.has(project.name)) this.open.delete(project.name);
        else this.open.add(project.name);
        void this.refresh();
      });
      section.append(header);
      const model = this.models.get(project.name);
      if (opened && model) {
        model.setSearch(this.search.value);
        const keys = model.summaryKeys(3);
        const list = element('div', 'jt-run-list');
        for (const row of model.visible().slice(0, 500)) list.append(this.runItem(row, keys));
        if (model.visible().length === 0) list.append(element('div', 'jt-runs-message', 'No run matches.'));
        section.append(list);
      }
      children.push(section);
    }
    this.body.replaceChildren(...children);
  }

  private runItem(row: RunRow, keys: string[]): HTMLElement {
    const item = element('div', `jt-run jt-state-${row.state.replace(/[^a-z]/g, '')}`);
    item.dataset.runId = row.id;
    item.tabIndex = 0;
    const top = element('div', 'jt-run-top');
    top.append(
      element('span', 'jt-run-dot'),
      element('span', 'jt-run-name', row.name),
      element('span', 'jt-run-age', row.state === 'running' ? 'running' : formatAge(row.updated ?? row.created, row.now ?? Date.now() / 1000))
    );
    top.title = `${row.name} (${row.id}) — ${row.state}`;
    const values = element('div', 'jt-run-values');
    for (const key of keys) {
      if (row.summary[key] === undefined) continue;
      values.append(element('span', 'jt-run-value', `${key} ${formatValue(row.summary[key])}`));
    }
    item.append(top, values);
    const open = () => this.host.openRun(row);
    item.addEventListener('click', open);
    item.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') open();
    });
    return item;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
  }
}

/** A run: its header, chart controls (smoothing slider, x-axis, log scale, metric filter), charts, summary and config. */
export class RunPageView {
  readonly node = element('div', 'jt-run-page');
  private header = element('div', 'jt-run-header');
  private controls = element('div', 'jt-run-controls');
  private grid = element('div', 'jt-chart-grid');
  private tables = element('div', 'jt-run-tables');
  private slider = element('input', 'jt-smoothing');
  private sliderValue = element('span', 'jt-smoothing-value');
  private axis = element('select', 'jt-x-axis');
  private log = element('input', 'jt-log-scale');
  private filter = element('input', 'jt-metric-filter');
  private charts = new Map<string, MetricChart>();
  private data: RunPageData | null = null;
  private timer: number | null = null;
  private disposed = false;
  private initialAxis = '_step';

  constructor(private host: ViewHost, readonly project: string, readonly runId: string, private entity?: string | null) {
    this.slider.type = 'range';
    this.slider.min = '0';
    this.slider.max = '0.99';
    this.slider.step = '0.01';
    this.slider.value = '0.6';
    this.slider.setAttribute('aria-label', 'smoothing');
    this.log.type = 'checkbox';
    this.filter.type = 'search';
    this.filter.placeholder = 'Filter metrics';
    const smoothingLabel = element('label', 'jt-control', 'Smoothing ');
    smoothingLabel.append(this.slider, this.sliderValue);
    const axisLabel = element('label', 'jt-control', 'X axis ');
    axisLabel.append(this.axis);
    const logLabel = element('label', 'jt-control');
    logLabel.append(this.log, document.createTextNode(' log scale'));
    this.controls.append(smoothingLabel, axisLabel, logLabel, this.filter);
    for (const control of [this.slider, this.axis, this.log]) control.addEventListener('input', () => this.drawCharts());
    this.axis.addEventListener('change', () => this.drawCharts());
    this.log.addEventListener('change', () => this.drawCharts());
    this.filter.addEventListener('input', () => this.layoutCharts());
    this.node.append(this.header, this.controls, this.grid, this.tables);
  }

  /** The smoothing weight and x-axis to start with (a saved figure keeps the ones chosen when it was made). */
  setInitial(weight?: number, xAxis?: string): void {
    if (weight !== undefined && weight >= 0 && weight < 1) this.slider.value = String(weight);
    if (xAxis) this.initialAxis = xAxis;
  }

  async refresh(): Promise<void> {
    if (this.disposed) return;
    try {
      this.data = await this.host.run(this.project, this.runId, this.entity);
      this.render();
    } catch (error) {
      this.header.replaceChildren(element('div', 'jt-runs-message', `Could not read run ${this.runId}: ${String(error)}`));
    }
    if (!this.disposed && this.data && this.data.run.state === 'running') {
      this.timer = window.setTimeout(() => void this.refresh(), LIVE_REFRESH_MS);
    }
  }

  options(): ChartOptions {
    const width = Math.max(240, Math.min(560, Math.floor((this.grid.clientWidth || 900) / 2) - 16));
    return { weight: Number(this.slider.value), xAxis: this.axis.value || '_step', log: this.log.checked, width, height: 220 };
  }

  private render(): void {
    const data = this.data!;
    const run = data.run;
    const title = element('h2', 'jt-run-title', run.name);
    const facts = element('div', 'jt-run-facts');
    const fact = (label: string, value: string) => {
      const item = element('span', 'jt-fact');
      item.append(element('b', undefined, `${label} `), document.createTextNode(value));
      facts.append(item);
    };
    fact('state', run.state);
    fact('id', run.id);
    fact('project', run.project);
    if (run.group) fact('group', run.group);
    if (run.tags.length) fact('tags', run.tags.join(', '));
    fact('started', formatAge(run.created, run.now ?? Date.now() / 1000));
    if (run.runtime) fact('runtime', formatDuration(run.runtime));
    this.header.replaceChildren(title, facts);
    this.header.dataset.state = run.state;
    if (this.axis.options.length === 0) {
      for (const name of data.axes) {
        const option = element('option', undefined, AXIS_LABELS[name] ?? name);
        option.value = name;
        this.axis.append(option);
      }
      if (data.axes.includes(this.initialAxis)) this.axis.value = this.initialAxis;
    }
    for (const [metric, series] of Object.entries(data.metrics)) {
      const chart = this.charts.get(metric);
      if (chart) chart.update(series, this.options());
      else this.charts.set(metric, new MetricChart(metric, series));
    }
    this.layoutCharts();
    this.tables.replaceChildren(valuesTable('Summary', data.summary), valuesTable('Config', data.config));
  }

  private layoutCharts(): void {
    const filter = this.filter.value.trim().toLowerCase();
    const shown = Array.from(this.charts.values()).filter((chart) => !filter || chart.metric.toLowerCase().includes(filter));
    this.grid.replaceChildren(...shown.map((chart) => chart.node));
    if (this.charts.size === 0) this.grid.append(element('div', 'jt-runs-message', 'This run has logged no scalar metrics yet.'));
    this.drawCharts();
  }

  private drawCharts(): void {
    this.sliderValue.textContent = Number(this.slider.value).toFixed(2);
    const options = this.options();
    for (const chart of this.charts.values()) if (chart.node.isConnected) chart.draw(options);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    for (const chart of this.charts.values()) chart.dispose();
  }
}

function flatten(values: Record<string, unknown>, prefix = '', into: Array<[string, unknown]> = []): Array<[string, unknown]> {
  for (const [key, value] of Object.entries(values)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) flatten(value as Record<string, unknown>, name, into);
    else into.push([name, value]);
  }
  return into;
}

/** A two-column table of names and values (nested dicts flattened to dotted names). */
export function valuesTable(caption: string, values: Record<string, unknown>): HTMLElement {
  const table = element('table', 'jt-values');
  table.dataset.section = caption.toLowerCase();
  table.append(element('caption', undefined, caption));
  const rows = flatten(values);
  if (rows.length === 0) {
    const row = element('tr');
    row.append(element('td', 'jt-empty', 'none'));
    table.append(row);
  }
  for (const [name, value] of rows) {
    const row = element('tr');
    row.append(element('th', undefined, name), element('td', undefined, Array.isArray(value) ? JSON.stringify(value) : formatValue(value)));
    table.append(row);
  }
  return table;
}
