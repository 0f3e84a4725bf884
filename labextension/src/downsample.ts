// Min/max downsampling in the browser, index for index the same as jupyter_tracker.downsample.min_max_indices:
// a series is cut into equal-count buckets, each keeps its first minimum and first maximum, plus
// both ends and the first point of each run of non-finite values (at most a quarter of the budget).

export const DEFAULT_POINTS = 1500;

function bucketPicks(values: Float64Array, buckets: number, wantMinimum: boolean): number[] {
  const size = values.length;
  const small = Math.floor(size / buckets);
  const larger = size % buckets;
  const picks: number[] = [];
  let start = 0;
  for (let bucket = 0; bucket < buckets; bucket++) {
    const length = bucket < larger ? small + 1 : small;
    if (length === 0) continue;
    let best = start;
    for (let i = start + 1; i < start + length; i++) {
      if (wantMinimum ? values[i] < values[best] : values[i] > values[best]) best = i;
    }
    picks.push(best);
    start += length;
  }
  return picks;
}

function gapMarkers(finite: boolean[], limit: number): number[] {
  const starts: number[] = [];
  for (let i = 0; i < finite.length; i++) {
    if (!finite[i] && (i === 0 || finite[i - 1])) starts.push(i);
  }
  if (starts.length <= limit) return starts;
  const spread: number[] = [];
  for (let k = 0; k < limit; k++) {
    // numpy's linspace then round (half to even)
    const position = limit === 1 ? 0 : (k * (starts.length - 1)) / (limit - 1);
    spread.push(starts[roundHalfEven(position)]);
  }
  return spread;
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Sorted indices of the points of `y` (already in x order) a chart draws with at most `budget` points. */
export function minMaxIndices(y: ArrayLike<number>, budget: number = DEFAULT_POINTS): number[] {
  if (!(budget >= 4)) throw new RangeError(`the point budget must be at least 4, got ${budget}`);
  budget = Math.floor(budget);
  const size = y.length;
  const indices: number[] = [];
  if (size <= budget) {
    for (let i = 0; i < size; i++) indices.push(i);
    return indices;
  }
  const values = Float64Array.from(y);
  const finite = Array.from(values, (value) => Number.isFinite(value));
  const allFinite = finite.every(Boolean);
  const gaps = allFinite ? [] : gapMarkers(finite, Math.min(Math.floor(budget / 4), budget - 4));
  const buckets = Math.floor((budget - 2 - gaps.length) / 2);
  const low = allFinite ? values : values.map((value, i) => (finite[i] ? value : Infinity));
  const high = allFinite ? values : values.map((value, i) => (finite[i] ? value : -Infinity));
  const gapSet = new Set(gaps);
  let chosen = [...bucketPicks(low, buckets, true), ...bucketPicks(high, buckets, false), ...gaps, 0, size - 1];
  if (!allFinite) chosen = chosen.filter((i) => finite[i] || gapSet.has(i) || i === 0 || i === size - 1);
  return Array.from(new Set(chosen)).sort((a, b) => a - b);
}

/** The points of (x, y) at `minMaxIndices(y, budget)`. */
export function minMaxDownsample(x: ArrayLike<number>, y: ArrayLike<number>, budget: number = DEFAULT_POINTS): { x: number[]; y: number[] } {
  if (x.length !== y.length) throw new RangeError(`x has ${x.length} points but y has ${y.length}`);
  const kept = minMaxIndices(y, budget);
  return { x: kept.map((i) => x[i]), y: kept.map((i) => y[i]) };
}
