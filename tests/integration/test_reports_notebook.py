"""notebooks/reports.ipynb on a real kernel: it runs a search, builds, saves and exports a report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.test_notebooks import NOTEBOOKS, WIDGET, all_outputs, clean_environment, execute, kernel_name  # noqa: F401

pytestmark = pytest.mark.integration


def test_reports_notebook_builds_saves_and_exports(kernel_name: str, tmp_path: Path,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in list(os.environ):
        if variable.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(variable)
    notebook = execute(NOTEBOOKS / "reports.ipynb", kernel_name, tmp_path, clean_environment(tmp_path))
    outputs = all_outputs(notebook)
    assert not [output for output in outputs if output.output_type == "error"], [
        output.get("evalue") for output in outputs if output.output_type == "error"]
    (shown,) = [output for output in outputs if WIDGET in output.get("data", {})]
    static = shown["data"]["text/html"]
    assert "6 of 6 runs" in static and "3 of 6 runs" in static and "<script" not in static
    assert "jupyter_tracker" in shown["metadata"]
    from jupyter_tracker.notebook.saved_notebook import static_outputs

    static_outputs(notebook)  # what Jupyter's save hook writes: the report as HTML+SVG, no widget
    assert sorted(shown["data"]) == ["text/html", "text/plain"] and shown["data"]["text/html"] == static
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert " 1 jupyter-tracker://reports/report-demo/" in printed
    assert "('Learning rate and optimizer', 1)" in printed
    html = (tmp_path / "report-demo.html").read_text(encoding="utf-8")
    assert html.count('class="jt-line-plot"') == 2 and "Adam with lr=0.01" in html
    rebuilt = execute(tmp_path / "report-demo.ipynb", kernel_name, tmp_path, clean_environment(tmp_path))
    rebuilt_outputs = all_outputs(rebuilt)
    assert not [output for output in rebuilt_outputs if output.output_type == "error"]
    (again,) = [output for output in rebuilt_outputs if WIDGET in output.get("data", {})]
    assert "Adam with lr=0.01" in again["data"]["text/html"] and "3 of 6 runs" in again["data"]["text/html"]
    assert (tmp_path / "report-demo.md").read_text(encoding="utf-8").startswith("# Learning rate and optimizer")
