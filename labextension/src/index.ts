// The JupyterLab plugin: the "Runs" sidebar, run pages in the main area, the status-bar item and the palette commands.

import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, ICommandPalette, InputDialog, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';
import { labHost } from './api';
import { CompareView } from './compare';
import { parseRunIds } from './compare_model';
import { ActiveRunStatus } from './status';
import { RunRow } from './table_model';
import { RunPageView, RunsListView } from './views';

const COMMANDS = {
  openRuns: 'jupyter-tracker:open-runs',
  openRun: 'jupyter-tracker:open-run',
  compareRuns: 'jupyter-tracker:compare-runs',
  copyHistoryCode: 'jupyter-tracker:copy-history-code'
};

class CompareWidget extends Widget {
  constructor(readonly view: CompareView) {
    super({ node: view.node });
    this.addClass('jt-run-page-widget');
  }

  dispose(): void {
    this.view.dispose();
    super.dispose();
  }
}

class RunPageWidget extends Widget {
  constructor(readonly view: RunPageView) {
    super({ node: view.node });
    this.addClass('jt-run-page-widget');
  }

  dispose(): void {
    this.view.dispose();
    super.dispose();
  }
}

/** The Python that loads a run's history into pandas, for the clipboard. */
export function historyCode(project: string, runId: string): string {
  return `import jupyter_tracker as jt\n\nrun = jt.Api().run(${JSON.stringify(`${project}/${runId}`)})\nhistory = run.history(samples=100_000)\n`;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:plugin',
  description: 'jupyter_tracker runs in JupyterLab: sidebar, run pages, status bar and commands',
  autoStart: true,
  optional: [ILabShell, ICommandPalette, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null
  ) => {
    const tracker = new WidgetTracker<MainAreaWidget<RunPageWidget>>({ namespace: 'jupyter-tracker-runs' });

    const openRun = (project: string, id: string): void => {
      const existing = tracker.find((widget) => widget.content.view.runId === id && widget.content.view.project === project);
      if (existing) {
        app.shell.activateById(existing.id);
        return;
      }
      const view = new RunPageView(host, project, id);
      const content = new RunPageWidget(view);
      const widget = new MainAreaWidget({ content });
      widget.id = `jt-run-${project}-${id}`.replace(/[^A-Za-z0-9_-]/g, '_');
      widget.title.label = `Run ${id}`;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      void view.refresh().then(() => {
        widget.title.label = view.node.querySelector('.jt-run-title')?.textContent || `Run ${id}`;
      });
    };
    let compared = 0;
    const openCompare = (project: string, ids: string[]): void => {
      const view = new CompareView(host, project, ids);
      const widget = new MainAreaWidget({ content: new CompareWidget(view) });
      widget.id = `jt-compare-${++compared}`;
      widget.title.label = `Compare ${ids.length} runs`;
      widget.title.closable = true;
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      void view.refresh();
    };
    const host = labHost((row: RunRow) => openRun(row.project, row.id), openCompare);

    const runs = new RunsListView(host);
    const sidebar = new Widget({ node: runs.node });
    sidebar.id = 'jupyter-tracker-runs';
    sidebar.title.caption = 'Runs (jupyter_tracker)';
    sidebar.title.label = 'Runs';
    sidebar.addClass('jt-sidebar');
    app.shell.add(sidebar, 'left', { rank: 600 });
    void runs.refresh();

    app.commands.addCommand(COMMANDS.openRuns, {
      label: 'Tracker: Open Runs',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(COMMANDS.openRun, {
      label: 'Tracker: Open Run by Id…',
      execute: async (args) => {
        let target = (args.id as string | undefined) ?? '';
        if (!target) {
          const answer = await InputDialog.getText({ title: 'Open run', label: 'Run id (or project/run id)' });
          if (!answer.button.accept || !answer.value) return;
          target = answer.value.trim();
        }
        const parts = target.split('/');
        const id = parts[parts.length - 1];
        const project = parts.length > 1 ? parts[parts.length - 2] : (await host.run('', id).catch(() => null))?.run.project;
        if (project) openRun(project, id);
      }
    });
    app.commands.addCommand(COMMANDS.compareRuns, {
      label: 'Tracker: Compare Runs…',
      execute: async (args) => {
        let project = (args.project as string | undefined) ?? '';
        let ids = Array.isArray(args.ids) ? (args.ids as string[]) : parseRunIds(args.ids as string | undefined);
        if (!project || ids.length === 0) {
          const answer = await InputDialog.getText({ title: 'Compare runs', label: 'project/id,id,…' });
          if (!answer.button.accept || !answer.value) return;
          const [named, list] = answer.value.trim().split('/');
          project = named;
          ids = parseRunIds(list);
        }
        if (project && ids.length) openCompare(project, ids);
      }
    });
    app.commands.addCommand(COMMANDS.copyHistoryCode, {
      label: 'Tracker: Copy Code to Load a Run\'s History',
      execute: async (args) => {
        const current = tracker.currentWidget?.content.view;
        let project = (args.project as string | undefined) ?? current?.project;
        let id = (args.id as string | undefined) ?? current?.runId;
        if (!id) {
          const answer = await InputDialog.getText({ title: 'Copy history code', label: 'Run id (project/run id)' });
          if (!answer.button.accept || !answer.value) return;
          const parts = answer.value.trim().split('/');
          id = parts[parts.length - 1];
          project = parts.length > 1 ? parts[parts.length - 2] : project;
        }
        Clipboard.copyToSystem(historyCode(project ?? '', id));
      }
    });
    if (palette) {
      for (const command of Object.values(COMMANDS)) palette.addItem({ command, category: 'jupyter_tracker' });
    }

    if (statusBar) {
      const status = new ActiveRunStatus((run) => openRun(run.project, run.id));
      statusBar.registerStatusItem('jupyter-tracker:active-run', {
        item: status,
        align: 'left',
        rank: 4,
        isActive: () => true
      });
    }
    void labShell;
  }
};

export default plugin;
