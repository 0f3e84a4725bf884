// Every call from JupyterLab to the server extension's /jupyter-tracker endpoints goes through requestAPI.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { RunMedia, TableRows } from './media_model';
import { FileEntry } from './sections';
import { RunRow } from './table_model';
import { CompareData, ProjectInfo, RunPageData, ViewHost } from './views';
import { SyncInfo } from './format';

/** How long a view waits for one answer before trying again at its next refresh. */
export const REQUEST_TIMEOUT_MS = 15000;

export async function requestAPI<T>(endpoint: string, params: Record<string, string> = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const query = new URLSearchParams(params).toString();
  const url = URLExt.join(settings.baseUrl, 'jupyter-tracker', endpoint) + (query ? `?${query}` : '');
  // a request the server never answers must not stop the views' refresh loops
  const response = await ServerConnection.makeRequest(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }, settings);
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, `${response.status} ${response.statusText}`);
  }
  return (await response.json()) as T;
}

export interface ActiveRun extends RunRow {
  step: number | null;
  sync: SyncInfo;
}

/**
 * The URL of a run's file on the Jupyter server (an <img> or a download link cannot send the
 * Authorization header, so the token, when the page has one, rides in the query as JupyterLab's
 * own download links do; a cookie login needs none).
 */
export function fileUrl(project: string, id: string, name: string, download: boolean): string {
  const settings = ServerConnection.makeSettings();
  const params: Record<string, string> = { project, id, name };
  if (download) params.download = '1';
  if (settings.token) params.token = settings.token;
  return URLExt.join(settings.baseUrl, 'jupyter-tracker', 'file') + `?${new URLSearchParams(params).toString()}`;
}

/** The views' data read through the Jupyter server (authenticated by Jupyter's own token or login). */
export function labHost(openRun: (row: RunRow) => void, openCompare: (project: string, ids: string[]) => void): ViewHost {
  return {
    projects: async () => (await requestAPI<{ projects: ProjectInfo[] }>('projects')).projects,
    runs: async (project) => (await requestAPI<{ runs: RunRow[] }>('runs', { project: project.name })).runs,
    run: (project, id) => requestAPI<RunPageData>('run', { project, id }),
    openRun,
    media: (project, id) => requestAPI<RunMedia>('media', { project, id }),
    files: async (project, id) => (await requestAPI<{ files: FileEntry[] }>('files', { project, id })).files,
    fileUrl: (project, id, name, download) => fileUrl(project, id, name, download),
    table: (project, id, name) => requestAPI<TableRows>('table', { project, id, name }),
    compare: (project, ids) => requestAPI<CompareData>('compare', { project, ids: ids.join(',') }),
    openCompare
  };
}

export async function activeRuns(): Promise<ActiveRun[]> {
  return (await requestAPI<{ runs: ActiveRun[] }>('active')).runs;
}
