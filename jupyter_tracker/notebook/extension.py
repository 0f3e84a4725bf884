"""Attaches the notebook front end to IPython and detaches it again, leaving nothing behind.

``%load_ext jupyter_tracker`` registers the ``%tracker`` magics and the notebook hooks: a start
hook that shows the live panel under the cell that starts a run, and a console warning sink that
shows limit warnings as small boxes. A run started in a kernel without ``%load_ext`` gets the
same hooks through :func:`ensure_notebook_hooks`, which ``sdk.init`` calls once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_tracker import console, sdk
from jupyter_tracker import settings as settings_module
from jupyter_tracker.notebook.warnings_box import WarningsBox


def in_kernel(shell: Any | None = None) -> bool:
    """True inside a Jupyter kernel (a shell with a ``kernel``), False in a terminal or plain Python."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show_live_panel(run: Any) -> Any:
    from jupyter_tracker.notebook.live_panel import show_live_panel

    return show_live_panel(run)


class NotebookHooks:
    """The start hook and the warning sink the notebook adds to the core, installed as one unit.

    ``show_panel`` and ``is_notebook`` are injectable so tests can watch what a run start does.

    >>> hooks = NotebookHooks(show_panel=lambda run: None, is_notebook=lambda: True)  # doctest: +SKIP
    >>> hooks.install(); jupyter_tracker.init(project="p"); hooks.uninstall()  # doctest: +SKIP
    """

    def __init__(
        self,
        show_panel: Callable[[Any], Any] = _show_live_panel,
        is_notebook: Callable[[], bool] = in_kernel,
        warnings_box: WarningsBox | None = None,
    ) -> None:
        self.show_panel = show_panel
        self.is_notebook = is_notebook
        self.warnings_box = warnings_box if warnings_box is not None else WarningsBox(is_notebook=is_notebook)
        self.installed = False

    def install(self) -> None:
        sdk.add_start_hook(self.on_run_start)
        console.add_warning_sink(self.warnings_box)
        self.installed = True

    def uninstall(self) -> None:
        sdk.remove_start_hook(self.on_run_start)
        console.remove_warning_sink(self.warnings_box)
        self.installed = False

    def on_run_start(self, run: Any) -> None:
        """Shows the live panel under the running cell, unless silent, disabled or outside a notebook."""
        if run.disabled or settings_module.is_silent() or run.settings.live == "off":
            return
        if not self.is_notebook():
            return
        self.show_panel(run)


_hooks: NotebookHooks | None = None
_magics: Any | None = None


def ensure_notebook_hooks() -> NotebookHooks:
    """Installs the notebook hooks once for the process and returns them (idempotent)."""
    global _hooks
    if _hooks is None:
        _hooks = NotebookHooks()
    if not _hooks.installed:
        _hooks.install()
    return _hooks


def load(ipython: Any) -> None:
    """``%load_ext jupyter_tracker``: registers ``%tracker``/``%%tracker`` and the notebook hooks."""
    global _magics
    from jupyter_tracker.notebook.magics import TrackerMagics

    if _magics is None:
        _magics = TrackerMagics(ipython)
        ipython.register_magics(_magics)
    ensure_notebook_hooks()


def unload(ipython: Any) -> None:
    """``%unload_ext jupyter_tracker``: removes the magics, the start hook and the warning sink."""
    global _magics, _hooks
    manager = ipython.magics_manager
    if _magics is not None:
        for kind, names in _magics.magics.items():
            for name in names:
                if manager.magics[kind].get(name) is not None and getattr(
                    manager.magics[kind][name], "__self__", None
                ) is _magics:
                    del manager.magics[kind][name]
        manager.registry.pop(type(_magics).__name__, None)
        _magics = None
    if _hooks is not None:
        _hooks.uninstall()
        _hooks = None
