"""Tracking leaves the user's random state alone: a seeded training loop draws the same numbers with it as without it."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

import jupyter_tracker as jt
from jupyter_tracker import names
from jupyter_tracker.sync.backoff import Backoff


def _seeded_draws(between: Callable[[], None] | None = None) -> tuple[list[float], list[float]]:
    """Three draws from ``random`` and from numpy's global generator, seeded, with ``between`` called after seeding."""
    random.seed(1234)
    np.random.seed(1234)
    if between is not None:
        between()
    return [random.random() for _ in range(3)], np.random.random(3).tolist()


def test_a_tracked_run_draws_nothing_from_the_global_generators(store_root: Path) -> None:
    def track() -> None:
        run = jt.init(project="seeded")  # no name given: one is drawn for it
        assert run.name
        for step in range(50):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 50})
        run.finish(quiet=True)

    assert _seeded_draws(track) == _seeded_draws()


def test_run_names_and_retry_jitter_draw_nothing_from_the_global_generator() -> None:
    def draw() -> None:
        assert len({names.random_run_name() for _ in range(20)}) > 1
        backoff = Backoff(base=1.0, cap=8.0)
        delays = [backoff.next_delay() for _ in range(20)]
        assert all(0 <= delay <= 8.0 for delay in delays) and len(set(delays)) > 1

    assert _seeded_draws(draw) == _seeded_draws()
