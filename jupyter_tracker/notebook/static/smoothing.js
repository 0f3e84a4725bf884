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
