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
    || echo "torch could not be installed: its tests will be reported as not run (as failed under JT_REQUIRE_FRAMEWORKS=1)"
  # the frameworks whose wandb integrations the tests run, on top of that CPU torch
  .venv/bin/python -m pip install -q -e ".[frameworks]" \
    || echo "the frameworks could not be installed: their tests will be reported as not run (as failed under JT_REQUIRE_FRAMEWORKS=1)"
fi
# tf.summary programs whose summaries the TensorBoard tests bring into runs
.venv/bin/python -m pip install -q -e ".[tensorflow]" \
  || echo "tensorflow-cpu could not be installed: the tf.summary tests will be reported as not run (as failed under JT_REQUIRE_TENSORFLOW=1)"
# The editable install also places the built JupyterLab extension and its server extension in
# .venv; the browser tests load them explicitly where they test them (from the source tree) and
# test the other hosts (plain JupyterLab, Notebook 7) without them, so the venv keeps neither.
rm -rf .venv/share/jupyter/labextensions/jupyter-tracker .venv/etc/jupyter/jupyter_server_config.d/jupyter_tracker_lab.json
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh
start_test_postgres || echo "PostgreSQL not installed: the PostgreSQL tests will be reported as not run"
trap stop_test_postgres EXIT
set +e
# the front end's unit tests (vitest: table model, smoothing and downsampling against the Python ones, formatting),
# from the lockfile, when Node is installed; the built labextension itself is committed, so no build here
frontend_status=0
if command -v npm >/dev/null 2>&1; then
  (cd labextension && npm ci --no-audit --no-fund --loglevel=error >/dev/null && JT_PYTHON="$PWD/../.venv/bin/python" npx --no-install vitest run) \
    || frontend_status=1
else
  echo "Node.js/npm not installed: the front-end unit tests (labextension/) are reported as not run"
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
[ "$status" -eq 0 ] && [ "$frontend_status" -ne 0 ] && status=1
exit $status
