"""The live panel on a real IPython kernel without a browser (nbclient), in its widget and static modes.

Checks what a notebook saved after such a run holds: the view under the cell that started the
run, the final charts at ``finish()`` (a display update, no ``clear_output``), no errors, no
prints of ours, and the size bound of at most ~200 KB per chart.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.extras import SYSTEM, skip_or_fail

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.integration

SETUP = """\
import time
import jupyter_tracker as jt
from jupyter_tracker.notebook.live_panel import show_live_panel
run = jt.init(project="live-kernel", mode="offline", settings={{"live": "off"}})
panel = show_live_panel(run, mode={mode!r})
print("panel mode:", panel.mode)"""

TRAIN = """\
import numpy as np
print("user output before")
for step in range(400):
    media = {}
    if step % 40 == 0:
        media = {"samples": jt.Image(np.full((16, 16, 3), step % 256, np.uint8), caption=f"step {step}"),
                 "weights": jt.Histogram(np.random.normal(step / 100, 1.0, 200))}
    jt.log({"train/loss": 1.0 / (step + 1), "train/acc": step / 400, "lr": 0.1, **media})
    time.sleep(0.006)
print("user output after")"""

FINISH = """\
jt.finish()
print("refreshes:", panel.refreshes)"""


def _run_notebook(tmp_path: Path, mode: str) -> tuple[nbformat.NotebookNode, Path]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SETUP.format(mode=mode)), nbformat.v4.new_code_cell(TRAIN),
                      nbformat.v4.new_code_cell(FINISH)]
    environment_backup = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith(("WANDB_", "JUPYTER_TRACKER_")):
                del os.environ[name]
        os.environ["WANDB_DIR"] = str(tmp_path / "store")
        client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(environment_backup)
    path = tmp_path / f"{mode}.ipynb"
    nbformat.write(notebook, path)
    return notebook, path


def _outputs(cell: nbformat.NotebookNode, kind: str) -> list[nbformat.NotebookNode]:
    return [output for output in cell.outputs if output.output_type == kind]


def _check_common(notebook: nbformat.NotebookNode, path: Path, charts: int) -> dict:  # type: ignore[type-arg]
    for cell in notebook.cells:
        assert not _outputs(cell, "error"), cell.outputs
    stream = "".join(output.text for cell in notebook.cells for output in _outputs(cell, "stream"))
    assert "user output before" in stream and "user output after" in stream, "the user's prints survive"
    for cell in notebook.cells[1:]:
        assert not _outputs(cell, "display_data"), "the panel lives only under the cell that started the run"
    displays = _outputs(notebook.cells[0], "display_data")
    assert len(displays) == 1, [sorted(output.data) for output in displays]
    assert path.stat().st_size <= 200_000 * charts + 50_000, path.stat().st_size
    return displays[0].data


def _final_figure(data: dict) -> dict:  # type: ignore[type-arg]
    figure = data["application/vnd.plotly.v1+json"]
    return {trace["name"]: trace for trace in figure["data"] if "(raw)" not in trace["name"]}


def test_static_mode_updates_one_display_in_place(tmp_path: Path) -> None:
    notebook, path = _run_notebook(tmp_path, "static")
    data = _check_common(notebook, path, charts=3)
    assert "panel mode: static" in "".join(output.text for output in _outputs(notebook.cells[0], "stream"))
    assert "application/vnd.jupyter.widget-view+json" not in data
    assert "<svg" in data["text/html"] and "<script" not in data["text/html"]
    traces = _final_figure(data)
    assert {name for name in traces if not name.startswith("system/")} == {"train/loss", "train/acc", "lr"}
    assert len(traces["train/loss"]["x"]) == 400, "the saved figure is the final one, with every step"
    refreshes = int("".join(o.text for o in _outputs(notebook.cells[2], "stream")).split("refreshes:")[1].split()[0])
    assert refreshes >= 2, "the figure was updated while the training cell ran"


def test_widget_mode_shows_the_widget_with_a_static_fallback(tmp_path: Path) -> None:
    pytest.importorskip("anywidget")
    notebook, path = _run_notebook(tmp_path, "widget")
    data = _check_common(notebook, path, charts=3)
    assert "application/vnd.jupyter.widget-view+json" in data
    model_id = data["application/vnd.jupyter.widget-view+json"]["model_id"]
    traces = _final_figure(data)
    assert len(traces["train/loss"]["x"]) == 400, "frontends without widgets read the final static figure"
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    if model_id in state:
        saved = json.dumps(state[model_id])
        assert len(saved) < 400_000, "plotly.js is dropped from the saved widget state at finish"
        assert state[model_id]["state"]["header"]["state"] == "finished"
        media = state[model_id]["state"]["_media_index"]
        assert [entry["key"] for entry in media["images"]] == ["samples"]
        assert [step["step"] for step in media["images"][0]["steps"]] == list(range(0, 400, 40))
        assert media["histograms"][0]["key"] == "weights" and len(media["histograms"][0]["steps"]) == 10


BUSY_SETUP = """\
import time
import jupyter_tracker as jt
from jupyter_tracker.notebook.live_panel import show_live_panel
run = jt.init(project="live-busy", mode="offline", settings={"live": "off"})
panel = show_live_panel(run, mode="widget")
for step in range(3):
    jt.log({f"metric_{i}": float(step * 1000 + i) for i in range(500)})
