// The run page's warnings: what a run recorded (a recommended limit crossed) and what its log lacks
// (parts not readable, records never written, no finish record), as
// jupyter_tracker.lab.run_views.warning_entry sends them, and the section's heading.

export interface RunWarning {
  kind: string;
  title: string;
  message: string;
  advice?: string | null;
  subject?: string | null;
  bound?: number | string | null;
  observed?: number | string | null;
}

/** Kinds that say data is missing from the run's log (unreadable, never written, no finish record). */
export const LOG_KINDS = new Set(['run_log', 'unwritten_records']);

/** "Warnings (3)", or "Warnings (3: 2 limits, 1 run log)" when they are of more than one sort. */
export function warningsHeading(warnings: RunWarning[]): string {
  if (warnings.length === 0) return 'Warnings';
  const logs = warnings.filter((warning) => LOG_KINDS.has(warning.kind)).length;
  const limits = warnings.filter((warning) => !LOG_KINDS.has(warning.kind) && warning.bound !== undefined && warning.bound !== null).length;
  const other = warnings.length - limits - logs;
  const parts: string[] = [];
  if (limits) parts.push(`${limits} limit${limits === 1 ? '' : 's'}`);
  if (logs) parts.push(`${logs} run log`);
  if (other) parts.push(`${other} other`);
  return parts.length > 1 ? `Warnings (${warnings.length}: ${parts.join(', ')})` : `Warnings (${warnings.length})`;
}

/** The run's warnings in the order to list them: the log's (data may be missing) first, then in the order recorded. */
export function orderWarnings(warnings: RunWarning[]): RunWarning[] {
  const rank = (warning: RunWarning) => (LOG_KINDS.has(warning.kind) ? 0 : 1);
  return warnings
    .map((warning, index) => ({ warning, index }))
    .sort((a, b) => rank(a.warning) - rank(b.warning) || a.index - b.index)
    .map(({ warning }) => warning);
}
