"""accelerate's ``Accelerator(log_with="wandb")`` under ``accelerate launch`` with 2 CPU processes.

Started as ``jupyter-tracker run -- accelerate launch ...``: the opt-in travels through the
launcher to both worker processes, and the main process's tracker records one run.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from tests.extras import FRAMEWORKS, missing_module_mark
from tests.integration.framework_runs import only_run, run_script

# looked up, not imported: the tests' scripts import accelerate
pytestmark = [pytest.mark.frameworks, pytest.mark.integration, missing_module_mark("accelerate", "frameworks", FRAMEWORKS)]

TRAIN = """
    import torch
    from accelerate import Accelerator

    accelerator = Accelerator(log_with="wandb", cpu=True)
    accelerator.init_trackers("accelerate", config={"lr": 0.05, "hidden": 8})
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(64, 4)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
    model, optimizer, data = accelerator.prepare(model, optimizer, data)
    step = 0
    for epoch in range(2):
        for inputs, targets in data:
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            mean_loss = accelerator.reduce(loss.detach(), "mean").item()
            accelerator.log({"loss": mean_loss, "processes": accelerator.num_processes, "epoch": epoch}, step=step)
            step += 1
    accelerator.end_training()
    print("worker", accelerator.process_index, "of", accelerator.num_processes, "done")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("accelerate")
    binaries = Path(sys.executable).parent
    command = [str(binaries / "jupyter-tracker"), "run", "--", str(binaries / "accelerate"), "launch",
               "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port())]
    output = run_script(directory, TRAIN, command=command)
    return directory, output


def test_both_workers_ran_and_the_main_process_recorded_one_run(trained):
    directory, output = trained
    assert "worker 0 of 2 done" in output and "worker 1 of 2 done" in output
    run = only_run(directory, "accelerate")
    assert run.state == "finished"
    assert dict(run.config) == {"lr": 0.05, "hidden": 8}


def test_metrics_are_at_their_steps(trained):
    rows = only_run(trained[0], "accelerate").history(pandas=False)
    # 64 samples in batches of 8 shared by 2 processes: 4 steps an epoch, 2 epochs
    assert [row["_step"] for row in rows] == list(range(8))
    assert [row["epoch"] for row in rows] == [0] * 4 + [1] * 4
    assert all(row["processes"] == 2 for row in rows)
    assert all(row["loss"] > 0 for row in rows)
