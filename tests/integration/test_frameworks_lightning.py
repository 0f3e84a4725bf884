"""Lightning's own ``WandbLogger`` (``log_model=False``, ``True``, ``"all"``) and ``watch``, unchanged, with jupyter_tracker as wandb."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker
from tests.extras import FRAMEWORKS, missing_module_mark
from tests.integration.framework_runs import only_run, run_script

# looked up, not imported: the tests' scripts import lightning
pytestmark = [pytest.mark.frameworks, pytest.mark.integration, missing_module_mark("lightning", "frameworks", FRAMEWORKS)]

TRAIN = """
    import torch, lightning as L
    from lightning.pytorch.loggers import WandbLogger

    class Regression(L.LightningModule):
        def __init__(self, hidden=8, lr=0.05):
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

        def training_step(self, batch, index):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, index):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    x = torch.randn(64, 4)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
    logger = WandbLogger(project="lightning", log_model=False)
    model = Regression()
    logger.watch(model, log="all", log_freq=4)
    trainer = L.Trainer(max_epochs=2, logger=logger, log_every_n_steps=2, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.fit(model, data, data)
    print("RUN", logger.experiment.id, logger.experiment.name)
    import wandb
    wandb.finish()

    for log_model in (True, "all"):
        project = f"lightning-log-model-{log_model}"
        logger = WandbLogger(project=project, log_model=log_model)
        checkpoints = L.pytorch.callbacks.ModelCheckpoint(monitor="val_loss", mode="min",
                                                          save_top_k=-1 if log_model == "all" else 1)
        trainer = L.Trainer(max_epochs=2, logger=logger, callbacks=[checkpoints], default_root_dir=project,
                            enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1)
        trainer.fit(Regression(), data, data)
        print("BEST", project, checkpoints.best_model_path)
        wandb.finish()
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("lightning")
    output = run_script(directory, TRAIN, JUPYTER_TRACKER_AS_WANDB="1")
    return directory, output


def test_the_run_is_recorded_and_finished(trained):
    directory, output = trained
    run = only_run(directory, "lightning")
    assert f"RUN {run.id} {run.name}" in output
    assert run.state == "finished"


def test_hyperparameters_are_the_config(trained):
    run = only_run(trained[0], "lightning")
    assert dict(run.config) == {"hidden": 8, "lr": 0.05}


def test_metrics_are_at_their_global_steps(trained):
    run = only_run(trained[0], "lightning")
    rows = run.history(pandas=False)
    train_steps = [row["trainer/global_step"] for row in rows if "train_loss" in row]
    # 8 batches an epoch, logged every 2 steps (Lightning logs the step before it advances)
    assert train_steps == [1, 3, 5, 7, 9, 11, 13, 15]
    validation = [(row["trainer/global_step"], row["epoch"]) for row in rows if "val_loss" in row]
    assert validation == [(7, 0), (15, 1)]
    assert run.summary["val_loss"] == [row["val_loss"] for row in rows if "val_loss" in row][-1]


def test_watch_logs_gradient_and_parameter_histograms(trained):
    run = only_run(trained[0], "lightning")
    rows = run.history(pandas=False)
    names = ("net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias")
    with_gradients = [row for row in rows if "gradients/net.0.weight" in row]
    assert with_gradients, "watch logged no gradients"
    for row in with_gradients:
        assert all(f"gradients/{name}" in row and f"parameters/{name}" in row for name in names)
        assert sum(row["parameters/net.0.weight"]["values"]) == 32  # the 8x4 weights
    assert len(with_gradients) == 4  # 16 training steps (plus validation forwards) at log_freq=4


@pytest.mark.parametrize(("log_model", "versions"), [("True", 1), ("all", 2)])
def test_log_model_keeps_checkpoints_as_model_artifacts(trained, log_model, versions):
    directory, output = trained
    project = f"lightning-log-model-{log_model}"
    run = only_run(directory, project)
    logged = jupyter_tracker.Api(overrides={"dir": str(directory)}).artifacts("model", f"{project}/model-{run.id}")
    assert len(logged) == versions  # True: the best checkpoint at the end; "all": each one as it is saved
    best = next(artifact for artifact in logged if "best" in artifact.aliases)
    assert "latest" in logged[-1].aliases
    assert [file.name for file in best.files()] == ["model.ckpt"]
    best_path = Path(output.split(f"BEST {project} ")[1].splitlines()[0])
    assert best.metadata["original_filename"] == best_path.name
    assert best.files()[0].size == (directory / best_path).stat().st_size
