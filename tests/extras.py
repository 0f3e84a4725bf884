"""Tests that need an optional part (an extra, root, a newer kernel): skipped on a developer's machine without it,
failed where CI says it is there.

Like ``JT_REQUIRE_BROWSER`` and ``JT_REQUIRE_POSTGRES``, each switch is set by ``.ci/run`` where
``scripts/test.sh`` installs the part, so that a broken install shows as failing tests instead of
tests that quietly did not run:

- ``JT_REQUIRE_FRAMEWORKS=1``: torch's CPU wheel and the ``frameworks`` extra (Lightning, transformers,
  accelerate, Keras);
- ``JT_REQUIRE_TENSORFLOW=1``: the ``tensorflow`` extra (a CPU wheel that not every platform has);
- ``JT_REQUIRE_SYSTEM=1``: what CI's machine (root, Debian's packages, the ``test`` extra) always allows:
  mounting a tmpfs, ipykernel 7's subshells, Node (``.ci/run`` installs it).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

import pytest

FRAMEWORKS = "JT_REQUIRE_FRAMEWORKS"
TENSORFLOW = "JT_REQUIRE_TENSORFLOW"
SYSTEM = "JT_REQUIRE_SYSTEM"


def required(switch: str) -> bool:
    """Whether CI set ``switch`` (``JT_REQUIRE_...=1``): then what it covers must be there."""
    return os.environ.get(switch) == "1"


def skip_or_fail(reason: str, switch: str) -> None:
    """Skips the test for ``reason``, or fails it where ``switch`` is set."""
    if required(switch):
        pytest.fail(f"{switch}=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set {switch}=1 to make this a failure)")


def missing_module_mark(module: str, extra: str, switch: str) -> pytest.MarkDecorator:
    """A module's skip mark for when ``module`` is not installed, unless ``switch`` is set: then its tests run and fail.

    The module is looked up, not imported (the tests' scripts import it).
    """
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None and not required(switch),
        reason=f"{module} is not installed (pip install -e '.[{extra}]'; set {switch}=1 to make its absence a failure)",
    )


def import_or_skip(module: str, extra: str, switch: str) -> Any:
    """``pytest.importorskip(module)``, except where ``switch`` is set: there a missing module is an error."""
    if required(switch):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[{extra}]')")
