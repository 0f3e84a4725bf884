// The MIME renderer of application/vnd.jupyter-tracker.charts+json: a saved notebook's charts drawn from
// the data in the notebook itself, with no kernel and no server extension (smoothing in the browser).

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { RunPageData, RunPageView } from './views';

export const CHARTS_MIMETYPE = 'application/vnd.jupyter-tracker.charts+json';

export interface ChartsBundle extends RunPageData {
  version: number;
  smoothing?: number;
  x_axis?: string;
}

export class ChartsRenderer extends Widget implements IRenderMime.IRenderer {
  private view: RunPageView | null = null;

  constructor() {
    super();
    this.addClass('jt-charts-output');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const bundle = model.data[CHARTS_MIMETYPE] as unknown as ChartsBundle;
    if (this.view) this.view.dispose();
    // a saved figure is not live: no sync state of the moment it was saved
    const saved = { ...bundle, sync: null, run: { ...bundle.run, state: bundle.run.state === 'running' ? 'saved' : bundle.run.state } };
    this.view = new RunPageView(
      { projects: async () => [], runs: async () => [], run: async () => saved, openRun: () => undefined },
      bundle.run.project,
      bundle.run.id
    );
    this.view.setInitial(bundle.smoothing, bundle.x_axis);
    this.node.replaceChildren(this.view.node);
    await this.view.refresh();
  }

  dispose(): void {
    if (this.view) this.view.dispose();
    super.dispose();
  }
}

const extension: IRenderMime.IExtension = {
  id: 'jupyter-tracker:charts-renderer',
  rendererFactory: { safe: true, mimeTypes: [CHARTS_MIMETYPE], createRenderer: () => new ChartsRenderer() },
  rank: 0,
  dataType: 'json'
};

export default extension;
