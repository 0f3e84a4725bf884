"""Keras 3 (torch backend) with ``WandbMetricsLogger``, ``WandbModelCheckpoint`` and ``WandbEvalCallback`` from ``wandb.integration.keras``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.extras import FRAMEWORKS, missing_module_mark
from tests.integration.framework_runs import only_run, run_script

# looked up, not imported: the tests' scripts import keras
pytestmark = [pytest.mark.frameworks, pytest.mark.integration, missing_module_mark("keras", "frameworks", FRAMEWORKS)]

TRAIN = """
    import numpy as np
    import jupyter_tracker

    jupyter_tracker.as_wandb()
    import keras
    import wandb
    from wandb.integration.keras import WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint

    run = wandb.init(project="keras", config={"units": 8})
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    y = x.sum(axis=1, keepdims=True)

    class Predictions(WandbEvalCallback):
        def __init__(self):
            super().__init__(["index", "target"], ["epoch", "index", "prediction"])

        def add_ground_truth(self, logs=None):
            for index in range(4):
                self.data_table.add_data(index, float(y[index, 0]))

        def add_model_predictions(self, epoch, logs=None):
            predictions = self.model.predict(x[:4], verbose=0)
            for index in range(4):
                self.pred_table.add_data(epoch, index, float(predictions[index, 0]))
            print("predictions", epoch, [round(float(value), 6) for value in predictions[:, 0]])

    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[WandbMetricsLogger(log_freq=2),
                                   WandbModelCheckpoint("checkpoints/model-{epoch:02d}.keras"), Predictions()])
    print("val_loss", history.history["val_loss"])
    wandb.finish()
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("keras")
    output = run_script(directory, TRAIN, KERAS_BACKEND="torch")
    return directory, output


def test_epoch_metrics_are_at_their_epochs(trained):
    directory, output = trained
    run = only_run(directory, "keras")
    assert run.state == "finished" and dict(run.config) == {"units": 8}
    epochs = [row for row in run.history(pandas=False) if "epoch/epoch" in row]
    assert [row["epoch/epoch"] for row in epochs] == [0, 1, 2]
    val_losses = [row["epoch/val_loss"] for row in epochs]
    assert f"val_loss {val_losses}" in output  # the very numbers Keras reported
    assert all(row["epoch/learning_rate"] == pytest.approx(0.01) for row in epochs)
    assert all({"epoch/loss", "epoch/mae", "epoch/val_mae"} <= set(row) for row in epochs)


def test_batch_metrics_every_second_batch(trained):
    rows = only_run(trained[0], "keras").history(pandas=False)
    # 48 training samples in batches of 16: batches 0, 1, 2 an epoch, logged at 0 and 2
    assert [row["batch/batch_step"] for row in rows if "batch/loss" in row] == [0, 2, 4, 6, 8, 10]


def test_checkpoints_are_kept_with_the_run(trained):
    run = only_run(trained[0], "keras")
    names = {file.name for file in run.files()}
    assert {"model-01.keras", "model-02.keras", "model-03.keras"} <= names
    assert run.summary["checkpoint/last"] == "model-03.keras"


def test_eval_callback_logs_the_data_and_prediction_tables(trained):
    directory, output = trained
    run = only_run(directory, "keras")
    truth = run.table("val/val_data")
    assert list(truth.columns) == ["index", "target"] and len(truth) == 4
    predictions = run.table("eval/eval_data")  # the last epoch's
    assert list(predictions.columns) == ["epoch", "index", "prediction"]
    assert predictions["epoch"].tolist() == [2, 2, 2, 2]
    expected = output.split("predictions 2 ")[1].splitlines()[0]
    assert [round(value, 6) for value in predictions["prediction"]] == json.loads(expected)
