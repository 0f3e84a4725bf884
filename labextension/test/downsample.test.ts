import { describe, expect, it } from 'vitest';
import { minMaxDownsample, minMaxIndices } from '../src/downsample';
import { decode, runPython } from './python';

const PYTHON_INDICES = `
import json, sys
import numpy as np
from jupyter_tracker.downsample import min_max_indices
cases = json.load(sys.stdin)
print(json.dumps([min_max_indices(np.array([float(v) for v in c["values"]]), c["budget"]).tolist() for c in cases]))
`;

function wave(length: number, gaps: number): Array<number | string> {
  return Array.from({ length }, (_, i) => {
    if (gaps && i % gaps === 5) return i % 2 ? 'NaN' : 'Infinity';
    return Math.sin(i / 37) * Math.cos(i / 1013) + ((i * 7919) % 101) / 1000;
  });
}

describe('minMaxIndices keeps the same points as jupyter_tracker.downsample.min_max_indices', () => {
  it('on finite series, series with gaps, and budgets from 4 to 1500', () => {
    const cases = [
      { values: wave(10_000, 0), budget: 1500 },
      { values: wave(10_007, 0), budget: 100 },
      { values: wave(5000, 11), budget: 300 },
      { values: wave(20_000, 3), budget: 1500 },
      { values: wave(50, 0), budget: 4 },
      { values: wave(1000, 0), budget: 1500 },
      { values: ['NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN'], budget: 4 }
    ];
    const expected = runPython<number[][]>(PYTHON_INDICES, cases);
    cases.forEach((item, index) => expect(minMaxIndices(decode(item.values), item.budget)).toEqual(expected[index]));
  });

  it('keeps the extremes, both ends and at most the budget', () => {
    const y = decode(wave(100_000, 0));
    const x = y.map((_, i) => i);
    const small = minMaxDownsample(x, y, 1500);
    expect(small.y.length).toBeLessThanOrEqual(1500);
    expect(Math.max(...small.y)).toBe(Math.max(...y));
    expect(Math.min(...small.y)).toBe(Math.min(...y));
    expect(small.x[0]).toBe(0);
    expect(small.x[small.x.length - 1]).toBe(99_999);
    expect(() => minMaxIndices(y, 3)).toThrow(/at least 4/);
    expect(() => minMaxDownsample([1], [1, 2])).toThrow(/1 points but y has 2/);
  });
});
