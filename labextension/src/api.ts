// Every call from JupyterLab to the server extension's /jupyter-tracker endpoints goes through requestAPI.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { RunRow } from './table_model';
import { ProjectInfo, RunPageData, ViewHost } from './views';
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

/** The views' data read through the Jupyter server (authenticated by Jupyter's own token or login). */
export function labHost(openRun: (row: RunRow) => void): ViewHost {
  return {
    projects: async () => (await requestAPI<{ projects: ProjectInfo[] }>('projects')).projects,
    runs: async (project) => (await requestAPI<{ runs: RunRow[] }>('runs', { project: project.name })).runs,
    run: (project, id) => requestAPI<RunPageData>('run', { project, id }),
    openRun
  };
}

export async function activeRuns(): Promise<ActiveRun[]> {
  return (await requestAPI<{ runs: ActiveRun[] }>('active')).runs;
}
