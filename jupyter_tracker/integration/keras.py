"""Keras 3 callbacks, as ``wandb.integration.keras``: metrics, checkpoints and evaluation tables.

``WandbMetricsLogger`` logs ``epoch/<metric>`` (x-axis ``epoch/epoch``) and, with
``log_freq="batch"`` or every N batches, ``batch/<metric>`` (x-axis ``batch/batch_step``).
``WandbModelCheckpoint`` is Keras' ``ModelCheckpoint`` whose files are kept with the run.
``WandbEvalCallback`` builds prediction tables at the end of epochs.

>>> model.fit(x, y, callbacks=[WandbMetricsLogger(), WandbModelCheckpoint("model.keras")])  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
from typing import Any

import keras

from jupyter_tracker import sdk

__all__ = ["WandbEvalCallback", "WandbMetricsLogger", "WandbModelCheckpoint"]


def _current_run(what: str) -> Any:
    run = sdk.current_run()
    if run is None:
        raise sdk.UsageError(f"call wandb.init() (jupyter_tracker.init()) before using {what}")
    return run


def _numbers(logs: dict[str, Any] | None) -> dict[str, Any]:
    """Keras' logs as plain floats (they may be tensors or numpy scalars)."""
    values: dict[str, Any] = {}
    for key, value in (logs or {}).items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            continue
    return values


class WandbMetricsLogger(keras.callbacks.Callback):
    """Logs Keras' metrics and the learning rate at the end of each epoch (and batch, if asked)."""

    def __init__(self, log_freq: str | int = "epoch", initial_global_step: int = 0, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        run = _current_run("WandbMetricsLogger")
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and (isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1):
            raise ValueError(f"WandbMetricsLogger(log_freq=...) must be 'epoch', 'batch' or a positive int, not {log_freq!r}")
        self.logging_batch_wise = log_freq != "epoch"
        self.log_freq: int | None = log_freq if self.logging_batch_wise else None  # type: ignore[assignment]
        self.global_batch = 0
        self.global_step = initial_global_step
        run.define_metric("epoch/epoch")
        run.define_metric("epoch/*", step_metric="epoch/epoch")
        if self.logging_batch_wise:
            run.define_metric("batch/batch_step")
            run.define_metric("batch/*", step_metric="batch/batch_step")

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        rate = getattr(optimizer, "learning_rate", None)
        if rate is None:
            return None
        try:
            return float(keras.ops.convert_to_numpy(rate))
        except Exception:
            return None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = {f"epoch/{key}": value for key, value in _numbers(logs).items()}
        row["epoch/epoch"] = epoch
        rate = self._learning_rate()
        if rate is not None:
            row["epoch/learning_rate"] = rate
        _current_run("WandbMetricsLogger").log(row)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if self.logging_batch_wise and self.log_freq and batch % self.log_freq == 0:
            row = {f"batch/{key}": value for key, value in _numbers(logs).items()}
            row["batch/batch_step"] = self.global_batch
            rate = self._learning_rate()
            if rate is not None:
                row["batch/learning_rate"] = rate
            _current_run("WandbMetricsLogger").log(row)
            self.global_batch += self.log_freq

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs)


class WandbModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras' ``ModelCheckpoint``; every file it writes is also kept with the run (under ``files/``).

    Takes ``ModelCheckpoint``'s arguments. Each saved checkpoint is recorded in the run's
    summary under ``checkpoint/last`` (and ``checkpoint/epoch``).
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None,
                 **kwargs: Any) -> None:
        _current_run("WandbModelCheckpoint")
        super().__init__(filepath=str(filepath), monitor=monitor, verbose=verbose, save_best_only=save_best_only,
                         save_weights_only=save_weights_only, mode=mode, save_freq=save_freq,
                         initial_value_threshold=initial_value_threshold, **kwargs)
        self._kept: dict[str, float] = {}

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_train_batch_end(batch, logs)
        if self.save_freq != "epoch":
            self._keep_new_files(None)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if self.save_freq == "epoch":
            self._keep_new_files(epoch)

    def _keep_new_files(self, epoch: int | None) -> None:
        run = _current_run("WandbModelCheckpoint")
        pattern = _as_glob(self.filepath)
        for path in sorted(glob.glob(pattern)) or sorted(glob.glob(pattern + ".*")):
            modified = os.path.getmtime(path)
            if self._kept.get(path) == modified:
                continue
            self._kept[path] = modified
            run.save(os.path.abspath(path), base_path=os.path.dirname(os.path.abspath(path)), policy="now")
            run.summary["checkpoint/last"] = os.path.basename(path)
            if epoch is not None:
                run.summary["checkpoint/epoch"] = epoch


def _as_glob(filepath: str) -> str:
    """``model-{epoch:02d}.keras`` as the glob ``model-*.keras``: every file the pattern can name."""
    out, depth = [], 0
    for char in filepath:
        if char == "{":
            if depth == 0:
                out.append("*")
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out)


class WandbEvalCallback(keras.callbacks.Callback):
    """Builds a data table once and a prediction table at the end of each epoch (or of training).

    Subclass it and define ``add_ground_truth(logs)`` (fill ``self.data_table``) and
    ``add_model_predictions(epoch, logs)`` (fill ``self.pred_table``), as with wandb.
    """

    def __init__(self, data_table_columns: list[str], pred_table_columns: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _current_run("WandbEvalCallback")
        self.data_table_columns = list(data_table_columns)
        self.pred_table_columns = list(pred_table_columns)
        self.data_table: Any = None
        self.pred_table: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.init_data_table(column_names=self.data_table_columns)
        self.add_ground_truth(logs)
        self.log_data_table()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.init_pred_table(column_names=self.pred_table_columns)
        self.add_model_predictions(epoch, logs)
        self.log_pred_table()

    def add_ground_truth(self, logs: dict[str, Any] | None = None) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define add_ground_truth(logs)")

    def add_model_predictions(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define add_model_predictions(epoch, logs)")

    def init_data_table(self, column_names: list[str]) -> None:
        from jupyter_tracker.media import Table

        self.data_table = Table(columns=column_names)

    def init_pred_table(self, column_names: list[str]) -> None:
        from jupyter_tracker.media import Table

        self.pred_table = Table(columns=column_names)

    def log_data_table(self, name: str = "val", type: str = "dataset", table_name: str = "val_data") -> None:  # noqa: A002
        _current_run("WandbEvalCallback").log({f"{name}/{table_name}": self.data_table}, commit=False)

    def log_pred_table(self, type: str = "evaluation", table_name: str = "eval_data",  # noqa: A002
                       aliases: list[str] | None = None) -> None:
        _current_run("WandbEvalCallback").log({f"eval/{table_name}": self.pred_table}, commit=False)
