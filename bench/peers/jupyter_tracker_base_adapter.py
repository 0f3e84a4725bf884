"""Another version of jupyter_tracker (``bench_log.py --baseline DIR``), measured beside the current one.

``DIR`` holds a ``jupyter_tracker`` package, for example from
``git archive HEAD jupyter_tracker | tar -x -C DIR`` before a change: the same workloads then run
through both versions in the same interleaved rounds, so that a before/after comparison on a
shared machine sees the same load.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from peers.jupyter_tracker_adapter import STEP_ARG, finish, logger, start  # noqa: F401 - the adapter's interface

#: the environment variable bench_log.py passes the baseline's directory in
BASELINE_DIR_ENV = "BENCH_BASELINE_DIR"


def load() -> Any:
    base = Path(os.environ[BASELINE_DIR_ENV]).resolve()
    sys.path.insert(0, str(base))
    import jupyter_tracker

    if not Path(jupyter_tracker.__file__).resolve().is_relative_to(base):
        raise ImportError(f"jupyter_tracker was imported from {jupyter_tracker.__file__}, not from the baseline {base}")
    return jupyter_tracker
