// The tracking server's pages in a plain browser (no JupyterLab): the projects list, a project's runs
// table and the run page, built from the same views, chart and smoothing code as the JupyterLab
// extension. The server renders a shell whose <body data-view=...> names the page; every value from
// a run (name, tags, config) reaches the DOM as textContent only.

import 'uplot/dist/uPlot.min.css';
import '../style/base.css';
import './pages.css';
import { formatAge, formatDuration, formatValue } from '../src/format';
import { RunRow, RunsTableModel, SortKey } from '../src/table_model';
import { ProjectInfo, RunPageData, RunPageView, ViewHost } from '../src/views';

interface WebProject extends ProjectInfo {
  entity: string;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const part = (value: string) => encodeURIComponent(value);

async function getJSON<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (response.status === 401) {
    window.location.assign(`/sign-in?next=${part(window.location.pathname)}`);
    throw new Error('not signed in');
  }
  if (!response.ok) throw new Error(((await response.json().catch(() => ({}))) as { error?: string }).error ?? `${response.status}`);
  return (await response.json()) as T;
}

const runUrl = (entity: string, project: string, id: string) => `/${part(entity)}/${part(project)}/runs/${part(id)}`;

function webHost(entity: string): ViewHost {
  return {
    projects: async () => (await getJSON<{ projects: WebProject[] }>('/_pages/api/projects')).projects,
    runs: async (project) => (await getJSON<{ runs: RunRow[] }>(`/_pages/api/runs/${part(entity)}/${part(project.name)}`)).runs,
    run: (project, id) => getJSON<RunPageData>(`/_pages/api/run/${part(entity)}/${part(project)}/${part(id)}`),
    openRun: (row) => window.location.assign(runUrl(entity, row.project, row.id))
  };
}

async function showProjects(main: HTMLElement): Promise<void> {
  const projects = (await getJSON<{ projects: WebProject[] }>('/_pages/api/projects')).projects;
  main.append(element('h1', undefined, 'Projects'));
  if (projects.length === 0) main.append(element('p', 'jt-runs-message', 'No projects yet: sync a run to this server.'));
  const list = element('ul', 'jt-project-list');
  for (const project of projects) {
    const item = element('li');
    const link = element('a', 'jt-project-link', `${project.entity}/${project.name}`);
    link.href = `/${part(project.entity)}/${part(project.name)}`;
    item.append(link, element('span', 'jt-project-count', project.running ? ` ${project.runs} runs · ${project.running} running` : ` ${project.runs} runs`));
    list.append(item);
  }
  main.append(list);
}

/** Rows drawn at once: the count says how many match; search or sort to bring others up. */
const SHOWN_ROWS = 500;

const COLUMNS: Array<[SortKey, string]> = [['name', 'Name'], ['state', 'State'], ['created', 'Created'], ['runtime', 'Runtime']];

async function showRuns(main: HTMLElement, entity: string, project: string): Promise<void> {
  const model = new RunsTableModel();
  const heading = element('h1');
  const home = element('a', undefined, entity);
  home.href = '/';
  heading.append(home, document.createTextNode(` / ${project}`));
  const search = element('input', 'jt-runs-search');
  search.type = 'search';
  search.placeholder = 'Search runs (name, tag, state:running, loss:0.1)';
  const count = element('span', 'jt-runs-count');
  const table = element('table', 'jt-runs-table');
  main.append(heading, search, count, table);

  const render = () => {
    model.setSearch(search.value);
    const rows = model.visible();
    const keys = model.summaryKeys(6);
    count.textContent = `${rows.length.toLocaleString('en-US')} of ${model.total.toLocaleString('en-US')} runs`;
    const head = element('tr');
    const columns: Array<[SortKey, string]> = [...COLUMNS, ...keys.map((key): [SortKey, string] => [`summary.${key}`, key])];
    for (const [key, label] of columns) {
      const sorted = model.sort.key === key;
      const cell = element('th', sorted ? 'jt-sorted' : undefined, label + (sorted ? (model.sort.descending ? ' ▾' : ' ▴') : ''));
      cell.dataset.sort = key;
      cell.tabIndex = 0;
      cell.addEventListener('click', () => {
        model.setSort(key, sorted ? !model.sort.descending : key !== 'name');
        render();
      });
      head.append(cell);
    }
    const body = element('tbody');
    for (const row of rows.slice(0, SHOWN_ROWS)) {
      const line = element('tr', `jt-state-${row.state.replace(/[^a-z]/g, '')}`);
      line.dataset.runId = row.id;
      const name = element('td');
      const link = element('a', 'jt-run-link', row.name);
      link.href = runUrl(entity, project, row.id);
      name.append(link);
      if (row.tags.length) name.append(element('span', 'jt-tags', ` ${row.tags.join(', ')}`));
      line.append(name, element('td', undefined, row.state), element('td', undefined, formatAge(row.created, row.now ?? Date.now() / 1000)),
        element('td', undefined, row.runtime ? formatDuration(row.runtime) : ''));
      for (const key of keys) line.append(element('td', 'jt-number', row.summary[key] === undefined ? '' : formatValue(row.summary[key])));
      body.append(line);
    }
    const headPart = element('thead');
    headPart.append(head);
    table.replaceChildren(headPart, body);
  };
  search.addEventListener('input', render);
  model.setRows((await getJSON<{ runs: RunRow[] }>(`/_pages/api/runs/${part(entity)}/${part(project)}`)).runs);
  render();
}

async function main(): Promise<void> {
  const main = document.getElementById('jt-main')!;
  const data = document.body.dataset;
  try {
    if (data.view === 'projects') await showProjects(main);
    else if (data.view === 'runs') await showRuns(main, data.entity!, data.project!);
    else if (data.view === 'run') {
      const back = element('a', 'jt-back', `${data.entity}/${data.project}`);
      back.href = `/${part(data.entity!)}/${part(data.project!)}`;
      const view = new RunPageView(webHost(data.entity!), data.project!, data.run!, data.entity);
      main.append(back, view.node);
      await view.refresh();
    }
  } catch (error) {
    main.append(element('p', 'jt-runs-message jt-error', `Could not load this page: ${String(error)}`));
  }
}

void main();
