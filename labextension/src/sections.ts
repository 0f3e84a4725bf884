// The run page's sections: the warnings the run recorded, system metrics against wall time, the media
// browser (images, histograms, audio, video, HTML pages and tables per key with a step slider) and the
// run's files with download links. Every name, caption, warning, table cell and file name is text
// (textContent, attribute values), never markup; a logged HTML page is shown only in an iframe
// sandboxed with no permissions (no script, a unique origin); files are reached only through the
// host's authenticated URL for a listed name.

import { ChartOptions, HistogramChart, MetricChart, SeriesPayload } from './chart';
import { element } from './dom';
import { formatAge, formatBytes, toNumber } from './format';
import { audioCaption, displaySize, entryAtStep, MediaFile, MediaKey, MediaStep, tableCaption, tableCell, TableRows, videoShownAs } from './media_model';
import { orderWarnings, RunWarning, warningsHeading } from './warnings_model';

/** A logged HTML page larger than this is offered as a download instead of being shown. */
export const HTML_SHOWN_BYTES = 2_000_000;

function section(name: string, title: string): { node: HTMLElement; body: HTMLElement; heading: HTMLElement } {
  const node = element('section', 'jt-section');
  node.dataset.section = name;
  const heading = element('h3', 'jt-section-title', title);
  const body = element('div', 'jt-section-body');
  node.append(heading, body);
  return { node, body, heading };
}

/** CPU, memory, GPU… (the run's `system/` metrics), each charted against wall time like the live panel's system group. */
export class SystemSection {
  readonly node: HTMLElement;
  private grid = element('div', 'jt-chart-grid jt-system-grid');
  private charts = new Map<string, MetricChart>();
  private lastOptions: ChartOptions | null = null;

  constructor() {
    const parts = section('system', 'System');
    this.node = parts.node;
    parts.body.append(this.grid);
    this.node.hidden = true;
  }

  update(system: Record<string, SeriesPayload>): void {
    for (const [metric, series] of Object.entries(system)) {
      const chart = this.charts.get(metric);
      if (chart && this.lastOptions) chart.update(series, this.systemOptions(this.lastOptions));
      else if (!chart) this.charts.set(metric, new MetricChart(metric, series));
    }
    this.node.hidden = this.charts.size === 0;
  }

  layout(matches: (metric: string) => boolean): void {
    this.grid.replaceChildren(...Array.from(this.charts.values()).filter((chart) => matches(chart.metric)).map((chart) => chart.node));
  }

  private systemOptions(options: ChartOptions): ChartOptions {
    // system metrics have no step: they follow wall time whatever the page's axis; percentages stay linear
    return { ...options, xAxis: '_timestamp', log: false };
  }

  draw(options: ChartOptions): void {
    this.lastOptions = options;
    for (const chart of this.charts.values()) if (chart.node.isConnected) chart.draw(this.systemOptions(options));
  }

  dispose(): void {
    for (const chart of this.charts.values()) chart.dispose();
  }
}

/** The warnings the run recorded: what crossed which limit (and what to do), or what of its log could not be read. */
export class WarningsSection {
  readonly node: HTMLElement;
  private body: HTMLElement;
  private heading: HTMLElement;

  constructor() {
    const parts = section('warnings', 'Warnings');
    this.node = parts.node;
    this.node.classList.add('jt-warnings');
    this.body = parts.body;
    this.heading = parts.heading;
    this.node.hidden = true;
  }

  update(warnings: RunWarning[]): void {
    this.node.hidden = warnings.length === 0;
    this.heading.textContent = warningsHeading(warnings);
    const list = element('ul', 'jt-warning-list');
    for (const warning of orderWarnings(warnings)) {
      const item = element('li', 'jt-warning');
      item.dataset.kind = warning.kind;
      item.setAttribute('role', 'note');
      const title = element('b', 'jt-warning-title', warning.title);
      item.append(title);
      if (warning.subject) item.append(document.createTextNode(' '), element('code', 'jt-warning-subject', warning.subject));
      item.append(element('div', 'jt-warning-message', warning.message));
      if (warning.advice) item.append(element('div', 'jt-warning-advice', warning.advice));
      list.append(item);
    }
    this.body.replaceChildren(list);
  }
}

/** One media key: a step slider and what was logged at the chosen step. */
class MediaCard {
  readonly node = element('div', 'jt-media');
  private slider = element('input', 'jt-media-step');
  private label = element('span', 'jt-media-step-label');
  private shown = element('div', 'jt-media-shown');
  private histogram: HistogramChart | null = null;
  private steps: MediaStep[] = [];
  private following = true;

  /** the files shown: a refresh that brings the same ones keeps their players (and where they were) */
  private loaded = '';

