// The media browser's model: what the server sends for a run's images, histograms, audio, videos, HTML
// pages and tables, which of the offered steps shows a given step, and how a table cell or a clip is shown.

export interface MediaImage {
  file: string;
  caption: string | null;
  width: number | null;
  height: number | null;
}

export interface MediaStep {
  step: number | null;
  images?: MediaImage[];
  bins?: Array<number | string>;
  values?: Array<number | string>;
  /** audio, video, html and table kinds: the files logged at this step */
  files?: MediaFile[];
}

export interface MediaKey {
  kind: 'images' | 'histogram' | 'audio' | 'video' | 'html' | 'table';
  /** how many steps logged this key (the server may send an evenly spaced part of them) */
  logged: number;
  steps: MediaStep[];
}

export interface RunMedia {
  media: Record<string, MediaKey>;
}

/** The index of the entry logged at `step`, or at the last step before it (the first entry when none is). */
export function entryAtStep(steps: Array<{ step: number | null }>, step: number): number {
  let found = 0;
  for (let i = 0; i < steps.length; i++) {
    const at = steps[i].step;
    if (at !== null && at <= step) found = i;
    if (at !== null && at > step) break;
  }
  return found;
}

/** An audio clip, video, HTML page or table logged at one step (media/... file of the run). */
export interface MediaFile {
  file: string;
  caption: string | null;
  format?: string;
  columns?: string[];
  nrows?: number;
  ncols?: number;
  duration?: number;
  sample_rate?: number;
  channels?: number;
  fps?: number;
  width?: number;
  height?: number;
}

/** A logged table's first rows (jupyter_tracker.lab.run_views.table_rows); `nrows` counts them all. */
export interface TableRows {
  columns: string[];
  rows: unknown[][];
  nrows: number;
}

/** How the browser shows one logged file: a video as a GIF is an image, other videos a player. */
export function videoShownAs(media: MediaFile): 'image' | 'video' {
  const format = (media.format ?? media.file.split('.').pop() ?? '').toLowerCase();
  return format === 'gif' ? 'image' : 'video';
}

/** What a table cell shows: an image reference as its picture, other media as their kind, values as text. */
export type CellView = { kind: 'image'; file: string; caption: string | null } | { kind: 'text'; text: string };

export function tableCell(value: unknown): CellView {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const ref = value as { _type?: unknown; path?: unknown; caption?: unknown };
    if (typeof ref._type === 'string' && typeof ref.path === 'string') {
      if (ref._type === 'image-file') return { kind: 'image', file: ref.path, caption: typeof ref.caption === 'string' ? ref.caption : null };
      return { kind: 'text', text: ref._type.replace(/-file$/, '') };
    }
    return { kind: 'text', text: JSON.stringify(value) };
  }
  if (Array.isArray(value)) return { kind: 'text', text: JSON.stringify(value) };
  if (value === null || value === undefined) return { kind: 'text', text: '' };
  if (typeof value === 'number') return { kind: 'text', text: Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6))) };
  return { kind: 'text', text: String(value) };
}

/** "12 rows × 3 columns", and how many of them are shown when the answer holds only the first ones. */
export function tableCaption(table: TableRows): string {
  const rows = `${table.nrows.toLocaleString('en-US')} row${table.nrows === 1 ? '' : 's'}`;
  const columns = `${table.columns.length} column${table.columns.length === 1 ? '' : 's'}`;
  const shown = table.rows.length < table.nrows ? `, first ${table.rows.length.toLocaleString('en-US')} shown` : '';
  return `${rows} × ${columns}${shown}`;
}

/** "0.5 s · 16,000 Hz · stereo": what a logged audio clip's reference says of it. */
export function audioCaption(media: MediaFile): string {
  const parts: string[] = [];
  if (typeof media.duration === 'number') parts.push(`${media.duration < 10 ? media.duration.toFixed(2) : media.duration.toFixed(1)} s`);
  if (typeof media.sample_rate === 'number') parts.push(`${media.sample_rate.toLocaleString('en-US')} Hz`);
  if (media.channels === 1) parts.push('mono');
  else if (media.channels === 2) parts.push('stereo');
  else if (typeof media.channels === 'number') parts.push(`${media.channels} channels`);
  return parts.join(' · ');
}

/** The size an image or video is drawn at: large ones fit in 256 px, small ones grow by whole factors to about 128 px. */
export function displaySize(width: number, height: number): { width: number; height: number } {
  const longest = Math.max(width, height);
  const factor = longest > 256 ? 256 / longest : longest < 128 ? Math.floor(128 / longest) : 1;
  return { width: Math.max(1, Math.round(width * factor)), height: Math.max(1, Math.round(height * factor)) };
}
