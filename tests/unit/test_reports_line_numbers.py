"""The numbers a line plot sends to the browser: 7 significant digits, whole ones as integers, gaps as null."""

from __future__ import annotations

import json
import math

import numpy as np

from jupyter_tracker.reports.panel_data import _floats


def test_line_numbers_are_short_and_gaps_are_null() -> None:
    values = np.array([0.123456789, 12.0, -0.0, 1e20, 2.0**53, 2.0**53 - 1, math.nan, math.inf, -math.inf,
                       12.0000001, 5e-324, -1234567.891, 3.0])
    assert json.dumps(_floats(values)) == (
        "[0.1234568, 12, 0, 1e+20, 9007199000000000.0, 9007199254740991, null, null, null, "
        "12.0, 5e-324, -1234568.0, 3]")


def test_many_numbers_match_one_by_one_formatting() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=3000) * 10.0 ** rng.integers(-30, 30, 3000),
                             np.round(rng.normal(size=300) * 100), [math.nan, math.inf]])
    expected = [None if not math.isfinite(value) else int(value) if value == int(value) and abs(value) < 2**53
                else float(f"{value:.7g}") for value in values.tolist()]
    assert json.dumps(_floats(values)) == json.dumps(expected)