  constructor(readonly key: string, private fileUrl: (name: string) => string, private loadTable?: (name: string) => Promise<TableRows>) {
    this.node.dataset.key = key;
    this.slider.type = 'range';
    this.slider.min = '0';
    this.slider.step = '1';
    this.slider.setAttribute('aria-label', `step of ${key}`);
    this.slider.addEventListener('input', () => {
      this.following = Number(this.slider.value) === this.steps.length - 1;
      this.show();
    });
    const controls = element('div', 'jt-media-controls');
    controls.append(this.slider, this.label);
    this.node.append(element('div', 'jt-chart-title', key), controls, this.shown);
  }

  update(media: MediaKey): void {
    this.node.dataset.kind = media.kind;
    const before = this.steps[Number(this.slider.value)]?.step;
    this.steps = media.steps;
    this.slider.max = String(Math.max(0, media.steps.length - 1));
    this.slider.disabled = media.steps.length < 2;
    let index = media.steps.length - 1;
    if (!this.following && typeof before === 'number') index = entryAtStep(media.steps, before);
    this.slider.value = String(index);
    this.node.title = media.logged > media.steps.length ? `${media.logged} steps logged, ${media.steps.length} of them offered` : '';
    this.show();
  }

  private show(): void {
    const index = Number(this.slider.value);
    const entry = this.steps[index];
    if (!entry) return;
    this.label.textContent = `step ${entry.step ?? '?'} (${index + 1} of ${this.steps.length})`;
    this.node.dataset.step = String(entry.step);
    if (entry.images) {
      const figures = entry.images.map((image) => {
        const figure = element('figure', 'jt-media-image');
        const picture = element('img');
        picture.src = this.fileUrl(image.file);
        picture.alt = image.caption ?? this.key;
        if (image.width && image.height) {
          // drawn pixelated when grown (see base.css)
          const size = displaySize(image.width, image.height);
          picture.width = size.width;
          picture.height = size.height;
        }
        figure.append(picture);
        if (image.caption) figure.append(element('figcaption', undefined, image.caption));
        return figure;
      });
      this.shown.replaceChildren(...figures);
    } else if (entry.bins && entry.values) {
      if (!this.histogram) {
        this.histogram = new HistogramChart(320, 180);
        this.shown.replaceChildren(this.histogram.node);
      }
      this.histogram.show(Float64Array.from(entry.bins, toNumber), Float64Array.from(entry.values, toNumber));
    } else if (entry.files) {
      const kind = this.node.dataset.kind;
      const shownKey = `${kind}:${entry.files.map((media) => media.file).join('|')}`;
      if (shownKey === this.loaded) return; // the same files: keep the player (and where it was) as it is
      this.loaded = shownKey;
      this.shown.replaceChildren(...entry.files.map((media) => this.fileFigure(kind, media)));
    }
  }

  /** An audio player, video player, sandboxed HTML page or table for one logged file. */
  private fileFigure(kind: string | undefined, media: MediaFile): HTMLElement {
    const figure = element('figure', `jt-media-file jt-media-${kind ?? 'file'}`);
    figure.dataset.file = media.file;
    let note = '';
    if (kind === 'audio') {
      const player = element('audio');
      player.controls = true;
      player.preload = 'metadata';
      player.src = this.fileUrl(media.file);
      figure.append(player);
      note = audioCaption(media);
    } else if (kind === 'video' && videoShownAs(media) === 'image') {
      const picture = element('img', 'jt-media-gif');
      picture.src = this.fileUrl(media.file);
      picture.alt = media.caption ?? this.key;
      if (media.width && media.height) {
        const size = displaySize(media.width, media.height);
        picture.width = size.width;
        picture.height = size.height;
      }
      figure.append(picture);
    } else if (kind === 'video') {
      const player = element('video');
      player.controls = true;
      player.preload = 'metadata';
      player.src = this.fileUrl(media.file);
      const size = media.width && media.height ? displaySize(media.width, media.height) : null;
      player.width = Math.max(320, size?.width ?? 0);
      figure.append(player);
    } else if (kind === 'html') {
      figure.append(this.htmlFrame(media));
    } else if (kind === 'table') {
      figure.append(this.tableView(media));
    }
    const caption = [media.caption, note].filter((part) => part).join(' — ');
    if (caption) figure.append(element('figcaption', undefined, caption));
    return figure;
  }

