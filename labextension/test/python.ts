// Runs a snippet of the project's Python (its venv when there is one) and returns the JSON it prints:
// the front end's numbers are checked against jupyter_tracker's own functions, not copied fixtures.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function python(): string {
  if (process.env.JT_PYTHON) return process.env.JT_PYTHON;
  const venv = `${ROOT}.venv/bin/python`;
  return existsSync(venv) ? venv : 'python3';
}

export function runPython<T>(code: string, input: unknown): T {
  const output = execFileSync(python(), ['-c', code], {
    cwd: ROOT,
    input: JSON.stringify(input),
    env: { ...process.env, PYTHONPATH: ROOT },
    maxBuffer: 64 * 1024 * 1024
  });
  return JSON.parse(output.toString('utf8')) as T;
}

export function decode(values: Array<number | string>): number[] {
  return values.map((value) => (typeof value === 'string' ? Number(value) : value));
}
