// The views every host shows (runs list, run page), built with plain DOM and textContent only, so a
// run name, tag or config value is always text, never markup. A host supplies the data and navigation.

import { AXIS_LABELS, ChartOptions, MetricChart, SeriesPayload } from './chart';
import { flattenValues, mediaLabel } from './compare_model';
import { element } from './dom';
import { formatAge, formatDuration, formatSync, formatValue, SyncInfo } from './format';
import { RunMedia, TableRows } from './media_model';
import { FileEntry, FilesSection, MediaSection, SystemSection, WarningsSection } from './sections';
import { RunWarning } from './warnings_model';
import { RunRow, RunsTableModel } from './table_model';

export { element };

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
  /** system metrics (``system/...``), charted against wall time; absent in older saved charts */
  system?: Record<string, SeriesPayload>;
  /** a local run's upload to the tracking server; null or absent when there is none to show */
  sync?: SyncInfo | null;
  /** what the run recorded: limits crossed, a log not read whole; absent in older saved charts */
  warnings?: RunWarning[];
  axes: string[];
}

/** Selected runs side by side (jupyter_tracker.lab.run_views.compare_runs). */
export interface CompareData {
  runs: RunRow[];
  config: Record<string, Record<string, unknown>>;
  summary: Record<string, Record<string, unknown>>;
  metrics: Record<string, Record<string, SeriesPayload>>;
  axes: string[];
}

/** What a view needs from where it is shown (JupyterLab, the server's pages). */
export interface ViewHost {
  projects(): Promise<ProjectInfo[]>;
  runs(project: ProjectInfo): Promise<RunRow[]>;
  run(project: string, id: string, entity?: string | null): Promise<RunPageData>;
  openRun(row: RunRow): void;
  /** The sections below a run's charts; a host without them (a saved notebook's output) shows charts only. */
  media?(project: string, id: string, entity?: string | null): Promise<RunMedia>;
  files?(project: string, id: string, entity?: string | null): Promise<FileEntry[]>;
  /** The authenticated URL of one of a run's files: inline (an image) or as a download. */
  fileUrl?(project: string, id: string, name: string, download: boolean, entity?: string | null): string;
  /** The first rows of a logged table (a file the run lists). */
  table?(project: string, id: string, name: string, entity?: string | null): Promise<TableRows>;
  compare?(project: string, ids: string[], entity?: string | null): Promise<CompareData>;
  openCompare?(project: string, ids: string[]): void;
}


/** Refresh period while something runs, and otherwise (new runs still show up). */
export const LIVE_REFRESH_MS = 2000;
export const IDLE_REFRESH_MS = 6000;
/** A live run page reads its media and files at every this-many refreshes (and once the run ends). */
export const SECTIONS_EVERY = 5;

/** Projects, each opening to its runs (state, age, key summary values), with a search box; refreshes itself. */
export class RunsListView {
  readonly node = element('div', 'jt-runs');
  private search = element('input', 'jt-runs-search');
  private body = element('div', 'jt-runs-body');
  private open = new Set<string>();
  /** runs ticked for a compare view, per project */
  private selected = new Map<string, Set<string>>();
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
      const chosen = this.selected.get(project.name);
      if (opened && chosen && chosen.size >= 2 && this.host.openCompare) {
        const compare = element('button', 'jt-compare-button', `Compare ${chosen.size} runs`);
        compare.addEventListener('click', () => this.host.openCompare!(project.name, Array.from(chosen)));
        section.append(compare);
      }
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
    if (this.host.openCompare) {
      const chosen = this.selected.get(row.project) ?? new Set<string>();
      const pick = element('input', 'jt-run-select');
      pick.type = 'checkbox';
      pick.checked = chosen.has(row.id);
      pick.title = 'Select for a compare view';
      pick.setAttribute('aria-label', `select ${row.name} to compare`);
      pick.addEventListener('click', (event) => event.stopPropagation());
      pick.addEventListener('change', () => {
        if (pick.checked) chosen.add(row.id);
        else chosen.delete(row.id);
        this.selected.set(row.project, chosen);
        this.render();
      });
      top.append(pick);
    }
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

/** The controls every chart page shares: smoothing slider, x-axis, log scale and a metric filter. */
export class ChartControls {
  readonly node = element('div', 'jt-run-controls');
  readonly slider = element('input', 'jt-smoothing');
  readonly sliderValue = element('span', 'jt-smoothing-value');
  readonly axis = element('select', 'jt-x-axis');
  readonly log = element('input', 'jt-log-scale');
  readonly filter = element('input', 'jt-metric-filter');

  constructor(onDraw: () => void, onFilter: () => void) {
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
    this.node.append(smoothingLabel, axisLabel, logLabel, this.filter);
    for (const control of [this.slider, this.axis, this.log]) control.addEventListener('input', onDraw);
    this.axis.addEventListener('change', onDraw);
    this.log.addEventListener('change', onDraw);
    this.filter.addEventListener('input', onFilter);
  }

  /** Fills the x-axis choice once (the first answer names the axes). */
  setAxes(axes: string[], initial: string): void {
    if (this.axis.options.length) return;
    for (const name of axes) {
      const option = element('option', undefined, AXIS_LABELS[name] ?? name);
      option.value = name;
      this.axis.append(option);
    }
    if (axes.includes(initial)) this.axis.value = initial;
  }

  matches(metric: string): boolean {
    const filter = this.filter.value.trim().toLowerCase();
    return !filter || metric.toLowerCase().includes(filter);
  }