  /** A logged HTML page in an iframe with an empty sandbox: no script, no forms, no same-origin access. */
  private htmlFrame(media: MediaFile): HTMLElement {
    const frame = element('iframe', 'jt-media-html-frame');
    frame.setAttribute('sandbox', '');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.title = media.caption ?? this.key;
    void (async () => {
      try {
        const response = await fetch(this.fileUrl(media.file), { credentials: 'same-origin' });
        if (!response.ok) throw new Error(`${response.status}`);
        const size = Number(response.headers.get('Content-Length') ?? 0);
        if (size > HTML_SHOWN_BYTES) throw new Error(`${formatBytes(size)}, too large to show here`);
        frame.srcdoc = await response.text();
      } catch (error) {
        frame.replaceWith(element('div', 'jt-runs-message', `Could not show this page: ${String(error)}`));
      }
    })();
    return frame;
  }

  /** A logged table's first rows: values as text, image cells as their pictures. */
  private tableView(media: MediaFile): HTMLElement {
    const holder = element('div', 'jt-media-table');
    if (!this.loadTable) {
      holder.append(element('div', 'jt-runs-message', 'This host cannot show tables.'));
      return holder;
    }
    holder.append(element('div', 'jt-runs-message', 'Loading the table…'));
    void this.loadTable(media.file).then(
      (table) => {
        const grid = element('table', 'jt-values jt-table-rows');
        grid.append(element('caption', undefined, tableCaption(table)));
        const head = element('tr');
        for (const column of table.columns) head.append(element('th', undefined, column));
        grid.append(head);
        for (const row of table.rows) {
          const line = element('tr');
          for (const value of row) {
            const cell = element('td');
            const view = tableCell(value);
            if (view.kind === 'image') {
              const picture = element('img', 'jt-table-image');
              picture.src = this.fileUrl(view.file);
              picture.alt = view.caption ?? 'image';
              cell.append(picture);
            } else cell.textContent = view.text;
            line.append(cell);
          }
          grid.append(line);
        }
        holder.replaceChildren(grid);
      },
      (error) => holder.replaceChildren(element('div', 'jt-runs-message', `Could not read the table: ${String(error)}`))
    );
    return holder;
  }

  dispose(): void {
    this.histogram?.dispose();
  }
}

/** The media browser: one card per media key (images, histogram, audio, video, HTML, table), each with its own step slider. */
export class MediaSection {
  readonly node: HTMLElement;
  private body: HTMLElement;
  private cards = new Map<string, MediaCard>();

  constructor(private fileUrl: (name: string) => string, private loadTable?: (name: string) => Promise<TableRows>) {
    const parts = section('media', 'Media');
    this.node = parts.node;
    this.body = parts.body;
    this.body.classList.add('jt-media-grid');
    this.node.hidden = true;
  }

  update(media: Record<string, MediaKey>): void {
    for (const [key, entry] of Object.entries(media)) {
      let card = this.cards.get(key);
      if (!card) {
        card = new MediaCard(key, this.fileUrl, this.loadTable);
        this.cards.set(key, card);
        this.body.append(card.node);
      }
      card.update(entry);
    }
    this.node.hidden = this.cards.size === 0;
  }

  fail(message: string): void {
    this.node.hidden = false;
    this.body.replaceChildren(element('div', 'jt-runs-message', `Could not read the run's media: ${message}`));
    this.cards.clear();
  }

  dispose(): void {
    for (const card of this.cards.values()) card.dispose();
  }
}

export interface FileEntry {
  name: string;
  size: number;
  updated?: number | null;
}

/** The run's files: name (a download link), size and age, with the total. */
export class FilesSection {
  readonly node: HTMLElement;
  private body: HTMLElement;
  private heading: HTMLElement;

  constructor(private downloadUrl: (name: string) => string) {
    const parts = section('files', 'Files');
    this.node = parts.node;
    this.body = parts.body;
    this.heading = parts.heading;
  }

  update(files: FileEntry[]): void {
    const total = files.reduce((sum, file) => sum + file.size, 0);
    this.heading.textContent = files.length ? `Files (${files.length}, ${formatBytes(total)})` : 'Files';
    if (files.length === 0) {
      this.body.replaceChildren(element('div', 'jt-runs-message', 'This run has no files.'));
      return;
    }
    const table = element('table', 'jt-files');
    const now = Date.now() / 1000;
    for (const file of files) {
      const row = element('tr');
      row.dataset.file = file.name;
      const name = element('td', 'jt-file-name');
      const link = element('a', 'jt-file-link', file.name);
      link.href = this.downloadUrl(file.name);
      link.download = file.name.split('/').pop() || 'file';
      link.rel = 'noopener';
      name.append(link);
      row.append(name, element('td', 'jt-number', formatBytes(file.size)), element('td', 'jt-file-age', formatAge(file.updated, now)));
      table.append(row);
    }
    this.body.replaceChildren(table);
  }

  fail(message: string): void {
    this.body.replaceChildren(element('div', 'jt-runs-message', `Could not list the run's files: ${message}`));
  }
}
