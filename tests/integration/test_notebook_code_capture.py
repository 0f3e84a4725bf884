"""Notebook source capture on a real kernel (nbclient): the notebook file when named, else the executed cells."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.integration

CELLS = [
    "import jupyter_tracker as jt",
    "run = jt.init(project='nb-code', mode='offline')",
    "run.log({'loss': 0.25})\nprint(run.dir)",
    "run.finish()",
]


@pytest.fixture
def notebook_dir(store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the notebook; the kernel inherits this environment (store, silence, no live panel)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(prefix=sys.prefix, kernel_name="python3")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("JUPYTER_TRACKER_LIVE", "off")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    directory = tmp_path / "notebooks"
    directory.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    nbformat.write(notebook, directory / "train.ipynb")
    return directory


def execute(directory: Path) -> Path:
    """Runs ``train.ipynb`` in ``directory`` on a real kernel; returns the run directory it printed."""
    notebook = nbformat.read(directory / "train.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(directory)}}).execute()
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output["output_type"] == "error"]
    assert not errors, errors
    printed = "".join(output.get("text", "") for output in notebook.cells[2].outputs if output["output_type"] == "stream")
    return Path(printed.strip().splitlines()[-1])


def test_the_notebook_named_by_wandb_notebook_name_is_saved_as_a_code_file(
        notebook_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_NOTEBOOK_NAME", "train.ipynb")
    run_dir = execute(notebook_dir)
    saved = run_dir / "files" / "code" / "train.ipynb"
    assert saved.read_bytes() == (notebook_dir / "train.ipynb").read_bytes()
    from jupyter_tracker.store.reader import read_run

    state, _ = read_run(run_dir)
    assert state.files["code/train.ipynb"]["policy"] == "now"


def test_without_a_name_the_executed_cells_are_saved(notebook_dir: Path) -> None:
    run_dir = execute(notebook_dir)
    saved = run_dir / "files" / "code" / "_session_history.ipynb"
    cells = [cell["source"] for cell in json.loads(saved.read_text())["cells"]]
    assert cells == CELLS  # refreshed at finish(): the cell that finished the run is in too
    nbformat.validate(nbformat.reads(saved.read_text(), as_version=4))
