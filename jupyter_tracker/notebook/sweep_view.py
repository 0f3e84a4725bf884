"""A sweep under the cell: progress, parallel coordinates, the best run and parameter importance.

The view is HTML built here from the sweep's store (an SVG parallel-coordinates chart, tables),
so the widget only swaps it in, and a notebook saved without a kernel shows the same HTML. A
refresher thread (the widget's only writer) reads the store every second and re-renders when a
trial changed, while an agent in the same kernel keeps the main thread busy with trials.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from jupyter_tracker import console
from jupyter_tracker.sweeps.config import SweepConfig, parse_config
from jupyter_tracker.sweeps.importance import best_trial, importances, parameter_matrix, progress
from jupyter_tracker.sweeps.trials import Sweep, Trial

__all__ = ["SweepView", "render_sweep", "sweep_view"]

#: seconds between reads of the sweep's store while the view is live
REFRESH_SECONDS = 1.0
#: seconds between reads when the sweep lives on a tracking server
REMOTE_REFRESH_SECONDS = 5.0
_WIDTH, _HEIGHT, _MARGIN = 640, 260, 36

_ESM = """
function render({ model, el }) {
  const draw = () => { el.innerHTML = model.get("html"); };
  draw();
  model.on("change:html", draw);
}
export default { render };
"""


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))


def _colour(fraction: float) -> str:
    """Good (fraction 1) in blue to poor (0) in orange, as a CSS colour."""
    fraction = min(max(fraction, 0.0), 1.0)
    red, green, blue = int(230 - 190 * fraction), int(120 + 10 * fraction), int(40 + 180 * fraction)
    return f"rgb({red},{green},{blue})"


def parallel_coordinates_svg(config: SweepConfig, trials: Sequence[Trial]) -> str:
    """One vertical axis per varying parameter and one for the metric; one line per scored trial."""
    rows = [trial for trial in trials if trial.value is not None and math.isfinite(trial.value)]
    names, matrix, codes = parameter_matrix(config, rows)
    metric = config.metric.name if config.metric else "value"
    axes = names + [metric]
    if not rows or not names:
        return "<p class='jt-sweep-empty'>the chart appears when trials report the metric</p>"
    values = [float(trial.value or 0.0) for trial in rows]
    columns = [list(matrix[:, column]) for column in range(len(names))] + [values]
    step = (_WIDTH - 2 * _MARGIN) / max(len(axes) - 1, 1)
    parts = [f"<svg class='jt-sweep-parallel' viewBox='0 0 {_WIDTH} {_HEIGHT}' width='{_WIDTH}' height='{_HEIGHT}' "
             f"role='img' aria-label='parallel coordinates of {len(rows)} trials'>"]
    scales = []
    for axis, column in enumerate(columns):
        finite = [value for value in column if value is not None and math.isfinite(value)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        scales.append((low, high if high > low else low + 1.0))
        x = _MARGIN + axis * step
        parts.append(f"<line x1='{x:.1f}' y1='{_MARGIN}' x2='{x:.1f}' y2='{_HEIGHT - _MARGIN}' stroke='#999'/>")
        label = html.escape(axes[axis])
        parts.append(f"<text x='{x:.1f}' y='{_MARGIN - 14}' text-anchor='middle' font-size='11'>{label}</text>")
        if axis < len(names) and codes[axis]:
            for key, code in codes[axis].items():
                y = _y(code, scales[-1])
                parts.append(f"<text x='{x + 4:.1f}' y='{y:.1f}' font-size='9' fill='#555'>{html.escape(key)}</text>")
        else:
            parts.append(f"<text x='{x:.1f}' y='{_HEIGHT - _MARGIN + 14}' text-anchor='middle' font-size='9'>{_number(low)}</text>")
            parts.append(f"<text x='{x:.1f}' y='{_MARGIN - 3}' text-anchor='middle' font-size='9'>{_number(high)}</text>")
    low, high = scales[-1]
    minimize = config.metric is None or config.metric.goal == "minimize"
    for row, trial in enumerate(rows):
        value = float(values[row])
        quality = (high - value) / (high - low) if minimize else (value - low) / (high - low)
        points = " ".join(f"{_MARGIN + axis * step:.1f},{_y(columns[axis][row], scales[axis]):.1f}" for axis in range(len(axes)))
        parts.append(f"<polyline points='{points}' fill='none' stroke='{_colour(quality)}' stroke-width='1.5' opacity='0.8'>"
                     f"<title>trial {trial.number} ({html.escape(trial.run_id or '')}): {metric} {_number(value)}</title></polyline>")
    parts.append("</svg>")
    return "".join(parts)


def _y(value: float | None, scale: tuple[float, float]) -> float:
    low, high = scale
    if value is None or not math.isfinite(value):
        return float(_HEIGHT - _MARGIN)
    return _HEIGHT - _MARGIN - (value - low) / (high - low) * (_HEIGHT - 2 * _MARGIN)


def render_sweep(sweep: Sweep, trials: Sequence[Trial], forest: bool = True) -> str:
    """The view's HTML: what the widget shows live and what a saved notebook keeps."""
    config = parse_config(sweep.config)
    counts = progress(config, trials)
    total = counts.total
    share = counts.done / total if total else 0.0
    of_total = f" of {total}" if total else ""
    metric = config.metric.name if config.metric else None
    parts = [
        "<div class='jt-sweep' style='font-family: sans-serif; font-size: 13px; max-width: 680px'>",
        f"<div class='jt-sweep-title'><b>sweep {html.escape(sweep.id)}</b> · {html.escape(config.method)} · "
        f"project {html.escape(sweep.project)} · <span class='jt-sweep-state'>{html.escape(sweep.state)}</span></div>",
        f"<div class='jt-sweep-progress' data-done='{counts.done}' data-total='{total or ''}'>"
        f"{counts.done}{of_total} done: {counts.finished} finished, {counts.running} running, {counts.failed} failed, "
        f"{counts.stopped} stopped early"
        + (f"<div style='background:#eee;height:6px;width:100%'><div style='background:#4a7;height:6px;width:{100 * share:.1f}%'></div></div>" if total else "")
        + "</div>",
    ]
    best = best_trial(config, trials)
    if best is not None and metric:
        settings = ", ".join(f"{html.escape(name)}={_number(value)}" for name, value in best.params.items())
        parts.append(f"<div class='jt-sweep-best'>best: trial {best.number} (run {html.escape(best.run_id or '-')}) "
                     f"{html.escape(metric)} = {_number(best.value)} with {settings}</div>")
    parts.append(parallel_coordinates_svg(config, trials))
    found = importances(config, trials, forest=forest)
    if found:
        parts.append("<table class='jt-sweep-importance'><tr><th>parameter</th><th>importance (random forest)</th>"
                     "<th>correlation</th></tr>")
        for item in found:
            forest_text = "" if item.forest is None else f"{item.forest:.3f}"
            correlation = "" if item.correlation is None else f"{item.correlation:+.3f}"
            parts.append(f"<tr><td>{html.escape(item.parameter)}</td><td>{forest_text}</td><td>{correlation}</td></tr>")
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)


