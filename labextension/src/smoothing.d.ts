// Types of the live panel's smoothing module (jupyter_tracker/notebook/static/smoothing.js), bundled as 'jt-smoothing'.
declare module 'jt-smoothing' {
  export interface SmoothingSummary {
    size: number;
    blockStarts: Uint32Array;
    counts: Uint32Array;
    flags: Uint8Array;
    means: Float64Array;
    exponents: Int16Array;
    deviations: Int16Array;
    low: number;
    high: number;
  }
  export function tensorboardEma(values: ArrayLike<number | null>, weight: number): Float64Array;
  export function readSmoothingSummary(bytes: ArrayBuffer | ArrayBufferView): SmoothingSummary;
  export function smoothSummary(summary: SmoothingSummary, weight: number): Float64Array;
}
