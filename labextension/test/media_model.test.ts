import { describe, expect, it } from 'vitest';
import { audioCaption, displaySize, entryAtStep, tableCaption, tableCell, videoShownAs } from '../src/media_model';

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

describe('logged files', () => {
  it('shows a GIF video as an image and other formats in a player', () => {
    expect(videoShownAs({ file: 'media/videos/a.gif', caption: null, format: 'gif' })).toBe('image');
    expect(videoShownAs({ file: 'media/videos/a.webm', caption: null, format: 'webm' })).toBe('video');
    expect(videoShownAs({ file: 'media/videos/a.mp4', caption: null })).toBe('video');
    expect(videoShownAs({ file: 'media/videos/a.GIF', caption: null })).toBe('image');
  });

  it('says how long a clip is, its rate and channels', () => {
    expect(audioCaption({ file: 'a.wav', caption: null, duration: 0.5, sample_rate: 16000, channels: 2 })).toBe('0.50 s · 16,000 Hz · stereo');
    expect(audioCaption({ file: 'a.wav', caption: null, duration: 75, channels: 1 })).toBe('75.0 s · mono');
    expect(audioCaption({ file: 'a.wav', caption: null, channels: 6 })).toBe('6 channels');
    expect(audioCaption({ file: 'a.wav', caption: null })).toBe('');
  });
});

describe('table cells', () => {
  it('shows an image reference as its picture and other media as their kind', () => {
    expect(tableCell({ _type: 'image-file', path: 'media/images/x.png', caption: 'cat' })).toEqual({ kind: 'image', file: 'media/images/x.png', caption: 'cat' });
    expect(tableCell({ _type: 'audio-file', path: 'media/audio/x.wav' })).toEqual({ kind: 'text', text: 'audio' });
  });

  it('shows values as text, markup included, never as markup', () => {
    expect(tableCell('<img src=x onerror=alert(1)>')).toEqual({ kind: 'text', text: '<img src=x onerror=alert(1)>' });
    expect(tableCell(0.123456789)).toEqual({ kind: 'text', text: '0.123457' });
    expect(tableCell(3)).toEqual({ kind: 'text', text: '3' });
    expect(tableCell(null)).toEqual({ kind: 'text', text: '' });
    expect(tableCell([1, 2])).toEqual({ kind: 'text', text: '[1,2]' });
    expect(tableCell({ a: 1 })).toEqual({ kind: 'text', text: '{"a":1}' });
    expect(tableCell(true)).toEqual({ kind: 'text', text: 'true' });
  });

  it('says how many rows the table has and how many are shown', () => {
    expect(tableCaption({ columns: ['a', 'b'], rows: [[1, 2]], nrows: 1 })).toBe('1 row × 2 columns');
    expect(tableCaption({ columns: ['a'], rows: [[1], [2]], nrows: 5000 })).toBe('5,000 rows × 1 column, first 2 shown');
  });
});

describe('displaySize', () => {
  it('grows small pictures by whole factors to about 128 px and fits large ones in 256 px', () => {
    expect(displaySize(24, 24)).toEqual({ width: 120, height: 120 });
    expect(displaySize(32, 16)).toEqual({ width: 128, height: 64 });
    expect(displaySize(200, 100)).toEqual({ width: 200, height: 100 });
    expect(displaySize(1024, 512)).toEqual({ width: 256, height: 128 });
    expect(displaySize(3000, 1)).toEqual({ width: 256, height: 1 });
  });
});
