"""``watch``: gradient and parameter histograms of a torch model every ``log_freq`` steps, read back through the Api."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jupyter_tracker
from jupyter_tracker import UsageError
from tests.extras import FRAMEWORKS, import_or_skip

torch = import_or_skip("torch", "frameworks", FRAMEWORKS)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def _train(run, model, steps: int) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model(torch.randn(16, 4)).pow(2).mean()
        loss.backward()
        optimizer.step()
        run.log({"loss": loss.item()})


def _history(store_root, run):
    run.finish(quiet=True)
    return jupyter_tracker.Api(overrides={"dir": str(store_root.parent)}).run(f"{run.project}/{run.id}").history(pandas=False)


def test_watch_all_logs_gradients_and_parameters_every_log_freq_steps(store_root):
    run = jupyter_tracker.init(project="watch")
    model = _model()
    jupyter_tracker.watch(model, log="all", log_freq=3)
    _train(run, model, 7)
    rows = _history(store_root, run)
    names = [name for name, _ in model.named_parameters()]
    for row in rows:
        logged = row["_step"] in (2, 5)  # the 3rd and 6th forward calls
        for name in names:
            assert (f"gradients/{name}" in row) == logged, (row["_step"], name)
            assert (f"parameters/{name}" in row) == logged
    histogram = rows[2]["parameters/0.weight"]
    assert histogram["_type"] == "histogram"
    assert sum(histogram["values"]) == 32  # every weight of the 4x8 layer
    assert len(histogram["bins"]) == 65


def test_gradients_only_by_default_and_run_watch(store_root):
    run = jupyter_tracker.init(project="watch")
    model = _model()
    run.watch(model, log_freq=2)
    _train(run, model, 4)
    rows = _history(store_root, run)
    keys = set().union(*rows)
    assert any(key.startswith("gradients/") for key in keys)
    assert not any(key.startswith("parameters/") for key in keys)


def test_unwatch_removes_every_hook(store_root):
    run = jupyter_tracker.init(project="watch")
    model = _model()
    jupyter_tracker.watch(model, log="all", log_freq=1)
    jupyter_tracker.unwatch(model)
    assert not any(module._forward_pre_hooks for module in model.modules())
    _train(run, model, 2)
    rows = _history(store_root, run)
    assert set().union(*rows) <= {"loss", "_step", "_runtime", "_timestamp"}


def test_watch_refuses_what_it_cannot_watch(store_root):
    with pytest.raises(UsageError, match="init"):
        jupyter_tracker.watch(_model())
    jupyter_tracker.init(project="watch")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        jupyter_tracker.watch(object())
    with pytest.raises(ValueError, match="log="):
        jupyter_tracker.watch(_model(), log="weights")
    with pytest.raises(ValueError, match="log_freq"):
        jupyter_tracker.watch(_model(), log_freq=0)


def test_watch_never_imports_torch_for_other_objects(tmp_path):
    code = ("import sys, jupyter_tracker as jt\njt.init(project='p', mode='offline')\n"
            "try:\n    jt.watch(object())\nexcept TypeError:\n    pass\nprint('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={"WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
