// Builds the tracking server's pages (web/pages.ts: the same views, chart and smoothing.js as the
// labextension) into ../jupyter_tracker/server/web_static/pages.{js,css}: one ES module and one
// stylesheet, committed so the server needs no Node at install time.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));
// esbuild only strips types: check them first
execFileSync(`${here}node_modules/.bin/tsc`, ['-p', `${here}web`], { stdio: 'inherit' });
await build({
  entryPoints: [`${here}web/pages.ts`],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  legalComments: 'eof',
  alias: { 'jt-smoothing': `${here}../jupyter_tracker/notebook/static/smoothing.js` },
  outfile: `${here}../jupyter_tracker/server/web_static/pages.js`,
  logLevel: 'info'
});
