"""The browser's smoothing (``static/smoothing.js``, run by Node) gives Python's numbers on the same points."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jupyter_tracker.downsample import min_max_summary
from jupyter_tracker.notebook.live_panel import STATIC_DIR, bundled_esm
from jupyter_tracker.smoothing import smooth_summary, tensorboard_ema
from tests.extras import SYSTEM, required

# CI installs Node (.ci/run): there (JT_REQUIRE_SYSTEM=1) a missing node fails the tests ("node" is not found)
NODE = shutil.which("node") or "node"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("node") is None and not required(SYSTEM),
                       reason="needs Node.js (node) on PATH to run the browser's smoothing code"),
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


SUMMARY_RUNNER = """
import { readFileSync } from "node:fs";
import { readSmoothingSummary, smoothSummary, smoothedLine } from "./smoothing.mjs";
const encode = (value) => (Number.isFinite(value) ? value : String(value));
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = cases.map(({ file, offset, weights }) => {
  // the blob at an odd offset inside a larger message, as in the panel's binary buffer
  const message = readFileSync(file);
  const summary = readSmoothingSummary(new Uint8Array(message.buffer, message.byteOffset + offset, message.length - offset));
  const x = Array.from({ length: summary.size }, (_, i) => i * 10);
  return weights.map((weight) => {
    const line = smoothedLine(summary, weight, x);
    if (line.x !== x) throw new Error("x must come back as given");
    return Array.from(smoothSummary(summary, weight), encode);
  });
});
let refused = false;
try { smoothSummary(readSmoothingSummary(readFileSync(cases[0].file).subarray(cases[0].offset)), 1); } catch (error) { refused = error instanceof RangeError; }
process.stdout.write(JSON.stringify({ results, refused }));
"""

SUMMARY_WEIGHTS = [0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99, 0.999]


def _summary_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    steps = np.arange(100_000, dtype=np.float64)
    loss = 1.0 + 2.0 * np.exp(-steps / 20_000) + rng.exponential(0.3, steps.size)  # the skewed noise
    gappy = loss.copy()
    gappy[1_000:1_300] = np.nan
    gappy[[5_000, 70_000, 99_999]] = [np.inf, -np.inf, np.nan]
    huge = loss / loss.max() * 1.7e308  # summed scaled by 2^-64 on both sides
    return [loss, gappy, np.full(20_000, 0.1), np.cumsum(rng.normal(size=3_000)) * 1e3 + 1e6, np.array([2.5]), huge]


def test_js_summary_smoothing_matches_python_and_the_full_series(tmp_path: Path) -> None:
    """Browser and Python smooth a summary alike (1e-9), and both sit within 1 % of the full series' EMA."""
    shutil.copy(STATIC_DIR / "smoothing.js", tmp_path / "smoothing.mjs")
    (tmp_path / "runner.mjs").write_text(SUMMARY_RUNNER)
    series = _summary_cases()
    summaries = []
    listing = []
    for number, values in enumerate(series):
        indices, summary = min_max_summary(values, 1_500)
        summaries.append((indices, summary))
        offset = 3 + number
        (tmp_path / f"summary{number}.bin").write_bytes(b"\0" * offset + summary.to_bytes())
        listing.append({"file": f"summary{number}.bin", "offset": offset, "weights": SUMMARY_WEIGHTS})
    (tmp_path / "cases.json").write_text(json.dumps(listing))
    completed = subprocess.run([NODE, "runner.mjs", "cases.json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["refused"], "a weight of 1 must be refused with a RangeError"
    for values, (indices, summary), per_weight in zip(series, summaries, answer["results"], strict=True):
        finite_values = values[np.isfinite(values)]
        spread = float(np.ptp(finite_values))
        for weight, from_js in zip(SUMMARY_WEIGHTS, per_weight, strict=True):
            browser = _decode(from_js)
            python = smooth_summary(summary, weight)
            assert np.array_equal(browser, python, equal_nan=True) or (
                np.array_equal(np.isnan(browser), np.isnan(python))
                and np.array_equal(browser[~np.isfinite(python)], python[~np.isfinite(python)], equal_nan=True)
                and np.allclose(browser[np.isfinite(python)], python[np.isfinite(python)], rtol=1e-9, atol=1e-9 * spread)
            ), weight
            full = tensorboard_ema(values, weight)[indices]
            finite = np.isfinite(full)
            assert np.array_equal(np.isfinite(browser), finite)
            error = float(np.abs(browser[finite] - full[finite]).max(initial=0.0))
            assert error <= 0.01 * spread, (weight, error / spread if spread else error)
            if spread == 0:
                assert np.all(browser[finite] == finite_values[0]), "a constant series must stay constant"
