import { describe, expect, it } from 'vitest';
import { entryAtStep } from '../src/media_model';

describe('entryAtStep', () => {
  const steps = [{ step: 0 }, { step: 10 }, { step: 20 }, { step: 40 }];

  it('finds the entry logged at a step, or the last one before it', () => {
    expect(entryAtStep(steps, 0)).toBe(0);
    expect(entryAtStep(steps, 20)).toBe(2);
    expect(entryAtStep(steps, 39)).toBe(2);
    expect(entryAtStep(steps, 1000)).toBe(3);
  });

  it('falls back to the first entry before any step and skips unknown steps', () => {
    expect(entryAtStep(steps, -5)).toBe(0);
    expect(entryAtStep([{ step: null }, { step: 5 }], 7)).toBe(1);
    expect(entryAtStep([], 3)).toBe(0);
  });
});
