// The compare view: selected runs' metrics overlaid on one chart per metric (with the run page's
// smoothing, x-axis and log scale) and a config/summary table that marks where the runs differ.

import { OverlayChart } from './chart';
import { diffRows, runColor } from './compare_model';
import { element } from './dom';
import { CompareData, ChartControls, cellText, ViewHost } from './views';

export class CompareView {
  readonly node = element('div', 'jt-run-page jt-compare-page');
  private header = element('div', 'jt-run-header');
  private controls: ChartControls;
  private grid = element('div', 'jt-chart-grid');
  private diff = element('div', 'jt-compare-diff');
  private onlyDifferent = element('input', 'jt-only-different');
  private charts: OverlayChart[] = [];
  private data: CompareData | null = null;

  constructor(private host: ViewHost, readonly project: string, readonly runIds: string[], private entity?: string | null) {
    this.controls = new ChartControls(() => this.drawCharts(), () => this.layoutCharts());
    this.onlyDifferent.type = 'checkbox';
    this.onlyDifferent.addEventListener('change', () => this.renderDiff());
    const differentLabel = element('label', 'jt-control');
    differentLabel.append(this.onlyDifferent, document.createTextNode(' only values that differ'));
    const diffHeading = element('div', 'jt-compare-diff-heading');
    diffHeading.append(element('h3', 'jt-section-title', 'Config and summary'), differentLabel);
    const diffSection = element('section', 'jt-section');
    diffSection.dataset.section = 'diff';
    diffSection.append(diffHeading, this.diff);
    this.node.append(this.header, this.controls.node, this.grid, diffSection);
  }

  async refresh(): Promise<void> {
    if (!this.host.compare) return;
    try {
      this.data = await this.host.compare(this.project, this.runIds, this.entity);
    } catch (error) {
      this.header.replaceChildren(element('div', 'jt-runs-message', `Could not compare runs ${this.runIds.join(', ')}: ${String(error)}`));
      return;
    }
    this.render();
  }

  private render(): void {
    const data = this.data!;
    const legend = element('div', 'jt-compare-legend');
    data.runs.forEach((run, index) => {
      const item = element('button', 'jt-compare-run');
      item.dataset.runId = run.id;
      const swatch = element('span', 'jt-swatch');
      swatch.dataset.color = String(index % 10);
      item.append(swatch, element('span', 'jt-compare-run-name', run.name), element('span', 'jt-compare-run-state', ` ${run.state}`));
      item.title = `${run.name} (${run.id}): open its run page`;
      item.addEventListener('click', () => this.host.openRun(run));
      legend.append(item);
    });
    this.header.replaceChildren(element('h2', 'jt-run-title', `Compare ${data.runs.length} runs · ${this.project}`), legend);
    this.controls.setAxes(data.axes, '_step');
    for (const chart of this.charts) chart.dispose();
    const names = new Map(data.runs.map((run, index) => [run.id, { name: run.name, color: runColor(index) }]));
    this.charts = Object.entries(data.metrics).map(([metric, perRun]) =>
      new OverlayChart(metric, data.runs.filter((run) => perRun[run.id]).map((run) => ({
        label: names.get(run.id)!.name,
        color: names.get(run.id)!.color,
        series: perRun[run.id]
      }))));
    this.layoutCharts();
    this.renderDiff();
  }

  private layoutCharts(): void {
    const shown = this.charts.filter((chart) => this.controls.matches(chart.metric));
    this.grid.replaceChildren(...shown.map((chart) => chart.node));
    if (this.charts.length === 0) this.grid.append(element('div', 'jt-runs-message', 'These runs have logged no scalar metrics.'));
    this.drawCharts();
  }

  private drawCharts(): void {
    const options = this.controls.options(this.grid.clientWidth);
    for (const chart of this.charts) if (chart.node.isConnected) chart.draw(options);
  }

  private renderDiff(): void {
    const data = this.data;
    if (!data) return;
    const runs = data.runs.map((run) => ({ config: data.config[run.id] ?? {}, summary: data.summary[run.id] ?? {} }));
    const rows = diffRows(runs, this.onlyDifferent.checked);
    const table = element('table', 'jt-values jt-diff-table');
    const head = element('tr');
    head.append(element('th', undefined, ''), element('th', undefined, 'key'));
    data.runs.forEach((run, index) => {
      const cell = element('th', 'jt-diff-run', run.name);
      cell.dataset.color = String(index % 10);
      head.append(cell);
    });
    const thead = element('thead');
    thead.append(head);
    const body = element('tbody');
    for (const row of rows) {
      const line = element('tr', row.differs ? 'jt-differs' : undefined);
      line.dataset.key = `${row.section}.${row.key}`;
      line.append(element('td', 'jt-diff-section', row.section), element('th', undefined, row.key));
      for (const value of row.values) line.append(element('td', value === undefined ? 'jt-empty' : undefined, value === undefined ? '—' : cellText(value)));
      body.append(line);
    }
    if (rows.length === 0) {
      const line = element('tr');
      line.append(element('td', 'jt-empty', this.onlyDifferent.checked ? 'no value differs' : 'none'));
      body.append(line);
    }
    table.append(thead, body);
    this.diff.replaceChildren(table);
  }

  dispose(): void {
    for (const chart of this.charts) chart.dispose();
  }
}
