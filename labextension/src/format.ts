// How the views write numbers, ages and sync states: one formatter for every host.

/** A JSON number or its non-finite spelling ("NaN", "Infinity", "-Infinity") as a number. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (value === null || value === undefined || value === '') return NaN;
  return Number(value);
}

/** A metric value in at most ~6 significant digits: 0.123457, 1.5e-7, 12,345, NaN, ∞. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(value)) return value;
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  const number = toNumber(value);
  if (Number.isNaN(number)) return 'NaN';
  if (number === Infinity) return '∞';
  if (number === -Infinity) return '-∞';
  if (Number.isInteger(number) && Math.abs(number) < 1e15) return number.toLocaleString('en-US');
  const magnitude = Math.abs(number);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e15)) return number.toExponential(3).replace('e+', 'e');
  return String(Number(number.toPrecision(6)));
}

/** How long ago `then` (unix seconds) was at `now`: "just now", "42s ago", "5m ago", "3h ago", "2d ago". */
export function formatAge(then: number | null | undefined, now: number): string {
  if (then === null || then === undefined || !Number.isFinite(then)) return '';
  const seconds = Math.max(0, now - then);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${Math.floor(seconds)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** A run time in seconds as "1h 02m", "3m 05s" or "12s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  const whole = Math.floor(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes) return `${minutes}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

export interface SyncInfo {
  state: string;
  bytes_behind?: number;
  problem?: string;
}

/** The status bar's words for an upload: "synced", "12.3 KB behind", "offline", "sync failing". */
export function formatSync(sync: SyncInfo | undefined): string {
  if (!sync) return '';
  if (sync.state === 'behind') return `${formatBytes(sync.bytes_behind ?? 0)} behind`;
  if (sync.state === 'failing') return 'sync failing';
  return sync.state;
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
