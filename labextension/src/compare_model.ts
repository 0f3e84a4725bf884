// What a compare view computes from the selected runs, apart from drawing: their colours and the
// config/summary table whose rows say whether the runs differ.

/** One colour per run of a compare view, in selection order (Tableau 10, as the live panel). */
export const RUN_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function runColor(index: number): string {
  return RUN_COLORS[((index % RUN_COLORS.length) + RUN_COLORS.length) % RUN_COLORS.length];
}

const isMedia = (value: unknown): value is { _type: string } =>
  Boolean(value) && typeof value === 'object' && !Array.isArray(value) && typeof (value as { _type?: unknown })._type === 'string';

/**
 * How a table cell names a logged media value instead of dumping its reference: "image",
 * "3 images", "histogram", "table"… (the `_type` without its `-file` suffix); null for other values.
 */
export function mediaLabel(value: unknown): string | null {
  if (isMedia(value)) return value._type.replace(/-file$/, '');
  if (Array.isArray(value) && value.length > 0 && value.every(isMedia)) {
    const kinds = new Set(value.map((item) => item._type.replace(/-file$/, '')));
    const kind = kinds.size === 1 ? Array.from(kinds)[0] : 'media value';
    return `${value.length} ${kind}${value.length === 1 ? '' : 's'}`;
  }
  return null;
}

/** Nested values flattened to dotted names (`{opt: {lr: 1}}` is `opt.lr`); lists and media references stay values. */
export function flattenValues(values: Record<string, unknown>, prefix = '', into: Array<[string, unknown]> = []): Array<[string, unknown]> {
  for (const [key, value] of Object.entries(values ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value) && !isMedia(value)) flattenValues(value as Record<string, unknown>, name, into);
    else into.push([name, value]);
  }
  return into;
}

export interface DiffRow {
  /** "config" or "summary" */
  section: string;
  key: string;
  /** one value per run, undefined where the run has none */
  values: unknown[];
  /** true when two runs hold different values (a missing value differs from any value) */
  differs: boolean;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The rows of a config/summary diff table of several runs, config first, keys sorted; `onlyDifferent` keeps rows that differ. */
export function diffRows(
  runs: Array<{ config: Record<string, unknown>; summary: Record<string, unknown> }>,
  onlyDifferent = false
): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const section of ['config', 'summary'] as const) {
    const flat = runs.map((run) => new Map(flattenValues(run[section] ?? {})));
    const keys = Array.from(new Set(flat.flatMap((values) => Array.from(values.keys())))).sort();
    for (const key of keys) {
      const values = flat.map((run) => run.get(key));
      const differs = values.some((value) => !same(value, values[0]));
      if (onlyDifferent && !differs) continue;
      rows.push({ section, key, values, differs });
    }
  }
  return rows;
}

/** The runs a compare URL or command names: ids split on commas, empty parts and repeats dropped. */
export function parseRunIds(text: string | null | undefined): string[] {
  return Array.from(new Set((text ?? '').split(',').map((id) => id.trim()).filter(Boolean)));
}
