"""Reads and checks wandb's sweep configuration (a dict or a YAML/JSON file) before anything runs.

Every error is a :class:`SweepConfigError` whose message starts with the dotted path of the key
at fault (``parameters.lr.min``) and says what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jupyter_tracker.sweeps.distributions import (
    DISTRIBUTION_KEYS,
    DISTRIBUTION_NAMES,
    GRID_DISTRIBUTIONS,
    Distribution,
)

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
TOP_LEVEL_KEYS = (
    "method", "metric", "parameters", "run_cap", "early_terminate", "program", "command",
    "name", "description", "project", "entity", "controller", "seed",
)
_PARAMETER_KEYS = ("distribution", "parameters") + tuple(
    sorted({key for keys in DISTRIBUTION_KEYS.values() for key in keys})
)
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")


class SweepConfigError(ValueError):
    """A sweep configuration that cannot run; the message names the key and what was expected."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"sweep config {key}: {message}")


@dataclasses.dataclass(frozen=True)
class Metric:
    """The metric a sweep optimises: its summary name, direction and optional target."""

    name: str
    goal: str = "minimize"
    target: float | None = None

    def better(self, value: float, other: float) -> bool:
        return value < other if self.goal == "minimize" else value > other

    def reached(self, value: float | None) -> bool:
        if self.target is None or value is None:
            return False
        return value <= self.target if self.goal == "minimize" else value >= self.target


@dataclasses.dataclass(frozen=True)
class Hyperband:
    """``early_terminate: {type: hyperband, ...}``: the iterations at which runs are compared."""

    eta: float
    bands: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A checked sweep configuration; ``raw`` keeps what the user wrote (stored with the sweep).

    >>> config = parse_config({"method": "grid", "parameters": {"lr": {"values": [0.1, 0.01]}}})
    >>> config.grid_size
    2
    """

    raw: dict[str, Any]
    method: str
    parameters: dict[str, Distribution]
    metric: Metric | None = None
    run_cap: int | None = None
    hyperband: Hyperband | None = None
    program: str | None = None
    command: tuple[str, ...] = DEFAULT_COMMAND
    name: str | None = None
    project: str | None = None
    entity: str | None = None

    @property
    def grid_size(self) -> int | None:
        """How many combinations a grid search enumerates (None for other methods)."""
        if self.method != "grid":
            return None
        size = 1
        for distribution in self.parameters.values():
            size *= len(distribution)
        return size

    @property
    def total(self) -> int | None:
        """How many trials the sweep runs at most (run_cap, grid size), None when open-ended."""
        caps = [cap for cap in (self.run_cap, self.grid_size) if cap is not None]
        return min(caps) if caps else None


def load_config(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """The configuration as a dict, from a dict or from a YAML/JSON file path."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SweepConfigError("file", f"cannot read {path} ({error.strerror or error})") from error
    import yaml  # YAML is a superset of JSON, so one parser reads both

    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SweepConfigError("file", f"{path} is not valid YAML ({error})") from error
    if not isinstance(values, Mapping):
        raise SweepConfigError("file", f"{path} must hold a mapping, got {type(values).__name__}")
    return dict(values)


