"""``watch``: histograms of a torch model's parameters and gradients every ``log_freq`` steps.

The cost on the steps in between is one forward hook that counts calls (on the first module
holding parameters, which runs once per forward pass). On every ``log_freq``-th call the hook logs the parameter histograms and arms one-shot gradient
hooks, which log each gradient's histogram once the backward pass has accumulated it and then
remove themselves. torch is never imported here: a model can only be a torch module if the
program already imported torch.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterable
from typing import Any

from jupyter_tracker import console

_LOG_CHOICES = ("gradients", "parameters", "all", None)
#: bins of each histogram, as wandb's watch uses
HISTOGRAM_BINS = 64


class _Watched:
    """The hooks on one watched model and its call counter."""

    def __init__(self, run: Any, model: Any, prefix: str, log: str | None, log_freq: int) -> None:
        self.run = run
        self.model = model
        self.prefix = prefix
        self.log_parameters = log in ("parameters", "all")
        self.log_gradients = log in ("gradients", "all")
        self.log_freq = log_freq
        self.calls = 0
        self.armed: list[Any] = []
        self.pending: set[str] = set()
        self.lock = threading.Lock()
        # counted on the first module that holds parameters: a LightningModule's own forward may never
        # run (training_step calls its layers), while its first layer runs once per step
        self.forward_handle = _first_module_with_parameters(model).register_forward_pre_hook(self._on_forward)

    def _on_forward(self, module: Any, inputs: Any) -> None:
        self.calls += 1
        if self.calls % self.log_freq:
            return
        try:
            if self.log_parameters:
                self._log_parameters()
            if self.log_gradients and self.model.training:
                self._arm_gradient_hooks()
        except Exception as error:  # a histogram must never cost the training step
            console.warn_once("watch", f"watch could not log histograms ({type(error).__name__}: {error})")

    def _log_parameters(self) -> None:
        row = {f"{self.prefix}parameters/{name}": _histogram(parameter)
               for name, parameter in self.model.named_parameters()}
        self._log(row)

    def _arm_gradient_hooks(self) -> None:
        with self.lock:
            if self.armed:  # the previous step's backward never came (evaluation): start afresh
                self._disarm()
            for name, parameter in self.model.named_parameters():
                if parameter.requires_grad:
                    self.armed.append(parameter.register_post_accumulate_grad_hook(self._gradient_hook(name)))
                    self.pending.add(name)

    def _gradient_hook(self, name: str) -> Any:
        key = f"{self.prefix}gradients/{name}"

        def on_gradient(parameter: Any) -> None:
            with self.lock:
                if name not in self.pending:
                    return
                self.pending.discard(name)
                if not self.pending:  # one-shot: the last gradient of this backward removes the set
                    self._disarm()
            try:
                if parameter.grad is not None:
                    self._log({key: _histogram(parameter.grad)})
            except Exception as error:  # a histogram must never cost the training step
                console.warn_once("watch", f"watch could not log histograms ({type(error).__name__}: {error})")

        return on_gradient

    def _disarm(self) -> None:
        for handle in self.armed:
            handle.remove()
        self.armed = []
        self.pending = set()

    def _log(self, row: dict[str, Any]) -> None:
        if not self.run._finished:
            self.run.log(row, commit=False)

    def remove(self) -> None:
        self.forward_handle.remove()
        with self.lock:
            self._disarm()


def _first_module_with_parameters(model: Any) -> Any:
    for module in model.modules():
        if next(module.parameters(recurse=False), None) is not None:
            return module
    return model


def _histogram(tensor: Any) -> Any:
    """A 64-bin histogram of a tensor's finite values, binned by torch where the tensor is.

    One min/max pass and one counting pass (bin indices as int32, then ``bincount``): about four
    times faster than ``histc`` on CPU. A value equal to the maximum goes to the last bin.
    """
    import torch

    from jupyter_tracker.media import Histogram

    flat = tensor.detach().reshape(-1)
    if flat.dtype != torch.float32 and flat.dtype != torch.float64:
        flat = flat.float()
    if flat.numel() == 0:
        return Histogram(np_histogram=([0.0], [0.0, 0.0]))
    low_tensor, high_tensor = torch.aminmax(flat)
    low, high = float(low_tensor), float(high_tensor)
    if not (math.isfinite(low) and math.isfinite(high)):  # NaN or inf somewhere: bin the finite values only
        flat = flat[flat.isfinite()]
        if flat.numel() == 0:
            return Histogram(np_histogram=([0.0], [0.0, 0.0]))
        low_tensor, high_tensor = torch.aminmax(flat)
        low, high = float(low_tensor), float(high_tensor)
    if low == high:
        low, high = low - 0.5, high + 0.5
    indices = ((flat - low) * (HISTOGRAM_BINS / (high - low))).to(torch.int32).clamp_(0, HISTOGRAM_BINS - 1)
    counts = torch.bincount(indices, minlength=HISTOGRAM_BINS).cpu().numpy()
    step = (high - low) / HISTOGRAM_BINS
    edges = [low + step * index for index in range(HISTOGRAM_BINS)] + [high]
    return Histogram(np_histogram=(counts, edges))


def _as_models(models: Any) -> list[Any]:
    torch = sys.modules.get("torch")
    listed = list(models) if isinstance(models, (list, tuple)) else [models]
    for model in listed:
        if torch is None or not isinstance(model, torch.nn.Module):
            raise TypeError(f"watch() takes a torch.nn.Module (or a list of them), not "
                            f"{type(model).__module__}.{type(model).__qualname__}")
    return listed


def watch(
    models: Any,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> None:
    """Logs histograms of a torch model's gradients and/or parameters every ``log_freq`` steps.

    ``log`` is ``"gradients"``, ``"parameters"``, ``"all"`` or ``None``. Keys are
    ``gradients/<parameter name>`` and ``parameters/<parameter name>``, logged with the step's
    other metrics. ``log_graph`` is accepted and records nothing (there is no graph view).

    >>> run = jupyter_tracker.init(); jupyter_tracker.watch(model, log="all", log_freq=100)  # doctest: +SKIP
    """
    from jupyter_tracker import sdk

    run = sdk.current_run()
    if run is None:
        raise sdk.UsageError("call jupyter_tracker.init() before watch()")
    watch_run(run, models, log=log, log_freq=log_freq, idx=idx)


def watch_run(run: Any, models: Any, log: str | None = "gradients", log_freq: int = 1000, idx: int | None = None) -> None:
    """``run.watch(...)``: :func:`watch` on a given run."""
    if log not in _LOG_CHOICES:
        raise ValueError(f"watch(log=...) must be 'gradients', 'parameters', 'all' or None, not {log!r}")
    if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
        raise ValueError(f"watch(log_freq=...) must be a positive int, not {log_freq!r}")
    listed = _as_models(models)
    if log is None:
        return
    watched = _watched_by_run(run)
    for position, model in enumerate(listed):
        if any(entry.model is model for entry in watched):
            continue
        number = len(watched) if idx is None else idx + position
        prefix = "" if number == 0 else f"graph_{number}/"
        watched.append(_Watched(run, model, prefix, log, log_freq))
    if not getattr(run, "_unwatch_on_finish", False):
        run._unwatch_on_finish = True
        run.before_finish(lambda finished: unwatch_run(finished))


def _watched_by_run(run: Any) -> list[_Watched]:
    watched = getattr(run, "_watched", None)
    if watched is None:
        watched = []
        run._watched = watched
    return watched


def unwatch(models: Any = None) -> None:
    """Removes the hooks :func:`watch` added (of ``models``, or of every watched model)."""
    from jupyter_tracker import sdk

    run = sdk.current_run()
    if run is not None:
        unwatch_run(run, models)


def unwatch_run(run: Any, models: Any = None) -> None:
    """``run.unwatch(...)``: :func:`unwatch` on a given run."""
    watched = _watched_by_run(run)
    chosen: Iterable[Any] | None = None if models is None else (models if isinstance(models, (list, tuple)) else [models])
    for entry in list(watched):
        if chosen is None or any(entry.model is model for model in chosen):
            entry.remove()
            watched.remove(entry)
