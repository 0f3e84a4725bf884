#!/usr/bin/env bash
# The README's first command: builds .venv and runs a real tracked run end to end on the
# embedded defaults (local run store + a local SQLite tracking server), then shows where it went.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q -e . 2>&1 | grep -v "^WARNING: Location" || true
exec .venv/bin/jupyter-tracker demo "$@"
