// The runs table's model: which rows show (search and field filters), in which order, with which
// summary columns. Pure data, no DOM, so the sidebar, the server's runs page and the tests share it.

export interface RunRow {
  id: string;
  name: string;
  project: string;
  entity?: string | null;
  state: string;
  group?: string | null;
  tags: string[];
  created?: number | null;
  updated?: number | null;
  runtime?: number | null;
  summary: Record<string, number | string>;
  now?: number;
}

export type SortKey = 'created' | 'name' | 'state' | 'runtime' | `summary.${string}`;

/** The search box's text as terms: plain words match name, id, group or a tag; `field:value` matches that field. */
export interface SearchTerm {
  field: string | null;
  text: string;
}

export function parseSearch(text: string): SearchTerm[] {
  return text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => {
      const colon = word.indexOf(':');
      if (colon > 0 && colon < word.length - 1) {
        return { field: word.slice(0, colon).toLowerCase(), text: word.slice(colon + 1).toLowerCase() };
      }
      return { field: null, text: word.toLowerCase() };
    });
}

function termMatches(row: RunRow, term: SearchTerm): boolean {
  const contains = (value: unknown) => value !== null && value !== undefined && String(value).toLowerCase().includes(term.text);
  switch (term.field) {
    case null:
      return contains(row.name) || contains(row.id) || contains(row.group) || row.tags.some(contains);
    case 'state':
      return row.state.toLowerCase() === term.text;
    case 'tag':
      return row.tags.some((tag) => tag.toLowerCase() === term.text);
    case 'group':
    case 'name':
    case 'id':
      return contains(row[term.field]);
    default:
      return contains(row.summary[term.field]);
  }
}

function sortValue(row: RunRow, key: SortKey): number | string {
  if (key.startsWith('summary.')) {
    const value = row.summary[key.slice('summary.'.length)];
    return typeof value === 'number' ? value : NaN;
  }
  const value = row[key as 'created' | 'name' | 'state' | 'runtime'];
  return value === null || value === undefined ? NaN : value;
}

/** Ascending order with missing values (NaN) last whatever the direction. */
function compare(a: number | string, b: number | string): number {
  const aMissing = typeof a === 'number' && Number.isNaN(a);
  const bMissing = typeof b === 'number' && Number.isNaN(b);
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

export class RunsTableModel {
  private rows: RunRow[] = [];
  private terms: SearchTerm[] = [];
  private sortKey: SortKey = 'created';
  private descending = true;
  private cache: RunRow[] | null = null;

  constructor(rows: RunRow[] = []) {
    this.setRows(rows);
  }

  setRows(rows: RunRow[]): void {
    this.rows = rows.slice();
    this.cache = null;
  }

  setSearch(text: string): void {
    this.terms = parseSearch(text);
    this.cache = null;
  }

  setSort(key: SortKey, descending: boolean): void {
    this.sortKey = key;
    this.descending = descending;
    this.cache = null;
  }

  get sort(): { key: SortKey; descending: boolean } {
    return { key: this.sortKey, descending: this.descending };
  }

  get total(): number {
    return this.rows.length;
  }

  /** The rows that match the search, sorted (stable: equal rows keep the server's newest-first order). */
  visible(): RunRow[] {
    if (this.cache) return this.cache;
    const kept = this.rows.filter((row) => this.terms.every((term) => termMatches(row, term)));
    const key = this.sortKey;
    const sign = this.descending ? -1 : 1;
    const ranked = kept.map((row, position) => ({ row, position, value: sortValue(row, key) }));
    ranked.sort((a, b) => {
      const aMissing = typeof a.value === 'number' && Number.isNaN(a.value);
      const bMissing = typeof b.value === 'number' && Number.isNaN(b.value);
      const order = aMissing || bMissing ? compare(a.value, b.value) : sign * compare(a.value, b.value);
      return order || a.position - b.position;
    });
    this.cache = ranked.map((entry) => entry.row);
    return this.cache;
  }

  /** The summary keys most runs hold (then alphabetical), the columns shown beside each run. */
  summaryKeys(limit: number): string[] {
    const counts = new Map<string, number>();
    for (const row of this.rows) {
      for (const key of Object.keys(row.summary)) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return Array.from(counts.entries())
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'en', { numeric: true }))
      .slice(0, limit)
      .map(([key]) => key);
  }

  /** True while a run of the table is running: the views keep refreshing. */
  anyRunning(): boolean {
    return this.rows.some((row) => row.state === 'running');
  }
}
