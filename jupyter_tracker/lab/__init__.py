"""jupyter_tracker in JupyterLab: the server extension behind the prebuilt labextension.

``jupyter_tracker/labextension/`` holds the built front end (installed as
``share/jupyter/labextensions/jupyter-tracker`` by the wheel); this package adds its JSON
endpoints to the Jupyter server. Nothing here is imported by ``import jupyter_tracker``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the built labextension, beside this package in the source tree and in the wheel
LABEXTENSION_DIR = Path(__file__).resolve().parent.parent / "labextension"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": str(LABEXTENSION_DIR), "dest": "jupyter-tracker"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_tracker.lab"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from jupyter_tracker.lab.handlers import setup_handlers

    setup_handlers(server_app.web_app, Path(server_app.root_dir))
