// TensorBoard's debiased exponential moving average, the live panel's smoothing.
// Operation for operation the same as jupyter_tracker.smoothing.tensorboard_ema, so the
// browser and Python give the same numbers on the same points (tests/integration/test_smoothing_js.py).

/**
 * Smooths `values` (an array or typed array of numbers; null/NaN/±Infinity allowed) with
 * weight `weight` in [0, 1). Over the finite points: last = w·last + (1−w)·y; n += 1;
 * smoothed = last / (1 − wⁿ). Non-finite points pass through; an all-equal series is returned as is.
 * @returns {Float64Array}
 */
export function tensorboardEma(values, weight) {
  const count = values.length;
  const smoothed = new Float64Array(count);
  if (count === 0) return smoothed;
  const w = Number(weight);
  if (!(w >= 0 && w < 1)) throw new RangeError(`weight must be in [0, 1), got ${weight}`);
  const first = toNumber(values[0]);
  let constant = true;
  for (let i = 0; i < count; i++) {
    const point = toNumber(values[i]);
    smoothed[i] = point;
    if (!(point === first)) constant = false;
  }
  if (constant) return smoothed;
  const complement = 1.0 - w;
  let last = 0.0;
  let accumulated = 0;
  for (let i = 0; i < count; i++) {
    const point = smoothed[i];
    if (!Number.isFinite(point)) continue;
    last = last * w + complement * point;
    accumulated += 1;
    smoothed[i] = last / (1.0 - Math.pow(w, accumulated));
  }
  return smoothed;
}

function toNumber(value) {
  return value === null || value === undefined ? NaN : Number(value);
}

// Unbiased smoothing of a downsampled series. The kernel sends, beside the min/max envelope, a
// summary of the FULL series (jupyter_tracker.downsample.SmoothingSummary): per drawn point
// ("anchor") the finite-point count, mean and block means of the segment since the previous
// anchor. smoothSummary applies the EMA's weights w^k per block, so the smoothed line is
// TensorBoard's EMA of the full series at each drawn point, for whatever weight the slider has.

const SUMMARY_VERSION = 1;
const SUMMARY_HEADER_BYTES = 32;
const SUMMARY_PASSING = [0, NaN, Infinity, -Infinity];
// a series beyond ±2^1000 is smoothed scaled by 2^-64 (exactly), so no sum overflows (as in Python)
const SUMMARY_HUGE = Math.pow(2, 1000);
const SUMMARY_HUGE_SHIFT = 64;

/**
 * Reads the bytes SmoothingSummary.to_bytes() wrote (ArrayBuffer, typed array or DataView; any
 * alignment: the bytes are copied).
 * @returns {{size: number, blockStarts: Uint32Array, counts: Uint32Array, flags: Uint8Array,
 *   means: Float64Array, exponents: Int16Array, deviations: Int16Array, low: number, high: number}}
 */
export function readSmoothingSummary(bytes) {
  const view = ArrayBuffer.isView(bytes) ? bytes : new Uint8Array(bytes);
  const buffer = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  if (buffer.byteLength < SUMMARY_HEADER_BYTES) {
    throw new RangeError(`a smoothing summary needs at least ${SUMMARY_HEADER_BYTES} bytes, got ${buffer.byteLength}`);
  }
  const header = new DataView(buffer);
  const version = header.getUint32(0, true);
  if (version !== SUMMARY_VERSION) throw new RangeError(`unknown smoothing summary version ${version}`);
  const size = header.getUint32(4, true);
  const stored = header.getUint32(8, true);
  const starts = header.getUint32(12, true);
  let offset = SUMMARY_HEADER_BYTES;
  const take = (Type, count) => {
    const array = new Type(buffer, offset, count);
    offset += count * Type.BYTES_PER_ELEMENT;
    return array;
  };
  const means = take(Float64Array, size);
  const blockStarts = take(Uint32Array, starts);
  const counts = take(Uint32Array, size);
  const exponents = take(Int16Array, size);
  const deviations = take(Int16Array, stored);
  const flags = take(Uint8Array, size);
  return { size, blockStarts, counts, flags, means, exponents, deviations,
    low: header.getFloat64(16, true), high: header.getFloat64(24, true) };
}

/**
 * TensorBoard's EMA (weight in [0, 1)) of the full series at each anchor of `summary`
 * (from readSmoothingSummary). Operation for operation the same as
 * jupyter_tracker.smoothing.smooth_summary. A non-finite anchor passes through.
 * @returns {Float64Array} one value per anchor
 */
export function smoothSummary(summary, weight) {
  const w = Number(weight);
  if (!(w >= 0 && w < 1)) throw new RangeError(`weight must be in [0, 1), got ${weight}`);
  const { size, blockStarts: starts, counts, flags, means, exponents, deviations } = summary;
  const shift = Math.max(Math.abs(summary.low), Math.abs(summary.high)) > SUMMARY_HUGE ? SUMMARY_HUGE_SHIFT : 0;
  const down = Math.pow(2, -shift);
  const low = summary.low * down;
  const high = summary.high * down;
  const unscale = Math.pow(2, shift);
  const startPowers = Array.from(starts, (start) => Math.pow(w, start));
  const smoothed = new Float64Array(size);
  let last = 0.0;
  let total = 0;
  let position = 0;
  for (let anchor = 0; anchor < size; anchor++) {
    const count = counts[anchor];
    if (count) {
      const blocks = summaryBisectLeft(starts, count);
      const mean = means[anchor] * down;
      const unit = Math.pow(2, exponents[anchor] - (15 + shift));
      let contribution = 0.0;
      let spread = 0.0;
      for (let block = 0; block < blocks - 1; block++) {
        const length = starts[block + 1] - starts[block];
        const deviation = deviations[position + block] * unit;
        contribution += (mean + deviation) * startPowers[block] * (1.0 - Math.pow(w, length));
        spread += deviation * length;
      }
      const final = count - starts[blocks - 1];
      contribution += (mean - spread / final) * startPowers[blocks - 1] * (1.0 - Math.pow(w, final));
      position += blocks - 1;
      last = last * Math.pow(w, count) + contribution;
      total += count;
    }
    const flag = flags[anchor];
    smoothed[anchor] = flag ? SUMMARY_PASSING[flag] : Math.min(Math.max(last / (1.0 - Math.pow(w, total)), low), high) * unscale;
  }
  return smoothed;
}

/**
 * The smoothed trace of a downsampled metric: `x` holds the drawn points' x (the envelope's
 * column for the chosen axis, one per anchor), returned as given beside the smoothed y.
 * @returns {{x: ArrayLike<number>, y: Float64Array}}
 */
export function smoothedLine(summary, weight, x) {
  if (x.length !== summary.size) {
    throw new RangeError(`x has ${x.length} points but the smoothing summary has ${summary.size}`);
  }
  return { x, y: smoothSummary(summary, weight) };
}

// the number of entries of the sorted `values` below `target`
function summaryBisectLeft(values, target) {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle] < target) low = middle + 1;
    else high = middle;
  }
  return low;
}
