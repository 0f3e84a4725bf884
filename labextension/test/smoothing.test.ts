import { describe, expect, it } from 'vitest';
import { readSmoothingSummary, smoothSummary, tensorboardEma } from 'jt-smoothing';
import { chartLines } from '../src/chart';
import { decode, runPython } from './python';

// Python's jupyter_tracker.smoothing on the same inputs (non-finite numbers travel as strings)
const PYTHON_EMA = `
import json, math, sys
import numpy as np
from jupyter_tracker.smoothing import tensorboard_ema
enc = lambda v: v if math.isfinite(v) else ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
cases = json.load(sys.stdin)
out = [[enc(v) for v in tensorboard_ema(np.array([float(v) for v in c["values"]]), c["weight"]).tolist()] for c in cases]
print(json.dumps(out))
`;

const PYTHON_SUMMARY = `
import base64, json, math, sys
import numpy as np
from jupyter_tracker.downsample import min_max_summary
from jupyter_tracker.smoothing import smooth_summary
enc = lambda v: v if math.isfinite(v) else ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
cases = json.load(sys.stdin)
out = []
for c in cases:
    indices, summary = min_max_summary(np.array([float(v) for v in c["values"]]), c["points"])
    out.append({"summary": base64.b64encode(summary.to_bytes()).decode(),
                "smoothed": [enc(v) for v in smooth_summary(summary, c["weight"]).tolist()]})
print(json.dumps(out))
`;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function series(length: number, seed: number, withGaps: boolean): Array<number | string> {
  const random = seeded(seed);
  return Array.from({ length }, (_, i) => {
    if (withGaps && i % 97 === 13) return ['NaN', 'Infinity', '-Infinity'][i % 3];
    return Math.exp(-i / 300) + 0.2 * (random() - 0.5) + (i % 50 === 0 ? 3 : 0);
  });
}

function closeTo(actual: ArrayLike<number>, expected: number[], tolerance = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(e)) expect(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))).toBe(true);
    else expect(Math.abs(a - e)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(e)));
  }
}

describe('smoothing (notebook/static/smoothing.js, the one JavaScript copy) against jupyter_tracker.smoothing', () => {
  it('tensorboardEma equals tensorboard_ema to 1e-9 for many weights, gaps and lengths', () => {
    const cases = [] as Array<{ values: Array<number | string>; weight: number }>;
    for (const weight of [0, 0.3, 0.6, 0.9, 0.99, 0.999]) {
      for (const [length, gaps] of [[1, false], [7, false], [2000, false], [3000, true]] as Array<[number, boolean]>) {
        cases.push({ values: series(length, length + weight * 1000, gaps), weight });
      }
    }
    cases.push({ values: [5, 5, 5, 5], weight: 0.9 });
    const expected = runPython<Array<Array<number | string>>>(PYTHON_EMA, cases);
    cases.forEach((item, index) => closeTo(tensorboardEma(decode(item.values), item.weight), decode(expected[index])));
  });

  it('smoothSummary of a downsampled series equals smooth_summary of the full one to 1e-9', () => {
    const cases = [0.5, 0.9, 0.99].map((weight, k) => ({ values: series(50_000, 7 + k, k === 1), weight, points: 1500 }));
    const expected = runPython<Array<{ summary: string; smoothed: Array<number | string> }>>(PYTHON_SUMMARY, cases);
    cases.forEach((item, index) => {
      const summary = readSmoothingSummary(Buffer.from(expected[index].summary, 'base64'));
      expect(summary.size).toBeLessThanOrEqual(1500);
      closeTo(smoothSummary(summary, item.weight), decode(expected[index].smoothed));
    });
  });

  it('a weight of 0 draws the raw line; a constant series stays constant', () => {
    const raw = Float64Array.from([1, 2, 3]);
    expect(chartLines(raw, null, 0.9)).toBe(raw);
    expect(Array.from(tensorboardEma([2, 2, 2], 0.95))).toEqual([2, 2, 2]);
    expect(() => tensorboardEma([1, 2], 1)).toThrow(RangeError);
  });
});
