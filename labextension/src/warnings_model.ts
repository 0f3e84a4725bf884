// The run page's warnings: what a run recorded (a recommended limit crossed, a log that could not be
// read whole), as jupyter_tracker.lab.run_views.warning_entry sends them, and the section's heading.

export interface RunWarning {
  kind: string;
  title: string;
  message: string;
  advice?: string | null;
  subject?: string | null;
  bound?: number | string | null;
  observed?: number | string | null;
}

/** "Warnings (3)", or "Warnings (3: 2 limits, 1 run log)" when they are of more than one kind. */
export function warningsHeading(warnings: RunWarning[]): string {
  if (warnings.length === 0) return 'Warnings';
  const limits = warnings.filter((warning) => warning.bound !== undefined && warning.bound !== null && warning.kind !== 'run_log').length;
  const logs = warnings.filter((warning) => warning.kind === 'run_log').length;
  const other = warnings.length - limits - logs;
  const parts: string[] = [];
  if (limits) parts.push(`${limits} limit${limits === 1 ? '' : 's'}`);
  if (logs) parts.push(`${logs} run log`);
  if (other) parts.push(`${other} other`);
  return parts.length > 1 ? `Warnings (${warnings.length}: ${parts.join(', ')})` : `Warnings (${warnings.length})`;
}

/** The run's warnings in the order to list them: run-log problems first (data may be missing), then in the order recorded. */
export function orderWarnings(warnings: RunWarning[]): RunWarning[] {
  const rank = (warning: RunWarning) => (warning.kind === 'run_log' ? 0 : 1);
  return warnings
    .map((warning, index) => ({ warning, index }))
    .sort((a, b) => rank(a.warning) - rank(b.warning) || a.index - b.index)
    .map(({ warning }) => warning);
}
