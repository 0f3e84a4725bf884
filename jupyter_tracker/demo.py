"""A real, small training run used by ``jupyter-tracker demo``: the README's first command.

Logistic regression trained with numpy on a synthetic two-class problem, logged step by step
with a validation pass per epoch, so a new user sees a tracked run end to end in seconds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jupyter_tracker import console, sdk


def _make_data(rng: Any, samples: int, features: int) -> tuple[Any, Any]:
    import numpy as np

    weights = rng.normal(size=features)
    inputs = rng.normal(size=(samples, features))
    logits = inputs @ weights + 0.5 * rng.normal(size=samples)
    labels = (logits > 0).astype(np.float64)
    return inputs, labels


def train(project: str = "demo", epochs: int = 20, batch_size: int = 64, learning_rate: float = 0.1,
          directory: str | Path | None = None, mode: str | None = None, seed: int = 0,
          server: tuple[str, str] | None = None) -> sdk.Run:
    """Trains and logs one run; returns the finished run (its ``dir`` holds the data).

    ``server`` is ``(base_url, api_key)`` of a tracking server to sync to while training.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    inputs, labels = _make_data(rng, 6_000, 20)
    train_x, val_x = inputs[:5_000], inputs[5_000:]
    train_y, val_y = labels[:5_000], labels[5_000:]
    connection = {"base_url": server[0], "api_key": server[1]} if server else None
    run = sdk.init(project=project, dir=str(directory) if directory else None, mode=mode, settings=connection, config={
        "learning_rate": learning_rate, "batch_size": batch_size, "epochs": epochs,
        "model": {"kind": "logistic_regression", "features": int(inputs.shape[1])},
    })
    run.define_metric("val/*", step_metric="epoch", summary="max")
    run.define_metric("train/loss", summary="min")
    weights = np.zeros(inputs.shape[1])
    batches = math.ceil(len(train_x) / batch_size)
    bar = console.progress_bar(epochs * batches, f"training {run.name}", unit="step")
    for epoch in range(epochs):
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch_x, batch_y = train_x[index], train_y[index]
            predictions = 1 / (1 + np.exp(-(batch_x @ weights)))
            loss = -np.mean(batch_y * np.log(predictions + 1e-12) + (1 - batch_y) * np.log(1 - predictions + 1e-12))
            weights -= learning_rate * batch_x.T @ (predictions - batch_y) / len(index)
            accuracy = float(np.mean((predictions > 0.5) == batch_y))
            run.log({"train/loss": float(loss), "train/acc": accuracy})
            bar.update(1)
        val_predictions = 1 / (1 + np.exp(-(val_x @ weights)))
        val_accuracy = float(np.mean((val_predictions > 0.5) == val_y))
        run.log({"val/acc": val_accuracy, "epoch": epoch}, commit=False)
        bar.set_postfix(loss=f"{float(loss):.4f}", val_acc=f"{val_accuracy:.3f}")
    bar.close()
    run.summary["final_val_acc"] = val_accuracy
    sdk.finish()
    return run
