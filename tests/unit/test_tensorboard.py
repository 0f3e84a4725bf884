"""TensorBoard into runs: init(sync_tensorboard=True) and patch() with torch's and tensorboardX's writers; import-tb."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import jupyter_tracker as jt
from jupyter_tracker.cli import main
from jupyter_tracker.tensorboard import patch, unpatch
from tests.extras import FRAMEWORKS, import_or_skip

tensorboardX = pytest.importorskip("tensorboardX")


@pytest.fixture(autouse=True)
def _unpatched(store_root: Path):  # type: ignore[no-untyped-def]
    yield
    unpatch()


def rows_of(run_id: str, keys: list[str]) -> list[dict]:
    return list(jt.Api().run(f"uncategorized/{run_id}").scan_history(keys=keys))


def test_torch_summary_writer_scalars_histograms_and_images_reach_the_run(tmp_path: Path) -> None:
    tensorboard = import_or_skip("torch.utils.tensorboard", "frameworks", FRAMEWORKS)
    run = jt.init(mode="offline", sync_tensorboard=True)
    writer = tensorboard.SummaryWriter(log_dir=str(tmp_path / "tb"))
    for step in range(5):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step * 10)
    writer.add_histogram("weights", np.random.default_rng(0).normal(size=1000), 40)
    writer.add_image("sample", np.full((3, 8, 8), 0.5, dtype=np.float32), 40)
    writer.close()
    run.finish()
    losses = rows_of(run.id, ["train/loss", "global_step"])
    assert [row["global_step"] for row in losses] == [0, 10, 20, 30, 40]
    assert [row["train/loss"] for row in losses] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2], rel=1e-6)
    [last] = rows_of(run.id, ["weights", "sample"])
    assert last["weights"]["_type"] == "histogram" and sum(last["weights"]["values"]) == 1000
    assert last["sample"]["_type"] == "image-file" and (last["sample"]["width"], last["sample"]["height"]) == (8, 8)
    assert any((tmp_path / "tb").glob("*tfevents*"))  # the event file is still written


def test_patch_logs_tensorboardx_values_as_they_are_written(tmp_path: Path) -> None:
    run = jt.init(mode="offline")
    assert "tensorboardX.event_file_writer.EventFileWriter" in patch()
    writer = tensorboardX.SummaryWriter(logdir=str(tmp_path / "tbx"))
    writer.add_scalar("acc", 0.5, 1)
    writer.add_scalar("acc", 0.75, 2)  # a new step: step 1's row is in the run now
    assert run.summary["acc"] == 0.5 and run.summary["global_step"] == 1
    writer.flush()
    assert run.summary["acc"] == 0.75
    writer.close()
    run.finish()
    assert [(row["global_step"], row["acc"]) for row in rows_of(run.id, ["acc", "global_step"])] == [(1, 0.5), (2, 0.75)]
    unpatch()
    other = jt.init(mode="offline")
    plain = tensorboardX.SummaryWriter(logdir=str(tmp_path / "after"))
    plain.add_scalar("acc", 1.0, 1)
    plain.close()
    assert "acc" not in other.summary.keys()


def test_import_tb_reads_existing_event_files_into_one_run_per_folder(tmp_path: Path) -> None:
    for name, scale in (("a", 1.0), ("b", 2.0)):
        writer = tensorboardX.SummaryWriter(logdir=str(tmp_path / "logs" / name))
        for step in range(3):
            writer.add_scalar("loss", scale * step, step)
        writer.add_histogram("w", np.arange(100.0), 2)
        writer.close()
    result = CliRunner().invoke(main, ["import-tb", str(tmp_path / "logs"), "--mode", "offline", "--project", "tb"])
    assert result.exit_code == 0, result.output
    runs = {run.name: run for run in jt.Api().runs("tb")}
    assert sorted(runs) == ["a", "b"]
    rows = list(runs["b"].scan_history(keys=["loss", "global_step"]))
    assert [(row["global_step"], row["loss"]) for row in rows] == [(0, 0.0), (1, 2.0), (2, 4.0)]
    [histogram] = list(runs["a"].scan_history(keys=["w"]))
    assert sum(histogram["w"]["values"]) == 100
    (tmp_path / "nothing").mkdir()
    empty = CliRunner().invoke(main, ["import-tb", str(tmp_path / "nothing"), "--mode", "offline"])
    assert empty.exit_code != 0 and "no TensorBoard event files" in empty.output


def test_two_writers_are_kept_apart_and_their_event_files_kept_with_the_run(tmp_path: Path) -> None:
    run = jt.init(mode="offline")
    patch(root_logdir=str(tmp_path / "runs"))
    train = tensorboardX.SummaryWriter(logdir=str(tmp_path / "runs" / "train"))
    val = tensorboardX.SummaryWriter(logdir=str(tmp_path / "runs" / "val"))
    for step in range(3):
        train.add_scalar("loss", 1.0 + step, step)
        val.add_scalar("loss", 10.0 + step, step)
    train.close()
    val.close()
    run.finish()
    rows = rows_of(run.id, ["train/loss", "val/loss", "global_step"])
    assert [(row["global_step"], row["train/loss"], row["val/loss"]) for row in rows] == [
        (0, 1.0, 10.0), (1, 2.0, 11.0), (2, 3.0, 12.0)]
    kept = sorted(path.relative_to(Path(run.dir) / "files").parts[0] for path in (Path(run.dir) / "files").rglob("*tfevents*"))
    assert kept == ["train", "val"]
