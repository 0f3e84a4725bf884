// The status bar's words for the active runs (no DOM, so the unit tests run it).

import type { ActiveRun } from './api';
import { formatSync, formatValue } from './format';

export function statusText(runs: ActiveRun[]): string {
  if (runs.length === 0) return '';
  const first = runs[0];
  const step = first.step === null || first.step === undefined ? 'no step yet' : `step ${formatValue(first.step)}`;
  const more = runs.length > 1 ? ` (+${runs.length - 1} more)` : '';
  return `${first.name} · ${step} · ${formatSync(first.sync)}${more}`;
}
