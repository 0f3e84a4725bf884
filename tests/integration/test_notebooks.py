"""Executes the notebooks in ``notebooks/`` on a real IPython kernel and checks what they show."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.integration

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"
#: a finished run's chart may add at most this much to the saved notebook (issue 3)
BYTES_PER_CHART = 200_000


@pytest.fixture(scope="module")
def kernel_name() -> str:
    """The ``python3`` kernel of this interpreter's environment (installed into it when missing)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec("python3")
        if spec.argv[0] in ("python", "python3", sys.executable):
            return "python3"
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(prefix=sys.prefix, kernel_name="python3")
    return "python3"


def execute(path: Path, kernel_name: str, directory: Path, environment: dict[str, str]) -> Any:
    notebook = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update(environment)  # the kernel inherits the environment of the process that starts it
    try:
        client = nbclient.NotebookClient(notebook, kernel_name=kernel_name, timeout=240,
                                          resources={"metadata": {"path": str(directory)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def outputs_of(cell: Any) -> list[Any]:
    return list(cell.get("outputs", []))


def all_outputs(notebook: Any) -> list[Any]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in outputs_of(cell)]


def mimetypes(cell: Any) -> set[str]:
    return {mimetype for output in outputs_of(cell) for mimetype in output.get("data", {})}


def code_cell(notebook: Any, starts_with: str) -> Any:
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(starts_with):
            return cell
    raise AssertionError(f"no code cell starts with {starts_with!r}")


def saved_size(notebook: Any, directory: Path, name: str) -> int:
    path = directory / name
    nbformat.write(notebook, path)
    return path.stat().st_size


def charts_in(output: Any) -> int:
    """Charts one output shows: a plotly figure's subplots (one per metric), else one per widget."""
    data = output.get("data", {})
    if PLOTLY in data:
        return max(1, len({trace.get("xaxis", "x") for trace in data[PLOTLY].get("data", [])}))
    return 1 if WIDGET in data else 0


def chart_count(notebook: Any) -> int:
    return sum(charts_in(output) for output in all_outputs(notebook))


def clean_environment(tmp_path: Path) -> dict[str, str]:
    for name in list(os.environ):
        if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            os.environ.pop(name)
    return {"WANDB_DIR": str(tmp_path / "store"), "JUPYTER_TRACKER_HOME": str(tmp_path / "home"),
            "WANDB_MODE": "offline"}


def test_magics_notebook(kernel_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(name)
    notebook = execute(NOTEBOOKS / "magics.ipynb", kernel_name, tmp_path, clean_environment(tmp_path))
    assert not [output for output in all_outputs(notebook) if output.output_type == "error"]
    # the run card of %tracker status and of a displayed run
    for starts_with in ("%tracker status", "last_run"):
        (card,) = [output for output in outputs_of(code_cell(notebook, starts_with)) if "text/html" in output.get("data", {})]
        assert 'class="jt-card"' in card["data"]["text/html"]
    assert "sweep-lr-0.003" in code_cell(notebook, "last_run").outputs[0]["data"]["text/html"]
    # the runs table is a widget, with an HTML table for renderers without widgets
    runs = code_cell(notebook, "%tracker runs")
    assert WIDGET in mimetypes(runs) and "text/html" in mimetypes(runs)
    (table_output,) = outputs_of(runs)
    assert "6 runs" in table_output["data"]["text/html"]
    # silent: the run starts without output, and %tracker live still shows the panel on request
    assert outputs_of(code_cell(notebook, "%tracker init --project magics-demo --name quiet-one")) == []
    assert mimetypes(code_cell(notebook, "%tracker live")) & {WIDGET, PLOTLY}
    assert outputs_of(code_cell(notebook, "%tracker finish\n%tracker silent off")) == []
    query = code_cell(notebook, "table = jt.runs_table")
    (frame_output,) = outputs_of(query)
    html = frame_output["data"]["text/html"]
    assert "sweep-lr-0.01" in html and "sweep-lr-0.003" in html and "baseline" not in html and "quiet-one" not in html
    compare = code_cell(notebook, "frame = table.to_dataframe()")
    assert PLOTLY in mimetypes(compare)
    (figure,) = [output["data"][PLOTLY] for output in outputs_of(compare) if PLOTLY in output.get("data", {})]
    assert len(figure["data"]) == 6
    # the %%tracker cell's run is finished, and the live panel (when shown) is a widget or a plotly figure
    for starts_with in ("%tracker init", "%%tracker"):
        shown = mimetypes(code_cell(notebook, starts_with))
        assert not shown or shown & {WIDGET, PLOTLY, "text/html"}, shown
    size = saved_size(notebook, tmp_path, "magics-executed.ipynb")
    assert size <= BYTES_PER_CHART * max(1, chart_count(notebook)), size


def test_silent_notebook_shows_nothing_of_the_library(kernel_name: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(name)
    notebook = execute(NOTEBOOKS / "silent.ipynb", kernel_name, tmp_path, clean_environment(tmp_path))
    outputs = all_outputs(notebook)
    assert not [output for output in outputs if output.output_type == "error"]
    assert not [output for output in outputs if output.output_type in ("display_data", "execute_result")]
    texts = [output.get("text", "") for output in outputs if output.output_type == "stream"]
    assert texts == ["env: WANDB_SILENT=true\n"], texts  # %env's own echo, and nothing of the library
    # the runs happened all the same
    from jupyter_tracker.store.index import RunIndex

    rows = RunIndex(tmp_path / "store" / "jupyter_tracker").runs("silent-demo")
    assert sorted((row["name"], row["state"]) for row in rows) == [
        ("quiet", "finished"), ("quiet-cell", "finished"), ("quiet-python", "finished")]


def test_a_kernel_without_load_ext_shows_limit_warnings_as_boxes(kernel_name: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(name)
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nimport jupyter_tracker as jt\n"
                                  "run = jt.init(project='boxes', settings={'live': 'off'})"),
        nbformat.v4.new_code_cell("for _ in range(3):\n    jt.log({'<weights>': np.zeros(200_000)})"),
        nbformat.v4.new_code_cell("jt.finish()\nassert [w.kind for w in run.warnings] == ['value_size']"),
    ])
    path = tmp_path / "boxes.ipynb"
    nbformat.write(notebook, path)
    notebook = execute(path, kernel_name, tmp_path, clean_environment(tmp_path))
    assert not [output for output in all_outputs(notebook) if output.output_type == "error"]
    logging_cell = notebook.cells[1]
    boxes = [output for output in outputs_of(logging_cell) if "text/html" in output.get("data", {})]
    assert len(boxes) == 1, outputs_of(logging_cell)
    html = boxes[0]["data"]["text/html"]
    assert 'class="jt-limit-warning"' in html and "&lt;weights&gt;" in html and "1,000,000" in html
    assert not [output for output in outputs_of(logging_cell) if output.get("name") == "stderr"]  # no stack trace


@pytest.mark.parametrize("name", sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")
                                        if path.name not in ("magics.ipynb", "silent.ipynb")))
def test_other_notebooks_run_cleanly_and_stay_small(name: str, kernel_name: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in list(os.environ):
        if variable.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(variable)
    notebook = execute(NOTEBOOKS / name, kernel_name, tmp_path, clean_environment(tmp_path))
    outputs = all_outputs(notebook)
    assert not [output for output in outputs if output.output_type == "error"]
    assert chart_count(notebook) >= 1, json.dumps([sorted(output.get("data", {})) for output in outputs])
    size = saved_size(notebook, tmp_path, name)
    assert size <= BYTES_PER_CHART * chart_count(notebook), size


def test_quickstart_saved_through_jupyter_shows_its_charts_without_a_kernel(kernel_name: str, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """What a reader without the kernel gets: static charts in the file, in nbconvert's HTML, with no script."""
    import subprocess

    from jupyter_tracker.notebook.saved_notebook import static_outputs

    for variable in list(os.environ):
        if variable.startswith(("WANDB_", "JUPYTER_TRACKER_")):
            monkeypatch.delenv(variable)
    notebook = execute(NOTEBOOKS / "quickstart.ipynb", kernel_name, tmp_path, clean_environment(tmp_path))
    (panel,) = [output for output in outputs_of(notebook.cells[1]) if output.output_type == "display_data"]
    html = panel["data"]["text/html"]
    assert "<script" not in html and 'aria-label="train/loss"' in html, "GitHub shows HTML and SVG, never scripts"
    figure = panel["data"][PLOTLY]
    titles = {note["text"] for note in figure["layout"]["annotations"]}
    assert {"train/loss", "train/acc", "val/loss", "val/acc"} <= titles
    val_axis = next(trace["xaxis"] for trace in figure["data"] if trace["name"] == "val/acc")
    assert figure["layout"]["xaxis" + val_axis[1:]]["title"]["text"] == "epoch", "define_metric's step metric is x"

    # what a Jupyter server with the save hook writes (JupyterLab and Notebook 7 save no widget state)
    content = json.loads(nbformat.writes(notebook))
    content["metadata"].pop("widgets", None)
    assert static_outputs(content) == (1 if WIDGET in panel["data"] else 0)
    saved = tmp_path / "saved.ipynb"
    saved.write_text(json.dumps(content, indent=1), encoding="utf-8")
    assert WIDGET not in saved.read_text(encoding="utf-8")
    assert saved.stat().st_size <= BYTES_PER_CHART * len(titles)
    converted = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--stdout", str(saved)],
                               capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'aria-label="val/acc"' in converted and converted.count("<polyline") >= 8