  options(gridWidth: number): ChartOptions {
    this.sliderValue.textContent = Number(this.slider.value).toFixed(2);
    const width = Math.max(240, Math.min(560, Math.floor((gridWidth || 900) / 2) - 16));
    return { weight: Number(this.slider.value), xAxis: this.axis.value || '_step', log: this.log.checked, width, height: 220 };
  }
}

/** A run: its header, warnings, chart controls, charts, system metrics, media, files, summary and config. */
export class RunPageView {
  readonly node = element('div', 'jt-run-page');
  private header = element('div', 'jt-run-header');
  private warnings = new WarningsSection();
  private controls: ChartControls;
  private grid = element('div', 'jt-chart-grid');
  private system = new SystemSection();
  private media: MediaSection | null = null;
  private files: FilesSection | null = null;
  private tables = element('div', 'jt-run-tables');
  private charts = new Map<string, MetricChart>();
  private data: RunPageData | null = null;
  private timer: number | null = null;
  private disposed = false;
  private initialAxis = '_step';
  private refreshes = 0;

  constructor(private host: ViewHost, readonly project: string, readonly runId: string, private entity?: string | null) {
    this.controls = new ChartControls(() => this.drawCharts(), () => this.layoutCharts());
    this.node.append(this.header, this.warnings.node, this.controls.node, this.grid, this.system.node);
    if (host.media && host.fileUrl) {
      const url = (name: string) => host.fileUrl!(project, runId, name, false, entity);
      const table = host.table ? (name: string) => host.table!(project, runId, name, entity) : undefined;
      this.media = new MediaSection(url, table);
      this.node.append(this.media.node);
    }
    if (host.files && host.fileUrl) {
      this.files = new FilesSection((name) => host.fileUrl!(project, runId, name, true, entity));
      this.node.append(this.files.node);
    }
    this.node.append(this.tables);
  }

  /** The smoothing weight and x-axis to start with (a saved figure keeps the ones chosen when it was made). */
  setInitial(weight?: number, xAxis?: string): void {
    if (weight !== undefined && weight >= 0 && weight < 1) this.controls.slider.value = String(weight);
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
    // media and files read the whole history: while a run is live they follow it every few refreshes
    const live = this.data?.run.state === 'running';
    if (!live || this.refreshes % SECTIONS_EVERY === 0) await Promise.all([this.refreshMedia(), this.refreshFiles()]);
    this.refreshes += 1;
    if (!this.disposed && this.data && this.data.run.state === 'running') {
      this.timer = window.setTimeout(() => void this.refresh(), LIVE_REFRESH_MS);
    }
  }

  private async refreshMedia(): Promise<void> {
    if (!this.media || !this.host.media) return;
    try {
      this.media.update((await this.host.media(this.project, this.runId, this.entity)).media);
    } catch (error) {
      this.media.fail(String(error));
    }
  }

  private async refreshFiles(): Promise<void> {
    if (!this.files || !this.host.files) return;
    try {
      this.files.update(await this.host.files(this.project, this.runId, this.entity));
    } catch (error) {
      this.files.fail(String(error));
    }
  }

  options(): ChartOptions {
    return this.controls.options(this.grid.clientWidth);
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
    if (data.sync) fact('sync', formatSync(data.sync));
    this.header.replaceChildren(title, facts);
    this.header.dataset.state = run.state;
    this.warnings.update(data.warnings ?? []);
    this.controls.setAxes(data.axes, this.initialAxis);
    for (const [metric, series] of Object.entries(data.metrics)) {
      const chart = this.charts.get(metric);
      if (chart) chart.update(series, this.options());
      else this.charts.set(metric, new MetricChart(metric, series));
    }
    this.system.update(data.system ?? {});
    this.layoutCharts();
    this.tables.replaceChildren(valuesTable('Summary', data.summary), valuesTable('Config', data.config));
  }

  private layoutCharts(): void {
    const shown = Array.from(this.charts.values()).filter((chart) => this.controls.matches(chart.metric));
    this.grid.replaceChildren(...shown.map((chart) => chart.node));
    if (this.charts.size === 0) this.grid.append(element('div', 'jt-runs-message', 'This run has logged no scalar metrics yet.'));
    this.system.layout((metric) => this.controls.matches(metric));
    this.drawCharts();
  }

  private drawCharts(): void {
    const options = this.options();
    for (const chart of this.charts.values()) if (chart.node.isConnected) chart.draw(options);
    this.system.draw(options);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    for (const chart of this.charts.values()) chart.dispose();
    this.system.dispose();
    this.media?.dispose();
  }
}

/** A two-column table of names and values (nested dicts flattened to dotted names). */
export function valuesTable(caption: string, values: Record<string, unknown>): HTMLElement {
  const table = element('table', 'jt-values');
  table.dataset.section = caption.toLowerCase();
  table.append(element('caption', undefined, caption));
  const rows = flattenValues(values);
  if (rows.length === 0) {
    const row = element('tr');
    row.append(element('td', 'jt-empty', 'none'));
    table.append(row);
  }
  for (const [name, value] of rows) {
    const row = element('tr');
    row.append(element('th', undefined, name), element('td', undefined, cellText(value)));
    table.append(row);
  }
  return table;
}

/** A config or summary value as table text (lists and dicts as JSON, numbers formatted). */
export function cellText(value: unknown): string {
  const media = mediaLabel(value);
  if (media !== null) return media;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return formatValue(value);
}
