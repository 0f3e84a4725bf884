"""The installed ``jupyter-tracker`` command: ``ls``, ``export``, ``offline``, ``online``, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import jupyter_tracker
from jupyter_tracker.settings import read_settings_file

pytestmark = pytest.mark.integration


def _command() -> str:
    beside = Path(sys.executable).with_name("jupyter-tracker")
    found = str(beside) if beside.exists() else shutil.which("jupyter-tracker")
    if found is None:
        pytest.fail("the jupyter-tracker console script is not installed (pip install -e .)")
    return found


def cli(*arguments: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_command(), *arguments], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env=env if env is not None else dict(os.environ))


def make_run(project: str = "mnist", steps: int = 10, **options: Any) -> jupyter_tracker.Run:
    run = jupyter_tracker.init(project=project, mode="offline", settings={"console": "off"}, **options)
    for step in range(steps):
        run.log({"loss": 1 / (step + 1), "acc": step / steps})
        if step % 100 == 0:
            run.log({"val/acc": step / 1000, "weights": [step, step + 1]}, commit=False)
    jupyter_tracker.finish(quiet=True)
    return run


@pytest.fixture
def runs(store_root: Path) -> list[jupyter_tracker.Run]:
    return [
        make_run(steps=1_200, config={"lr": 0.01}, group="exp-42"),
        make_run(steps=5, config={"lr": 0.1}),
        make_run(project="cifar", steps=3),
    ]


def test_help_explains_every_store_command() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for name in ("ls", "export", "offline", "online"):
        assert f"  {name} " in result.stdout
    assert "Examples" in cli("ls", "--help").stdout
    export_help = cli("export", "--help").stdout
    assert "RUN is a run id" in export_help and "--format [csv|parquet]" in export_help


def test_ls_lists_every_run_newest_first(runs: list[jupyter_tracker.Run]) -> None:
    result = cli("ls")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "PROJECT", "STATE", "CREATED", "RUNTIME", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:4]] == [run.id for run in reversed(runs)]
    assert runs[0].name in result.stdout and "finished" in result.stdout and "loss=" in result.stdout
    assert lines[-1].startswith("3 runs in ")


def test_ls_project_filter_order_and_limit(runs: list[jupyter_tracker.Run]) -> None:
    only = cli("ls", "--project", "cifar").stdout
    assert runs[2].id in only and runs[0].id not in only
    filtered = cli("ls", "--filter", '{"config.lr": {"$lt": 0.05}}').stdout
    assert runs[0].id in filtered and runs[1].id not in filtered
    ordered = cli("ls", "--project", "mnist", "--order", "+config.lr").stdout.splitlines()
    assert [line.split()[0] for line in ordered[1:3]] == [runs[0].id, runs[1].id]
    limited = cli("ls", "--limit", "1").stdout
    assert "3 runs in" in limited and "(showing 1)" in limited


def test_ls_json(runs: list[jupyter_tracker.Run]) -> None:
    listed = json.loads(cli("ls", "--json", "--project", "mnist").stdout)
    assert [entry["id"] for entry in listed] == [runs[1].id, runs[0].id]
    first = listed[1]
    assert first["config"] == {"lr": 0.01} and first["group"] == "exp-42" and first["state"] == "finished"
    assert first["summary"]["loss"] == pytest.approx(1 / 1_200)


def test_ls_in_an_empty_store_and_bad_input(store_root: Path, tmp_path: Path) -> None:
    result = cli("ls", "--dir", str(tmp_path / "empty"))
    assert result.returncode == 0 and "No runs" in result.stdout
    assert not (tmp_path / "empty").exists()
    bad = cli("ls", "--filter", "{not json")
    assert bad.returncode == 2 and "--filter" in bad.stderr
    wrong = cli("ls", "--filter", '{"state": {"$like": "x"}}')
    assert wrong.returncode == 2 and "unknown operator" in wrong.stderr


def test_ls_reads_another_store_with_dir(runs: list[jupyter_tracker.Run], tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "WANDB_DIR"}
    result = cli("ls", "--dir", str(tmp_path), cwd=tmp_path.parent, env=env)
    assert result.returncode == 0 and runs[0].id in result.stdout


def test_export_csv_has_every_row(runs: list[jupyter_tracker.Run], tmp_path: Path) -> None:
    import pandas

    result = cli("export", runs[0].id, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1,200 rows" in result.stdout
    frame = pandas.read_csv(tmp_path / f"{runs[0].id}.csv")
    assert len(frame) == 1_200 and list(frame["_step"]) == list(range(1_200))
    assert list(frame.columns)[0] == "_step" and list(frame.columns)[-2:] == ["_runtime", "_timestamp"]
    assert frame["loss"].iloc[-1] == pytest.approx(1 / 1_200)
    assert json.loads(frame["weights"].dropna().iloc[1]) == [100, 101]


def test_export_parquet_by_path(runs: list[jupyter_tracker.Run], tmp_path: Path) -> None:
    import pandas

    target = tmp_path / "out" / "run.parquet"
    result = cli("export", f"mnist/{runs[0].id}", "--format", "parquet", "--output", str(target))
    assert result.returncode == 0, result.stderr
    frame = pandas.read_parquet(target)
    assert len(frame) == 1_200 and frame["val/acc"].notna().sum() == 12
    inferred = cli("export", f"mnist/{runs[1].id}", "-o", str(tmp_path / "small.parquet"))
    assert inferred.returncode == 0 and len(pandas.read_parquet(tmp_path / "small.parquet")) == 5


def test_export_a_run_directory_with_keys_to_stdout(runs: list[jupyter_tracker.Run]) -> None:
    result = cli("export", runs[0].dir, "--keys", "val/acc", "-o", "-")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "_step,val/acc,_runtime,_timestamp"
    assert len(lines) == 13 and lines[1].startswith("1,0.0,")
    assert "12 rows" in result.stderr
    several = cli("export", runs[0].id, "-k", "loss,val/acc", "-o", "-").stdout.splitlines()
    assert several[0] == "_step,loss,val/acc,_runtime,_timestamp" and len(several) == 1_201


def test_export_of_an_unknown_run_says_what_to_do(runs: list[jupyter_tracker.Run], tmp_path: Path) -> None:
    result = cli("export", "nosuchrun")
    assert result.returncode == 1
    assert "no run 'nosuchrun'" in result.stderr and "jupyter-tracker ls" in result.stderr
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    assert "not a run directory" in cli("export", str(plain_dir)).stderr


def test_offline_and_online_write_the_directory_settings_file(store_root: Path, tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "WANDB_MODE"}
    result = cli("offline", cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert read_settings_file(work) == {"mode": "offline"}
    assert "Offline" in result.stdout and str(work / "jupyter_tracker" / "settings") in result.stdout
    check = subprocess.run(
        [sys.executable, "-c", "from jupyter_tracker.settings import resolve; print(resolve().mode)"],
        capture_output=True, text=True, cwd=work, env=env, timeout=60,
    )
    assert check.stdout.strip() == "offline"
    result = cli("online", cwd=work, env=env)
    assert result.returncode == 0 and read_settings_file(work) == {"mode": "online"}
    assert "Online" in result.stdout and "undo with `jupyter-tracker offline`" in result.stdout
    noted = cli("offline", cwd=work, env={**env, "WANDB_MODE": "online"})
    assert "WANDB_MODE=online" in noted.stdout and "takes precedence" in noted.stdout