class SweepView(anywidget.AnyWidget):
    """A live view of one sweep; displays under the cell and follows it until the sweep ends.

    >>> jupyter_tracker.sweeps.view(sweep_id)  # doctest: +SKIP
    """

    _esm = _ESM
    html = traitlets.Unicode("", help="the rendered view (progress, chart, best run, importance)").tag(sync=True)

    def __init__(self, store: Any, sweep_id: str, refresh_seconds: float = REFRESH_SECONDS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._store = store
        self._sweep_id = sweep_id
        # a server's rate limit is shared with the agents of the same key: read it less often
        remote = getattr(store, "root", None) is None
        self._refresh_seconds = max(refresh_seconds, REMOTE_REFRESH_SECONDS) if remote else refresh_seconds
        self._seen: tuple[Any, ...] | None = None
        self._stop = threading.Event()
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="jupyter-tracker-sweep-view", daemon=True)
        self._thread.start()

    def refresh(self) -> bool:
        """Re-renders when the sweep or a trial changed; returns whether it did."""
        sweep = self._store.get_sweep(self._sweep_id)
        trials = self._store.trials(self._sweep_id)
        seen = (sweep.state, tuple((trial.number, trial.state, trial.value) for trial in trials))
        if seen == self._seen:
            return False
        self._seen = seen
        self.html = render_sweep(sweep, trials)
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self._refresh_seconds):
            try:
                self.refresh()
                if self._seen is not None and self._seen[0] in ("finished", "cancelled") and not any(
                        state in ("running", "pending") for _, state, _ in self._seen[1]):
                    return
            except Exception as error:  # the view is optional; the sweep goes on without it
                console.warn_once("sweep-view", f"the sweep view stopped updating ({type(error).__name__}: {error})")
                return

    def close(self) -> None:
        self._stop.set()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if data is not None:
            data["text/html"] = self.html  # what a saved notebook shows without a kernel
        return bundle


def sweep_view(sweep_id: str, project: str | None = None, entity: str | None = None) -> SweepView:
    """The live view of a sweep of this process's store (local, or the server when logged in)."""
    from jupyter_tracker.sweeps import sweep_store

    return SweepView(sweep_store(project=project, entity=entity), sweep_id.rstrip("/").rsplit("/", 1)[-1])
