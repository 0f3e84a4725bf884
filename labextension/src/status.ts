// The status bar's item: the active run (name, step, sync state), "+N" when several run; click opens it.

import { Widget } from '@lumino/widgets';
import { activeRuns, ActiveRun } from './api';
import { statusText } from './status_text';

export const STATUS_REFRESH_MS = 2000;

export class ActiveRunStatus extends Widget {
  private runs: ActiveRun[] = [];
  private timer: number | null = null;

  constructor(private open: (run: ActiveRun) => void) {
    super();
    this.addClass('jt-status');
    this.node.title = 'jupyter_tracker: the run in progress (click to open it)';
    this.node.addEventListener('click', () => {
      if (this.runs.length) this.open(this.runs[0]);
    });
    void this.poll();
  }

  private async poll(): Promise<void> {
    try {
      this.runs = await activeRuns();
    } catch {
      this.runs = [];
    }
    const text = statusText(this.runs);
    this.node.textContent = text ? `◉ ${text}` : '';
    this.node.dataset.runs = String(this.runs.length);
    if (!this.isDisposed) this.timer = window.setTimeout(() => void this.poll(), STATUS_REFRESH_MS);
  }

  dispose(): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    super.dispose();
  }
}
