// The media browser's model: what the server sends for a run's images and histograms, and which of
// the offered steps shows a given step.

export interface MediaImage {
  file: string;
  caption: string | null;
  width: number | null;
  height: number | null;
}

export interface MediaStep {
  step: number | null;
  images?: MediaImage[];
  bins?: Array<number | string>;
  values?: Array<number | string>;
}

export interface MediaKey {
  kind: 'images' | 'histogram';
  /** how many steps logged this key (the server may send an evenly spaced part of them) */
  logged: number;
  steps: MediaStep[];
}

export interface RunMedia {
  media: Record<string, MediaKey>;
}

/** The index of the entry logged at `step`, or at the last step before it (the first entry when none is). */
export function entryAtStep(steps: Array<{ step: number | null }>, step: number): number {
  let found = 0;
  for (let i = 0; i < steps.length; i++) {
    const at = steps[i].step;
    if (at !== null && at <= step) found = i;
    if (at !== null && at > step) break;
  }
  return found;
}
