// Builds the labextension into ../jupyter_tracker/labextension with JupyterLab's own builder, against the
// JupyterLab of the Python that runs the tests (JT_PYTHON, ../.venv/bin/python or python3): no CDN, no network.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
const venv = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));
const python = process.env.JT_PYTHON || (existsSync(venv) ? venv : 'python3');
const corePath = execFileSync(python, ['-c', 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))'])
  .toString()
  .trim();
const run = (command, args) => execFileSync(command, args, { cwd: here, stdio: 'inherit' });
run(`${here}node_modules/.bin/tsc`, []);
run(`${here}node_modules/.bin/build-labextension`, ['--core-path', corePath, '.']);
