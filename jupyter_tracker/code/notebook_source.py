"""Finds the source of the notebook a run starts in: its file, or else the cells IPython has executed.

The file is named by ``WANDB_NOTEBOOK_NAME``, by the Jupyter server (``JPY_SESSION_NAME``, set for
kernels it starts) or by VS Code (``__vsc_ipynb_file__`` in the user namespace).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from jupyter_tracker import settings as settings_module

#: the code file written when no notebook file can be found (as wandb names it)
SESSION_HISTORY_NAME = "_session_history.ipynb"


def current_shell() -> Any | None:
    """The running IPython shell (kernel or terminal), or None; never imports IPython itself."""
    if "IPython" not in sys.modules:
        return None
    try:
        return sys.modules["IPython"].get_ipython()
    except Exception:
        return None


def notebook_path(notebook_name: str | None, shell: Any | None, cwd: str | Path | None = None) -> Path | None:
    """The notebook file of this session, if something names one that exists."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    candidates: list[str] = []
    if notebook_name:
        candidates.append(notebook_name)
    session_name = settings_module.environment_value("JPY_SESSION_NAME")
    if session_name:
        candidates.append(session_name)
    if shell is not None:
        vscode_file = getattr(shell, "user_ns", {}).get("__vsc_ipynb_file__")
        if isinstance(vscode_file, str):
            candidates.append(vscode_file)
    for candidate in candidates:
        path = Path(candidate).expanduser()
        for option in (path, base / path, base / path.name):
            if option.is_file():
                return option
    return None


def history_notebook(shell: Any) -> bytes | None:
    """The cells this IPython session has executed, as a minimal nbformat-4 notebook; None when empty."""
    cells = [source for source in _executed_cells(shell) if source.strip()]
    if not cells:
        return None
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "code", "id": f"cell-{index}", "metadata": {}, "execution_count": index + 1,
             "outputs": [], "source": source}
            for index, source in enumerate(cells)
        ],
    }
    return (json.dumps(notebook, indent=1) + "\n").encode("utf-8")


def _executed_cells(shell: Any) -> list[str]:
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if history is None:
        history = getattr(shell, "user_ns", {}).get("In", [])
    return [str(source) for source in list(history)[1:]]  # entry 0 is always empty


def script_path(argv0: str | None = None) -> Path | None:
    """The Python file this process runs, when it is a plain script (not a kernel or ``-c``)."""
    program = argv0 if argv0 is not None else (sys.argv[0] if sys.argv else "")
    if not program or program in ("-c", "-m"):
        return None
    path = Path(program)
    if path.suffix != ".py" or not path.is_file() or path.name == "ipykernel_launcher.py":
        return None
    return path.resolve()


def relative_code_name(path: Path, git_root: str | None) -> str:
    """``code/<path relative to the repository>``, or ``code/<file name>`` outside one."""
    if git_root:
        try:
            return "code/" + path.resolve().relative_to(Path(git_root).resolve()).as_posix()
        except ValueError:
            pass
    return "code/" + path.name

