"""Small helpers shared by the tests: polling instead of sleeping, reading a run back."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Polls ``condition`` until it returns something truthy and returns that; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s: {getattr(condition, '__name__', condition)}")
        time.sleep(interval)


def errors_when_run_together(target: Callable[[], Any], threads: int) -> list[BaseException]:
    """Runs ``target`` on ``threads`` threads at once; what each raised (the test asserts there is none)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001  (returned to the test)
            errors.append(error)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors


def same_value(left: Any, right: Any) -> bool:
    """Equality that treats NaN as equal to NaN and compares numpy arrays by dtype, shape and content."""
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or (left == right and math.copysign(1, left) == math.copysign(1, right))
    if hasattr(left, "dtype") and hasattr(right, "dtype"):
        import numpy as np

        return left.dtype == right.dtype and left.shape == right.shape and bool(np.array_equal(left, right, equal_nan=left.dtype.kind == "f"))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_value(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def only_run_dir(root: Path) -> Path:
    """The single run directory under a store root (fails when there are none or several)."""
    from jupyter_tracker.store.run_dir import iter_run_dirs

    found = iter_run_dirs(Path(root))
    assert len(found) == 1, f"expected one run directory under {root}, found {found}"
    return found[0]
