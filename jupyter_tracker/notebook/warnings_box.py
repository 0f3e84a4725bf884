"""Shows the library's warnings in a notebook as small styled boxes under the running cell.

Three kinds get a box: limit warnings (a recommended bound crossed; each shown once, as the
limit checker raises each kind once per run, so a 10,000-metric run shows one box, not one per
metric), step warnings (``log(step=s)`` below the current step: the row was dropped) and config
warnings (a changed or locked config key). Step and config warnings can repeat in a loop, so
each cell gets one box per kind that counts them, updated in place through a display id,
instead of one box per call.

The box is a console warning sink: the console calls it only when not silent, so silent mode
shows nothing while ``run.warnings`` still keeps every warning. Outside a notebook the sink
declines and the console falls back to :mod:`warnings`.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.run_config import ConfigWarning
from jupyter_tracker.tracked_run import StepWarning

_BOX_STYLE = (
    "margin:4px 0;padding:6px 10px;border-left:4px solid #d97706;border-radius:4px;"
    "background:rgba(217,119,6,0.10);color:inherit;font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);"
    "max-width:760px"
)
_ADVICE_STYLE = "opacity:0.8"
#: a counted box is redrawn at most this often (a loop may warn on every step) ...
UPDATE_INTERVAL = 0.5
#: ... and always for its first few warnings
ALWAYS_UPDATED = 10
#: the latest messages a counted box lists
LATEST_SHOWN = 3

STEP_ADVICE = ("Steps must increase. To plot against another x-axis, log it as a metric and use "
               "define_metric(name, step_metric=...); to add to the current step, use commit=False.")
CONFIG_ADVICE = "Pass allow_val_change=True to config.update() when a change is intended; locked keys keep their value."


def render_warning_html(warning: LimitWarning) -> str:
    """A limit box: what crossed which bound, the observed figure, and the advice; all escaped."""
    limit = warning.limit
    subject = f" <code>{html.escape(str(warning.subject))}</code>" if warning.subject else ""
    return (
        f'<div class="jt-limit-warning" role="note" style="{_BOX_STYLE}">'
        f"<b>⚠ jupyter_tracker: {html.escape(limit.what)}</b>{subject}<br>"
        f"observed <b>{warning.observed:,}</b> {html.escape(limit.unit)}, recommended at most "
        f"<b>{warning.bound:,}</b>. The data is kept.<br>"
        f'<span style="{_ADVICE_STYLE}">{html.escape(limit.advice)}</span></div>'
    )


@dataclasses.dataclass
class CountedWarnings:
    """The warnings of one kind in one cell: how many, and the latest messages."""

    kind: str
    display_id: str
    count: int = 0
    latest: list[str] = dataclasses.field(default_factory=list)
    updated_at: float = 0.0

    def add(self, message: str) -> None:
        self.count += 1
        self.latest = [*self.latest, message][-LATEST_SHOWN:]


_TITLES = {
    "step": ("jt-step-warning", "a row was dropped: its step is lower than the run's current step",
             "rows dropped", STEP_ADVICE),
    "config": ("jt-config-warning", "a config key changed or was refused", "config warnings", CONFIG_ADVICE),
}


def render_counted_html(counted: CountedWarnings) -> str:
    """A step or config box: the latest messages and, past the first, how many in this cell; all escaped."""
    css_class, title, counted_what, advice = _TITLES[counted.kind]
    items = "".join(f"<li>{html.escape(message)}</li>" for message in counted.latest)
    count = f" ({counted.count:,} {counted_what} in this cell; the latest below)" if counted.count > 1 else ""
    return (
        f'<div class="{css_class}" role="note" style="{_BOX_STYLE}" data-count="{counted.count}">'
        f"<b>⚠ jupyter_tracker: {html.escape(title)}</b>{html.escape(count)}"
        f'<ul style="margin:2px 0;padding-left:18px">{items}</ul>'
        f'<span style="{_ADVICE_STYLE}">{html.escape(advice)}</span></div>'
    )


def warning_kind(warning: Warning) -> str | None:
    """``limit``, ``step``, ``config``, or None for a warning the box does not show."""
    if isinstance(warning, LimitWarning):
        return "limit"
    if isinstance(warning, StepWarning):
        return "step"
    if isinstance(warning, ConfigWarning):
        return "config"
    return None


def _display_bundle(bundle: dict[str, str]) -> None:
    from IPython.display import display

    display(bundle, raw=True)


def _display_counted(bundle: dict[str, str], display_id: str, update: bool) -> None:
    from IPython.display import display

    display(bundle, raw=True, display_id=display_id, update=update)


def _later(delay: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(delay, action)
    timer.name = "jupyter_tracker-warning-box"
    timer.daemon = True
    timer.start()


def _current_cell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "execution_count", None)


class WarningsBox:
    """A console warning sink: returns True when it showed (or counted) the warning, so no stack trace follows.

    ``show`` displays a one-off box; ``show_counted(bundle, display_id, update)`` displays or
    redraws a counting box; ``current_cell`` tells cells apart; ``later(delay, action)`` runs the
    redraw a skipped update still owes, so the final count is right. All are injectable for tests.

    >>> console.add_warning_sink(WarningsBox(is_notebook=lambda: True))  # doctest: +SKIP
    """

    def __init__(
        self,
        is_notebook: Callable[[], bool],
        show: Callable[[dict[str, str]], None] = _display_bundle,
        show_counted: Callable[[dict[str, str], str, bool], None] = _display_counted,
        current_cell: Callable[[], Any] = _current_cell,
        clock: Callable[[], float] = time.monotonic,
        later: Callable[[float, Callable[[], None]], Any] = _later,
    ) -> None:
        self.is_notebook = is_notebook
        self.show = show
        self.show_counted = show_counted
        self.current_cell = current_cell
        self.clock = clock
        self.later = later
        self._owed: set[str] = set()
        self._shown: set[tuple[Any, ...]] = set()
        self._counted: dict[tuple[str, Any], CountedWarnings] = {}
        self._lock = threading.Lock()

    def __call__(self, warning: Warning) -> bool:
        kind = warning_kind(warning)
        if kind is None or not self.is_notebook():
            return False
        if isinstance(warning, LimitWarning):
            return self._show_limit(warning)
        return self._count(kind, str(warning))

    def _show_limit(self, warning: LimitWarning) -> bool:
        # the checker raises each kind once per run; the cell in the key lets a later run's box show again
        key = (warning.kind, warning.bound, warning.observed, warning.subject, self.current_cell())
        with self._lock:
            if key in self._shown:
                return True
            self._shown.add(key)
        self.show({"text/html": render_warning_html(warning), "text/plain": f"jupyter_tracker: {warning}"})
        return True

    def _count(self, kind: str, message: str) -> bool:
        key = (kind, self.current_cell())
        now = self.clock()
        with self._lock:
            counted = self._counted.get(key)
            first = counted is None
            if counted is None:
                counted = self._counted[key] = CountedWarnings(kind, f"jt-{kind}-warning-{uuid.uuid4().hex}")
            counted.add(message)
            due = first or counted.count <= ALWAYS_UPDATED or now - counted.updated_at >= UPDATE_INTERVAL
            if not due:
                if counted.display_id not in self._owed:  # one redraw owed per box, whatever the loop does next
                    self._owed.add(counted.display_id)
                    self.later(UPDATE_INTERVAL, lambda: self._redraw(counted))
                return True
            counted.updated_at = now
            bundle = _counted_bundle(counted)
        self.show_counted(bundle, counted.display_id, not first)
        return True

    def _redraw(self, counted: CountedWarnings) -> None:
        with self._lock:
            self._owed.discard(counted.display_id)
            counted.updated_at = self.clock()
            bundle = _counted_bundle(counted)
        try:
            self.show_counted(bundle, counted.display_id, True)
        except Exception:  # a closed kernel connection: the box keeps its last count
            return


def _counted_bundle(counted: CountedWarnings) -> dict[str, str]:
    latest = counted.latest[-1] if counted.latest else ""
    suffix = f" ({counted.count:,} in this cell)" if counted.count > 1 else ""
    return {"text/html": render_counted_html(counted), "text/plain": f"jupyter_tracker: {latest}{suffix}"}
