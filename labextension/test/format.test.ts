import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, formatDuration, formatSync, formatValue, toNumber } from '../src/format';
import { statusText } from '../src/status_text';

describe('formatting', () => {
  it('writes metric values compactly and non-finite values readably', () => {
    expect(formatValue(0.123456789)).toBe('0.123457');
    expect(formatValue(12345)).toBe('12,345');
    expect(formatValue(1.5e-7)).toBe('1.500e-7');
    expect(formatValue('NaN')).toBe('NaN');
    expect(formatValue('Infinity')).toBe('∞');
    expect(formatValue('-Infinity')).toBe('-∞');
    expect(formatValue('adam')).toBe('adam');
    expect(formatValue(true)).toBe('true');
    expect(formatValue(null)).toBe('');
    expect(toNumber('-Infinity')).toBe(-Infinity);
  });

  it('writes ages, durations, sizes and sync states', () => {
    expect(formatAge(1000, 1002)).toBe('just now');
    expect(formatAge(1000, 1042)).toBe('42s ago');
    expect(formatAge(1000, 1000 + 5 * 60 + 3)).toBe('5m ago');
    expect(formatAge(1000, 1000 + 3 * 3600)).toBe('3h ago');
    expect(formatAge(1000, 1000 + 2 * 86400 + 1)).toBe('2d ago');
    expect(formatAge(null, 5)).toBe('');
    expect(formatDuration(3725)).toBe('1h 02m');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(12.7)).toBe('12s');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(12_600)).toBe('12.3 KB');
    expect(formatSync({ state: 'behind', bytes_behind: 2048 })).toBe('2.0 KB behind');
    expect(formatSync({ state: 'failing', problem: 'HTTP 500' })).toBe('sync failing');
    expect(formatSync({ state: 'offline' })).toBe('offline');
  });

  it('the status bar names the active run, its step and sync state', () => {
    const run = { id: 'a1', name: 'bright-sky-1', project: 'p', state: 'running', tags: [], summary: {}, step: 1200, sync: { state: 'synced' } };
    expect(statusText([])).toBe('');
    expect(statusText([run])).toBe('bright-sky-1 · step 1,200 · synced');
    expect(statusText([run, { ...run, id: 'b', step: null }])).toBe('bright-sky-1 · step 1,200 · synced (+1 more)');
  });
});
