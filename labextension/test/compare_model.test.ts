import { describe, expect, it } from 'vitest';
import { diffRows, flattenValues, mediaLabel, parseRunIds, runColor, RUN_COLORS } from '../src/compare_model';

describe('diffRows', () => {
  const runs = [
    { config: { lr: 0.1, opt: { name: 'adam', beta: 0.9 }, layers: [1, 2] }, summary: { acc: 0.9, '<b>x</b>': 'a' } },
    { config: { lr: 0.01, opt: { name: 'adam' }, layers: [1, 2] }, summary: { acc: 0.9 } },
    { config: { lr: 0.1, opt: { name: 'adam', beta: 0.9 }, layers: [1, 3] }, summary: { acc: 0.9 } }
  ];

  it('lists config then summary keys, flattened and sorted, one value per run', () => {
    const rows = diffRows(runs);
    expect(rows.map((row) => `${row.section}:${row.key}`)).toEqual([
      'config:layers', 'config:lr', 'config:opt.beta', 'config:opt.name', 'summary:<b>x</b>', 'summary:acc'
    ]);
    expect(rows[1].values).toEqual([0.1, 0.01, 0.1]);
    expect(rows[2].values).toEqual([0.9, undefined, 0.9]);
  });

  it('marks rows that differ, a missing value included, and can keep only those', () => {
    const differs = Object.fromEntries(diffRows(runs).map((row) => [`${row.section}:${row.key}`, row.differs]));
    expect(differs).toEqual({
      'config:layers': true, 'config:lr': true, 'config:opt.beta': true, 'config:opt.name': false,
      'summary:<b>x</b>': true, 'summary:acc': false
    });
    expect(diffRows(runs, true).map((row) => row.key)).toEqual(['layers', 'lr', 'opt.beta', '<b>x</b>']);
  });

  it('takes one run or none without failing', () => {
    expect(diffRows([{ config: { a: 1 }, summary: {} }])).toEqual([{ section: 'config', key: 'a', values: [1], differs: false }]);
    expect(diffRows([])).toEqual([]);
  });
});

describe('helpers', () => {
  it('flattens nested dicts to dotted names and keeps lists as values', () => {
    expect(flattenValues({ a: { b: { c: 1 } }, d: [1, { e: 2 }], f: null })).toEqual([['a.b.c', 1], ['d', [1, { e: 2 }]], ['f', null]]);
  });

  it('keeps media references whole and names them', () => {
    const image = { _type: 'image-file', path: 'media/images/a.png' };
    const histogram = { _type: 'histogram', bins: [0, 1], values: [3] };
    expect(flattenValues({ samples: [image, image], weights: histogram })).toEqual([['samples', [image, image]], ['weights', histogram]]);
    expect(mediaLabel(histogram)).toBe('histogram');
    expect(mediaLabel(image)).toBe('image');
    expect(mediaLabel([image, image])).toBe('2 images');
    expect(mediaLabel([image, histogram])).toBe('2 media values');
    expect(mediaLabel([1, 2])).toBeNull();
    expect(mediaLabel({ a: 1 })).toBeNull();
    expect(mediaLabel([])).toBeNull();
  });

  it('cycles run colours', () => {
    expect(runColor(0)).toBe(RUN_COLORS[0]);
    expect(runColor(RUN_COLORS.length + 1)).toBe(RUN_COLORS[1]);
  });

  it('parses run ids from a compare URL', () => {
    expect(parseRunIds('a, b,,a,c ')).toEqual(['a', 'b', 'c']);
    expect(parseRunIds(null)).toEqual([]);
  });
});
