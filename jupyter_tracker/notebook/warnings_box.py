"""Shows each limit warning once, in a notebook, as a small styled box under the running cell.

The box is a console warning sink: the console calls it only when not silent, so silent mode
shows nothing while ``run.warnings`` still keeps every warning. Outside a notebook the sink
declines and the console falls back to :mod:`warnings`.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

from jupyter_tracker.limits import LimitWarning

_BOX_STYLE = (
    "margin:4px 0;padding:6px 10px;border-left:4px solid #d97706;border-radius:4px;"
    "background:rgba(217,119,6,0.10);color:inherit;font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);"
    "max-width:760px"
)


def render_warning_html(warning: LimitWarning) -> str:
    """The box's HTML: what crossed which bound, the observed figure, and the advice; all escaped."""
    limit = warning.limit
    subject = f" <code>{html.escape(str(warning.subject))}</code>" if warning.subject else ""
    return (
        f'<div class="jt-limit-warning" role="note" style="{_BOX_STYLE}">'
        f"<b>⚠ jupyter_tracker: {html.escape(limit.what)}</b>{subject}<br>"
        f"observed <b>{warning.observed:,}</b> {html.escape(limit.unit)}, recommended at most "
        f"<b>{warning.bound:,}</b>. The data is kept.<br>"
        f'<span style="opacity:0.8">{html.escape(limit.advice)}</span></div>'
    )


def _display_bundle(bundle: dict[str, str]) -> None:
    from IPython.display import display

    display(bundle, raw=True)


class WarningsBox:
    """A console warning sink: returns True when it showed the warning (so no stack trace follows).

    >>> console.add_warning_sink(WarningsBox())  # doctest: +SKIP
    """

    def __init__(
        self,
        is_notebook: Callable[[], bool],
        show: Callable[[dict[str, str]], None] = _display_bundle,
    ) -> None:
        self.is_notebook = is_notebook
        self.show = show
        self._shown: set[tuple[Any, ...]] = set()
        self._lock = threading.Lock()

    def __call__(self, warning: Warning) -> bool:
        if not isinstance(warning, LimitWarning) or not self.is_notebook():
            return False
        key = (warning.kind, warning.bound, warning.observed, warning.subject)
        with self._lock:
            if key in self._shown:
                return True
            self._shown.add(key)
        self.show({"text/html": render_warning_html(warning), "text/plain": f"jupyter_tracker: {warning}"})
        return True