def parse_config(source: Mapping[str, Any] | str | Path) -> SweepConfig:
    """Checks a sweep configuration and returns it parsed; raises :class:`SweepConfigError`."""
    raw = load_config(source)
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise SweepConfigError(str(key), f"unknown key; expected one of {', '.join(TOP_LEVEL_KEYS)}")
    method = raw.get("method")
    if method not in METHODS:
        raise SweepConfigError("method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    metric = _parse_metric(raw.get("metric"))
    if method == "bayes" and metric is None:
        raise SweepConfigError("metric", "a bayes sweep needs metric: {name: ..., goal: minimize|maximize}")
    parameters_raw = raw.get("parameters")
    if not isinstance(parameters_raw, Mapping) or not parameters_raw:
        raise SweepConfigError("parameters", "expected a non-empty mapping of parameter names to distributions")
    parameters = dict(_parse_parameters(parameters_raw, "parameters", ()))
    if method == "grid":
        for path, distribution in parameters.items():
            if distribution.name not in GRID_DISTRIBUTIONS:
                raise SweepConfigError(
                    "parameters." + path,
                    f"a grid search needs discrete values (value, values, int_uniform or q_uniform); "
                    f"{distribution.name!r} is continuous",
                )
    run_cap = raw.get("run_cap")
    if run_cap is not None and (not _is_int(run_cap) or run_cap < 1):
        raise SweepConfigError("run_cap", f"expected a positive integer, got {run_cap!r}")
    hyperband = _parse_early_terminate(raw.get("early_terminate"))
    if hyperband is not None and metric is None:
        raise SweepConfigError("early_terminate", "hyperband compares runs on a metric; add metric: {name: ...}")
    program = raw.get("program")
    if program is not None and not isinstance(program, str):
        raise SweepConfigError("program", f"expected a file name, got {program!r}")
    command = raw.get("command", DEFAULT_COMMAND)
    if isinstance(command, str) or not isinstance(command, (list, tuple)) or not command:
        raise SweepConfigError("command", f"expected a non-empty list of strings, got {command!r}")
    for position, part in enumerate(command):
        if not isinstance(part, (str, int, float)):
            raise SweepConfigError(f"command[{position}]", f"expected a string, got {part!r}")
    return SweepConfig(
        raw=raw, method=method, parameters=parameters, metric=metric, run_cap=run_cap, hyperband=hyperband,
        program=program, command=tuple(str(part) for part in command), name=raw.get("name"),
        project=raw.get("project"), entity=raw.get("entity"),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_metric(metric: Any) -> Metric | None:
    if metric is None:
        return None
    if not isinstance(metric, Mapping):
        raise SweepConfigError("metric", f"expected a mapping with name and goal, got {metric!r}")
    for key in metric:
        if key not in ("name", "goal", "target", "impute", "imputewhilerunning"):
            raise SweepConfigError(f"metric.{key}", "unknown key; expected name, goal or target")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise SweepConfigError("metric.name", f"expected the name of a logged metric, got {name!r}")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise SweepConfigError("metric.goal", f"expected minimize or maximize, got {goal!r}")
    target = metric.get("target")
    if target is not None and not _is_number(target):
        raise SweepConfigError("metric.target", f"expected a number, got {target!r}")
    return Metric(name=name, goal=goal, target=target)


def _parse_parameters(parameters: Mapping[str, Any], prefix: str, path: tuple[str, ...]) -> Iterator[tuple[str, Distribution]]:
    for name, spec in parameters.items():
        key = f"{prefix}.{name}"
        if not isinstance(name, str) or not name or "." in name:
            raise SweepConfigError(key, "parameter names are non-empty strings without dots")
        if not isinstance(spec, Mapping):
            raise SweepConfigError(key, f"expected a mapping such as {{values: [...]}} or {{min: .., max: ..}}, got {spec!r}")
        if "parameters" in spec:
            extra = [other for other in spec if other != "parameters"]
            if extra:
                raise SweepConfigError(f"{key}.{extra[0]}", "a nested parameter holds only `parameters`")
            nested = spec["parameters"]
            if not isinstance(nested, Mapping) or not nested:
                raise SweepConfigError(f"{key}.parameters", "expected a non-empty mapping of nested parameters")
            yield from _parse_parameters(nested, f"{key}.parameters", path + (name,))
            continue
        yield ".".join(path + (name,)), parse_distribution(spec, key)


def _infer_distribution(spec: Mapping[str, Any], key: str) -> str:
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        return "int_uniform" if _is_int(spec["min"]) and _is_int(spec["max"]) else "uniform"
    if "mu" in spec or "sigma" in spec:
        return "normal"
    raise SweepConfigError(key, "expected value, values, min and max, or a distribution")


def parse_distribution(spec: Mapping[str, Any], key: str) -> Distribution:
    """One parameter's distribution, checked; ``key`` names it in errors (``parameters.lr``)."""
    for field in spec:
        if field not in _PARAMETER_KEYS:
            raise SweepConfigError(f"{key}.{field}", f"unknown key; expected one of {', '.join(_PARAMETER_KEYS)}")
    name = spec.get("distribution") or _infer_distribution(spec, key)
    if name not in DISTRIBUTION_NAMES:
        raise SweepConfigError(f"{key}.distribution", f"expected one of {', '.join(DISTRIBUTION_NAMES)}, got {name!r}")
    wanted = DISTRIBUTION_KEYS[name]
    for field in spec:
        if field != "distribution" and field not in wanted:
            raise SweepConfigError(f"{key}.{field}", f"not used by distribution {name}; it reads {', '.join(wanted)}")
    values: dict[str, Any] = {}
    for field, default in wanted.items():
        if field in spec:
            values[field] = spec[field]
        elif default is None:
            raise SweepConfigError(f"{key}.{field}", f"required by distribution {name}")
        else:
            values[field] = default
    _check_distribution(name, values, key)
    return Distribution(name, values)


def _number(values: Mapping[str, Any], field: str, key: str) -> float:
    value = values[field]
    if not _is_number(value):
        raise SweepConfigError(f"{key}.{field}", f"expected a finite number, got {value!r}")
    return value


def _check_distribution(name: str, values: dict[str, Any], key: str) -> None:
    if name == "categorical":
        options = values["values"]
        if not isinstance(options, (list, tuple)) or not options:
            raise SweepConfigError(f"{key}.values", f"expected a non-empty list, got {options!r}")
        values["values"] = list(options)
        probabilities = values["probabilities"]
        if probabilities != "uniform":
            if not isinstance(probabilities, (list, tuple)) or len(probabilities) != len(options):
                raise SweepConfigError(f"{key}.probabilities", f"expected {len(options)} numbers, one per value")
            if any(not _is_number(p) or p < 0 for p in probabilities):
                raise SweepConfigError(f"{key}.probabilities", "expected numbers >= 0")
            if abs(sum(probabilities) - 1.0) > 1e-6:
                raise SweepConfigError(f"{key}.probabilities", f"must sum to 1, they sum to {sum(probabilities):g}")
            values["probabilities"] = [float(p) for p in probabilities]
        return
    if name == "constant":
        return
    for field in values:
        _number(values, field, key)
    if "min" in values:
        low, high = values["min"], values["max"]
        if name == "int_uniform" and not (_is_int(low) and _is_int(high)):
            raise SweepConfigError(f"{key}.min", f"int_uniform needs integer min and max, got {low!r} and {high!r}")
        if low > high:
            raise SweepConfigError(f"{key}.max", f"must be >= min ({low!r}), got {high!r}")
        if name.endswith("_values") and low <= 0:
            raise SweepConfigError(f"{key}.min", f"{name} needs min > 0 (the values themselves), got {low!r}")
    if "sigma" in values and values["sigma"] <= 0:
        raise SweepConfigError(f"{key}.sigma", f"must be > 0, got {values['sigma']!r}")
    for field in ("a", "b"):
        if field in values and values[field] <= 0:
            raise SweepConfigError(f"{key}.{field}", f"must be > 0, got {values[field]!r}")
    if "q" in values:
        q = values["q"]
        if q <= 0:
            raise SweepConfigError(f"{key}.q", f"must be > 0, got {q!r}")
        bounds = {"q_uniform": ("min", "max"), "q_log_uniform_values": ("min", "max")}.get(name)
        low_high = (values["min"], values["max"]) if bounds else None
        if name == "q_log_uniform":
            low_high = (math.exp(values["min"]), math.exp(values["max"]))
        if low_high is not None and math.floor(low_high[1] / q + 1e-9) < math.ceil(low_high[0] / q - 1e-9):
            raise SweepConfigError(f"{key}.q", f"no multiple of q={q!r} lies between min and max")


def _parse_early_terminate(spec: Any) -> Hyperband | None:
    """``early_terminate``: with ``min_iter``, brackets at min_iter·eta^k (k < s, or unbounded);
    with ``max_iter`` and ``s``, at max_iter/eta^k for k = 1..s (wandb's documented schedules)."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise SweepConfigError("early_terminate", f"expected a mapping such as {{type: hyperband, min_iter: 3}}, got {spec!r}")
    for key in spec:
        if key not in ("type", "min_iter", "max_iter", "s", "eta", "strict"):
            raise SweepConfigError(f"early_terminate.{key}", "unknown key; expected type, min_iter, max_iter, s or eta")
    if spec.get("type") != "hyperband":
        raise SweepConfigError("early_terminate.type", f"expected hyperband, got {spec.get('type')!r}")
    eta = spec.get("eta", 3)
    if not _is_number(eta) or eta <= 1:
        raise SweepConfigError("early_terminate.eta", f"expected a number > 1, got {eta!r}")
    s = spec.get("s")
    if s is not None and (not _is_int(s) or s < 1):
        raise SweepConfigError("early_terminate.s", f"expected a positive integer, got {s!r}")
    if "min_iter" in spec:
        min_iter = spec["min_iter"]
        if not _is_int(min_iter) or min_iter < 1:
            raise SweepConfigError("early_terminate.min_iter", f"expected a positive integer, got {min_iter!r}")
        bands: list[int] = []
        band = float(min_iter)
        while (s is None and band <= 10**6) or (s is not None and len(bands) < s):
            bands.append(int(round(band)))
            band *= eta
        return Hyperband(eta=float(eta), bands=tuple(sorted(set(bands))))
    if "max_iter" in spec:
        max_iter = spec["max_iter"]
        if not _is_int(max_iter) or max_iter < 1:
            raise SweepConfigError("early_terminate.max_iter", f"expected a positive integer, got {max_iter!r}")
        if s is None:
            raise SweepConfigError("early_terminate.s", "required with max_iter (the number of brackets)")
        bands = [int(max_iter / eta**k) for k in range(1, s + 1) if max_iter / eta**k >= 1]
        if not bands:
            raise SweepConfigError("early_terminate.max_iter", f"max_iter {max_iter} / eta leaves no bracket >= 1")
        return Hyperband(eta=float(eta), bands=tuple(sorted(set(bands))))
    raise SweepConfigError("early_terminate.min_iter", "hyperband needs min_iter, or max_iter with s")
