import { describe, expect, it } from 'vitest';
import { parseSearch, RunRow, RunsTableModel } from '../src/table_model';

function row(id: string, fields: Partial<RunRow> = {}): RunRow {
  return { id, name: `run-${id}`, project: 'p', state: 'finished', tags: [], summary: {}, created: Number(id.replace(/\D/g, '')) || 0, ...fields };
}

describe('RunsTableModel', () => {
  const rows = [
    row('1', { name: 'baseline', tags: ['cnn'], summary: { loss: 0.5, acc: 0.8 } }),
    row('2', { name: 'wide-net', state: 'running', tags: ['cnn', 'wide'], summary: { loss: 0.3 } }),
    row('3', { name: 'tiny', group: 'ablation', summary: { loss: 'NaN', acc: 0.6 } }),
    row('10', { name: 'Wide-2', state: 'crashed', summary: {} })
  ];

  it('searches names, ids, groups and tags, and field:value terms', () => {
    const model = new RunsTableModel(rows);
    model.setSearch('wide');
    expect(model.visible().map((r) => r.id)).toEqual(['10', '2']);
    model.setSearch('state:running');
    expect(model.visible().map((r) => r.id)).toEqual(['2']);
    model.setSearch('tag:cnn wide');
    expect(model.visible().map((r) => r.id)).toEqual(['2']);
    model.setSearch('ablation');
    expect(model.visible().map((r) => r.id)).toEqual(['3']);
    model.setSearch('nomatch');
    expect(model.visible()).toEqual([]);
    expect(parseSearch('  a  state:x ')).toEqual([{ field: null, text: 'a' }, { field: 'state', text: 'x' }]);
  });

  it('sorts newest first by default, by any column, missing values last in both directions', () => {
    const model = new RunsTableModel(rows);
    expect(model.visible().map((r) => r.id)).toEqual(['10', '3', '2', '1']);
    model.setSort('summary.loss', false);
    expect(model.visible().map((r) => r.id)).toEqual(['2', '1', '3', '10']);
    model.setSort('summary.loss', true);
    expect(model.visible().map((r) => r.id)).toEqual(['1', '2', '3', '10']);
    model.setSort('name', false);
    expect(model.visible().map((r) => r.name)).toEqual(['baseline', 'tiny', 'Wide-2', 'wide-net']);
  });

  it('picks the summary keys most runs hold and says whether a run is running', () => {
    const model = new RunsTableModel(rows);
    expect(model.summaryKeys(1)).toEqual(['loss']);
    expect(model.summaryKeys(5)).toEqual(['loss', 'acc']);
    expect(model.anyRunning()).toBe(true);
    model.setRows(rows.filter((r) => r.state !== 'running'));
    expect(model.anyRunning()).toBe(false);
    expect(model.total).toBe(3);
  });

  it('filters 10,000 runs by tag and sorts them by a summary value', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => row(String(i), { name: `run-${i}`, tags: [i % 7 ? 'a' : 'b'], summary: { loss: i % 13 } }));
    const model = new RunsTableModel(many);
    model.setSearch('tag:b');
    model.setSort('summary.loss', false);
    const shown = model.visible();
    expect(shown.length).toBe(Math.ceil(10_000 / 7));
    expect(shown.every((r, i) => i === 0 || (shown[i - 1].summary.loss as number) <= (r.summary.loss as number))).toBe(true);
  });
});
