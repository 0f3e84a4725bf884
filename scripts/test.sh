#!/usr/bin/env bash
# The test command of the README: builds .venv, starts a throwaway PostgreSQL when one is
# installed (the server tests then run on both backends), and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".[test,parquet,postgres,sweeps,tensorboard]"
# torch tensors are a supported value type: test them when this machine carries a CPU wheel
if ls /opt/wheels/torch-*cpu*.whl >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q "torch==$(ls /opt/wheels/torch-*cpu*.whl | head -n 1 | sed -E 's/.*torch-([0-9.]+)\+cpu.*/\1/')" \
    || echo "torch could not be installed: its value tests will be reported as not run"
  # the frameworks whose wandb integrations the tests run, on top of that CPU torch
  .venv/bin/python -m pip install -q -e ".[frameworks]" \
    || echo "the frameworks could not be installed: their tests will be reported as not run"
fi
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh
start_test_postgres || echo "PostgreSQL not installed: the PostgreSQL tests will be reported as not run"
trap stop_test_postgres EXIT
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
exit $status
