import { describe, expect, it } from 'vitest';
import { orderWarnings, RunWarning, warningsHeading } from '../src/warnings_model';

const limit = (kind: string): RunWarning => ({ kind, title: kind, message: 'm', bound: 10, observed: 11 });
const log: RunWarning = { kind: 'run_log', title: 'run log', message: 'frame 3 does not decode' };
const unwritten: RunWarning = { kind: 'unwritten_records', title: 'records not written', message: '1,024 records are missing' };

describe('warnings', () => {
  it('counts the warnings in the heading, by sort when there are several', () => {
    expect(warningsHeading([])).toBe('Warnings');
    expect(warningsHeading([limit('value_size')])).toBe('Warnings (1)');
    expect(warningsHeading([limit('value_size'), limit('scalar_points')])).toBe('Warnings (2)');
    expect(warningsHeading([limit('value_size'), log, { kind: 'x', title: 'x', message: '{}' }])).toBe('Warnings (3: 1 limit, 1 run log, 1 other)');
    expect(warningsHeading([log, unwritten, limit('value_size')])).toBe('Warnings (3: 1 limit, 2 run log)');
  });

  it('lists run-log problems first, the rest in the order recorded', () => {
    const first = limit('value_size');
    const second = limit('scalar_points');
    expect(orderWarnings([first, log, second])).toEqual([log, first, second]);
    expect(orderWarnings([first, unwritten, second, log])).toEqual([unwritten, log, first, second]);
    expect(orderWarnings([])).toEqual([]);
  });
});
