"""``tf.summary`` into runs: a TensorFlow program's scalars, histograms and images reach its run as it writes them; import-tb."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import jupyter_tracker
from jupyter_tracker.cli import main
from tests.extras import TENSORFLOW, missing_module_mark
from tests.integration.framework_runs import clean_environment

# looked up, not imported: the tests' scripts import tensorflow
pytestmark = [pytest.mark.frameworks, pytest.mark.integration, missing_module_mark("tensorflow", "tensorflow", TENSORFLOW)]

#: the program pauses after its first flush (``flushed`` appears; the watcher reads the file within its next poll)
#: until the test writes ``go on``, then writes two
#: steps without flushing (TensorFlow writes each to the file itself: ``max_queue=1``) and waits for ``finish``
PROGRAM = """
    import sys, time
    from pathlib import Path
    import numpy as np
    import tensorflow as tf
    import jupyter_tracker

    here = Path(sys.argv[1])
    run = jupyter_tracker.init(project="tf", sync_tensorboard=True)
    writer = tf.summary.create_file_writer(str(here / "logs" / "train"), max_queue=1)
    rng = np.random.default_rng(0)
    with writer.as_default():
        for step in range(3):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
        tf.summary.histogram("weights", rng.normal(size=1000).astype("float32"), step=2)
        tf.summary.image("sample", np.full((1, 8, 6, 3), 0.5, dtype="float32"), step=2)
        writer.flush()
        (here / "flushed").write_text(run.id)
        def wait_for(name):
            deadline = time.time() + 50
            while not (here / name).exists() and time.time() < deadline:
                time.sleep(0.1)

        wait_for("go on")
        tf.summary.scalar("loss", 0.2, step=3)
        tf.summary.scalar("loss", 0.1, step=4)
        (here / "unflushed").write_text("")
        wait_for("finish")
    writer.close()
    run.finish()
"""


def rows(directory: Path, run_id: str, keys: list[str]) -> list[dict[str, Any]]:
    api = jupyter_tracker.Api(overrides={"dir": str(directory)})
    return list(api.run(f"tf/{run_id}").scan_history(keys=keys))


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs the program; returns its folder, its run id, and the loss rows read while it paused after its flush and
    after writing unflushed steps."""
    directory = tmp_path_factory.mktemp("tf")
    script = directory / "train.py"
    script.write_text(textwrap.dedent(PROGRAM))
    process = subprocess.Popen([sys.executable, str(script), str(directory)], cwd=directory, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_environment(directory))
    try:
        deadline = time.time() + 50
        while not (directory / "flushed").exists():
            assert process.poll() is None and time.time() < deadline, process.communicate()[0][-4000:]
            time.sleep(0.2)
        run_id = (directory / "flushed").read_text()
        while_running: list[dict[str, Any]] = []
        while len(while_running) < 3 and time.time() < deadline:  # the flushed file is read at the next poll
            time.sleep(0.2)
            while_running = rows(directory, run_id, ["loss", "global_step"])
        (directory / "go on").write_text("")
        while not (directory / "unflushed").exists():
            assert process.poll() is None and time.time() < deadline, process.communicate()[0][-4000:]
            time.sleep(0.2)
        polled: list[dict[str, Any]] = []
        while len(polled) < 4 and time.time() < deadline:  # the event file is read every second
            time.sleep(0.5)
            polled = rows(directory, run_id, ["loss", "global_step"])
        (directory / "finish").write_text("")
        output, _ = process.communicate(timeout=50)
    finally:
        process.kill()
    assert process.returncode == 0, output[-4000:]
    return directory, run_id, while_running, polled


def test_tf_summary_scalars_reach_the_run_before_the_writer_closes(program: tuple[Path, str, list, list]) -> None:
    directory, run_id, while_running, polled = program
    assert [(row["global_step"], row["loss"]) for row in while_running] == [
        (0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3, rel=1e-6))]
    # without a flush: step 3 is read from the file by the poll, and written once step 4 shows it complete
    assert [row["global_step"] for row in polled] == [0, 1, 2, 3]
    after = rows(directory, run_id, ["loss", "global_step"])
    assert [row["global_step"] for row in after] == [0, 1, 2, 3, 4]
    assert [row["loss"] for row in after[3:]] == pytest.approx([0.2, 0.1], rel=1e-6)


def test_tf_summary_histograms_and_images_reach_the_run_at_their_step(program: tuple[Path, str, list, list]) -> None:
    directory, run_id, _, _ = program
    [row] = rows(directory, run_id, ["weights", "sample", "global_step"])
    assert row["global_step"] == 2
    assert row["weights"]["_type"] == "histogram" and sum(row["weights"]["values"]) == pytest.approx(1000)
    assert row["sample"]["_type"] == "image-file" and (row["sample"]["width"], row["sample"]["height"]) == (6, 8)


def test_import_tb_reads_tf_summary_event_files(program: tuple[Path, str, list, list], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    directory, _, _, _ = program
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["import-tb", str(directory / "logs"), "--mode", "offline", "--project", "tb-tf"])
    assert result.exit_code == 0, result.output
    assert "tensorflow" not in sys.modules  # read with TensorBoard's own reader: no seconds-long TensorFlow import
    [run] = list(jupyter_tracker.Api(overrides={"dir": str(tmp_path)}).runs("tb-tf"))
    assert run.name == "train"
    losses = list(run.scan_history(keys=["loss", "global_step"]))
    assert [row["global_step"] for row in losses] == [0, 1, 2, 3, 4]
    assert [row["loss"] for row in losses] == pytest.approx([1.0, 0.5, 1 / 3, 0.2, 0.1], rel=1e-6)
    [media] = list(run.scan_history(keys=["weights", "sample"]))
    assert sum(media["weights"]["values"]) == pytest.approx(1000)
    assert (media["sample"]["width"], media["sample"]["height"]) == (6, 8)
