// The tracking server's pages in a plain browser (no JupyterLab): the projects list, a project's runs
// table and the run page, built from the same views, chart and smoothing code as the JupyterLab
// extension. The server renders a shell whose <body data-view=...> names the page; every value from
// a run (name, tags, config) reaches the DOM as textContent only.

import 'uplot/dist/uPlot.min.css';
import '../style/base.css';
import './pages.css';
import { CompareView } from '../src/compare';
import { parseRunIds } from '../src/compare_model';
import { formatAge, formatDuration, formatValue } from '../src/format';
import { RunMedia, TableRows } from '../src/media_model';
import { FileEntry } from '../src/sections';
import { RunRow, RunsTableModel, SortKey } from '../src/table_model';
import { CompareData, ProjectInfo, RunPageData, RunPageView, ViewHost } from '../src/views';

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

const compareUrl = (entity: string, project: string, ids: string[]) =>
  `/${part(entity)}/${part(project)}?compare=${ids.map(part).join(',')}`;

function webHost(entity: string): ViewHost {
  const runPath = (project: string, id: string) => `${part(entity)}/${part(project)}/${part(id)}`;
  return {
    projects: async () => (await getJSON<{ projects: WebProject[] }>('/_pages/api/projects')).projects,
    runs: async (project) => (await getJSON<{ runs: RunRow[] }>(`/_pages/api/runs/${part(entity)}/${part(project.name)}`)).runs,
    run: async (project, id) => {
      const [page, system, warnings] = await Promise.all([
        getJSON<RunPageData>(`/_pages/api/run/${runPath(project, id)}`),
        getJSON<{ system: RunPageData['system'] }>(`/_pages/api/system/${runPath(project, id)}`),
        getJSON<{ warnings: RunPageData['warnings'] }>(`/_pages/api/warnings/${runPath(project, id)}`)
      ]);
      return { ...page, system: system.system, warnings: warnings.warnings };
    },
    openRun: (row) => window.location.assign(runUrl(entity, row.project, row.id)),
    media: (project, id) => getJSON<RunMedia>(`/_pages/api/media/${runPath(project, id)}`),
    files: async (project, id) => (await getJSON<{ files: FileEntry[] }>(`/_pages/api/files/${runPath(project, id)}`)).files,
    fileUrl: (project, id, name, download) =>
      `/_pages/api/file/${runPath(project, id)}/${name.split('/').map(part).join('/')}${download ? '?download=1' : ''}`,
    table: (project, id, name) => getJSON<TableRows>(`/_pages/api/table/${runPath(project, id)}/${name.split('/').map(part).join('/')}`),
    compare: (project, ids) => getJSON<CompareData>(`/_pages/api/compare/${part(entity)}/${part(project)}?runs=${ids.map(part).join(',')}`),
    openCompare: (project, ids) => window.location.assign(compareUrl(entity, project, ids))
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
  const compare = element('a', 'jt-compare-button', 'Compare selected');
  const table = element('table', 'jt-runs-table');
  main.append(heading, search, count, compare, table);
  const selected = new Set<string>();
  const showCompare = () => {
    compare.textContent = `Compare ${selected.size} selected`;
    compare.hidden = selected.size < 2;
    compare.href = compareUrl(entity, project, Array.from(selected));
  };
  showCompare();

  const render = () => {
    model.setSearch(search.value);
    const rows = model.visible();
    const keys = model.summaryKeys(6);
    count.textContent = `${rows.length.toLocaleString('en-US')} of ${model.total.toLocaleString('en-US')} runs`;
    const head = element('tr');
    head.append(element('th', 'jt-select-column', ''));
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
      const pickCell = element('td', 'jt-select-column');
      const pick = element('input', 'jt-run-select');
      pick.type = 'checkbox';
      pick.checked = selected.has(row.id);
      pick.setAttribute('aria-label', `select ${row.name} to compare`);
      pick.addEventListener('change', () => {
        if (pick.checked) selected.add(row.id);
        else selected.delete(row.id);
        showCompare();
      });
      pickCell.append(pick);
      line.append(pickCell);
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
    else if (data.view === 'runs' && new URLSearchParams(window.location.search).has('compare')) {
      const ids = parseRunIds(new URLSearchParams(window.location.search).get('compare'));
      const back = element('a', 'jt-back', `${data.entity}/${data.project}`);
      back.href = `/${part(data.entity!)}/${part(data.project!)}`;
      const view = new CompareView(webHost(data.entity!), data.project!, ids, data.entity);
      main.append(back, view.node);
      await view.refresh();
    } else if (data.view === 'runs') await showRuns(main, data.entity!, data.project!);
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
