#!/usr/bin/env bash
# Build the benchmark venv (.venv-bench, gitignored): jupyter_tracker (editable) plus the peer
# libraries from the `bench` extra (wandb, mlflow, trackio, tensorboardX). Kept apart from the
# test venv (.venv) so the peers never pollute the test environment.
#
#   bash bench/setup.sh            # create or update /work/main/.venv-bench
#   BENCH_VENV=/path bash bench/setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.venv-bench}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# Our package first, then every peer on its own so that one peer that cannot install does not
# stop the others; bench_log.py reports a missing peer as "not installed" rather than a number.
"$VENV/bin/python" -m pip install --quiet -e "$ROOT"
for peer in wandb mlflow trackio tensorboardX; do
    if ! "$VENV/bin/python" -m pip install --quiet "$peer"; then
        echo "bench/setup.sh: could not install $peer (it will be reported as not installed)" >&2
    fi
done
"$VENV/bin/python" -m pip install --quiet py-spy || echo "bench/setup.sh: py-spy not installed (profiling only)" >&2
echo "bench venv ready: $VENV"
exit 0
