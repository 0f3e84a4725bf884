"""The browser's smoothing (``static/smoothing.js``, run by Node) gives Python's numbers on the same points."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jupyter_tracker.notebook.live_panel import STATIC_DIR, bundled_esm
from jupyter_tracker.smoothing import tensorboard_ema

NODE = shutil.which("node")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(NODE is None, reason="needs Node.js (node) on PATH to run the browser's smoothing code"),
]

RUNNER = """
import { readFileSync } from "node:fs";
import { tensorboardEma } from "./smoothing.mjs";
const encode = (value) => (Number.isFinite(value) ? value : String(value));
const decode = (value) => (typeof value === "string" ? Number(value) : value);
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = cases.map(({ values, weight }) => Array.from(tensorboardEma(values.map(decode), weight), encode));
process.stdout.write(JSON.stringify(results));
"""


def _encode(values: np.ndarray) -> list[float | str]:
    return [value if math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")
            for value in values.tolist()]


def _decode(values: list[float | str]) -> np.ndarray:
    return np.array([float(value) if not isinstance(value, str) else float(value.replace("Infinity", "inf"))
                     for value in values], dtype=np.float64)


def _cases() -> list[tuple[np.ndarray, float]]:
    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.normal(size=20_000)) * 1e3
    noisy = rng.normal(size=5_000) * 1e-6 + 1.0
    gappy = rng.normal(size=3_000)
    gappy[rng.integers(0, 3_000, 100)] = np.nan
    gappy[rng.integers(0, 3_000, 10)] = np.inf
    gappy[rng.integers(0, 3_000, 10)] = -np.inf
    cases = [
        (np.array([1.0, 2.0, 3.0]), 0.5),
        (np.array([]), 0.6),
        (np.full(1_000, 0.1), 0.999),
        (np.array([np.nan, 1.0, np.nan, 2.0]), 0.6),
        (np.array([np.nan, np.nan]), 0.6),
        (np.array([5.0, np.inf, 5.0]), 0.9),
    ]
    for weight in (0.0, 0.3, 0.6, 0.9, 0.99, 0.999):
        cases += [(walk, weight), (noisy, weight), (gappy, weight)]
    return cases


def test_js_smoothing_matches_python(tmp_path: Path) -> None:
    shutil.copy(STATIC_DIR / "smoothing.js", tmp_path / "smoothing.mjs")
    (tmp_path / "runner.mjs").write_text(RUNNER)
    cases = _cases()
    (tmp_path / "cases.json").write_text(json.dumps([{"values": _encode(values), "weight": weight} for values, weight in cases]))
    completed = subprocess.run([NODE, "runner.mjs", "cases.json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert len(results) == len(cases)
    for (values, weight), from_js in zip(cases, results, strict=True):
        browser = _decode(from_js)
        python = tensorboard_ema(values, weight)
        assert browser.shape == python.shape
        assert np.array_equal(np.isnan(browser), np.isnan(python)), weight
        assert np.array_equal(browser[np.isinf(python)], python[np.isinf(python)])
        finite = np.isfinite(python)
        assert np.allclose(browser[finite], python[finite], rtol=1e-9, atol=1e-9), weight


def test_bundled_panel_module_loads_in_node(tmp_path: Path) -> None:
    """The module anywidget receives (smoothing inlined, no relative import) parses and exports render."""
    bundle = bundled_esm()
    assert 'from "./smoothing.js"' not in bundle
    (tmp_path / "panel.mjs").write_text(bundle)
    (tmp_path / "check.mjs").write_text(
        'import panel, { tensorboardEma } from "./panel.mjs";\n'
        'if (typeof panel.render !== "function") throw new Error("no render");\n'
        'process.stdout.write(JSON.stringify(Array.from(tensorboardEma([1, 2, 3], 0.5))));\n'
    )
    completed = subprocess.run([NODE, "check.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == pytest.approx([1.0, 5 / 3, 17 / 7], abs=1e-15)