run.flush()
print("comm", panel.widget.comm.comm_id, panel.hears_browser_while_busy)"""

BUSY_TRAINING = """\
began = time.monotonic()
sent = []
while time.monotonic() - began < 20:
    jt.log({f"metric_{i}": 1.0 for i in range(500)})
    sent = [metric["name"] for metric in panel.widget._index.get("metrics", [])]
    if "metric_321" in sent:
        break
    time.sleep(0.05)
print("heard", "metric_321" in sent, round(time.monotonic() - began, 2))"""


def test_the_browser_is_heard_while_the_training_cell_runs(tmp_path: Path) -> None:
    """The view's message (which charts are on screen) reaches the panel during a busy cell, not after it."""
    pytest.importorskip("anywidget")
    ipykernel = pytest.importorskip("ipykernel")
    if int(ipykernel.__version__.split(".")[0]) < 7:
        skip_or_fail("kernel subshells (which let the browser reach a busy kernel) came with ipykernel 7", SYSTEM)
    from jupyter_client.manager import start_new_kernel

    environment = {key: value for key, value in os.environ.items() if not key.startswith(("WANDB_", "JUPYTER_TRACKER_"))}
    environment["WANDB_DIR"] = str(tmp_path / "store")
    manager, client = start_new_kernel(kernel_name="python3", env=environment, cwd=str(tmp_path))
    try:
        def run_cell(code: str) -> str:
            message_id = client.execute(code)
            text = []
            while True:
                message = client.get_iopub_msg(timeout=60)
                if message["parent_header"].get("msg_id") != message_id:
                    continue
                if message["msg_type"] == "stream":
                    text.append(message["content"]["text"])
                elif message["msg_type"] == "error":
                    raise AssertionError("\n".join(message["content"]["traceback"]))
                elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    return "".join(text)

        words = run_cell(BUSY_SETUP).split()
        comm_id, routed = words[words.index("comm") + 1], words[words.index("comm") + 2]
        assert routed == "True", "this ipykernel has subshells: the panel's comm goes to one"
        message_id = client.execute(BUSY_TRAINING)
        time.sleep(1.0)  # the cell is running now
        view = {"method": "custom", "content": {"type": "view", "view": "test", "visible": ["metric_321"],
                                                "missing": ["metric_321"]}}
        request = client.session.msg("comm_msg", {"comm_id": comm_id, "data": view})
        client.shell_channel.send(request)
        output = []
        statuses = []
        while True:
            message = client.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") == request["header"]["msg_id"] and message["msg_type"] == "status":
                statuses.append(message["content"]["execution_state"])
            if message["parent_header"].get("msg_id") != message_id:
                continue
            if message["msg_type"] == "stream":
                output.append(message["content"]["text"])
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        heard = "".join(output).split()
        assert heard[:2] == ["heard", "True"], heard
        assert float(heard[2]) < 10, "the chart on screen was sent while the cell ran"
        assert statuses == [], "the view message must not make the frontend show the busy kernel as idle"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
