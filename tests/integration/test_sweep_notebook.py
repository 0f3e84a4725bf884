"""notebooks/sweeps.ipynb on a real kernel: a random and a bayes sweep of a numpy model, with their views."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_notebooks import NOTEBOOKS, WIDGET, code_cell, execute, kernel_name, outputs_of  # noqa: F401

pytestmark = pytest.mark.integration


def test_sweeps_notebook_runs_both_sweeps_and_shows_their_views(store_root: Path, kernel_name: str):  # noqa: F811
    pytest.importorskip("optuna")
    notebook = execute(NOTEBOOKS / "sweeps.ipynb", kernel_name, store_root.parent,
                       {"WANDB_DIR": str(store_root.parent), "WANDB_DISABLE_CODE": "true",
                        "JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS": "true"})
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in outputs_of(cell)
              if output.get("output_type") == "error"]
    assert not errors, errors
    for starts_with, trials in (("random_search = {", 8), ("bayes_search = dict(", 12)):
        views = [output for output in outputs_of(code_cell(notebook, starts_with)) if WIDGET in output.get("data", {})]
        assert len(views) == 1, "the agent shows its sweep's view under its cell"
        saved = views[0]["data"]["text/html"]
        assert "<polyline" in saved and "best: trial" in saved and f"{trials} done" in saved
    opened = [output for output in outputs_of(code_cell(notebook, "from jupyter_tracker.sweeps import view"))
              if WIDGET in output.get("data", {})]
    assert opened and "12 done" in opened[0]["data"]["text/html"] and "random forest" in opened[0]["data"]["text/html"]
    printed = "".join(output.get("text", "") for output in outputs_of(code_cell(notebook, "def best(")))
    assert printed.startswith("best val_loss: random ")
    from jupyter_tracker.sweeps.local_store import LocalSweepStore

    sweeps = LocalSweepStore(store_root).sweeps("sweeps-demo")
    assert [sweep.config["method"] for sweep in sweeps] == ["random", "bayes"]
    for sweep, count in zip(sweeps, (8, 12), strict=True):
        trials = LocalSweepStore(store_root).trials(sweep.id)
        assert len(trials) == count and all(trial.state == "finished" for trial in trials)
