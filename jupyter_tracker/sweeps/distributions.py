"""The parameter distributions of wandb's sweep configuration: sampling, grid values, bounds.

Each distribution knows how to draw a value from a numpy generator (random search), how to
list its values when it is discrete (grid search), and how to map a point of the unit interval
to a value (the bayes search asks its optimiser for points in a space it understands).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

#: wandb's distribution names, in the order its documentation lists them
DISTRIBUTION_NAMES = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform",
    "q_log_uniform_values",
    "inv_log_uniform",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
    "beta",
    "q_beta",
)

#: the keys each distribution reads (beyond ``distribution``), and their defaults (None: required)
DISTRIBUTION_KEYS: dict[str, dict[str, Any]] = {
    "constant": {"value": None},
    "categorical": {"values": None, "probabilities": "uniform"},
    "int_uniform": {"min": None, "max": None},
    "uniform": {"min": None, "max": None},
    "q_uniform": {"min": None, "max": None, "q": 1.0},
    "log_uniform": {"min": None, "max": None},
    "log_uniform_values": {"min": None, "max": None},
    "q_log_uniform": {"min": None, "max": None, "q": 1.0},
    "q_log_uniform_values": {"min": None, "max": None, "q": 1.0},
    "inv_log_uniform": {"min": None, "max": None},
    "inv_log_uniform_values": {"min": None, "max": None},
    "normal": {"mu": 0.0, "sigma": 1.0},
    "q_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "log_normal": {"mu": 0.0, "sigma": 1.0},
    "q_log_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "beta": {"a": 1.0, "b": 1.0},
    "q_beta": {"a": 1.0, "b": 1.0, "q": 1.0},
}

#: distributions a grid search can enumerate
GRID_DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "q_uniform")


def python_value(value: Any) -> Any:
    """numpy scalars become Python ones, so suggestions serialise as plain JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _quantise(value: float, q: float, low: float | None = None, high: float | None = None) -> float:
    """``round(value / q) * q``, moved one step inward when rounding leaves ``[low, high]``."""
    result = round(value / q) * q
    if low is not None and result < low - 1e-12:
        result += q
    if high is not None and result > high + 1e-12:
        result -= q
    return result


def _integral(*numbers: Any) -> bool:
    return all(isinstance(number, int) and not isinstance(number, bool) for number in numbers)


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One parameter's distribution, validated by :mod:`jupyter_tracker.sweeps.config`.

    >>> Distribution("int_uniform", {"min": 1, "max": 3}).grid_values()
    [1, 2, 3]
    """

    name: str
    spec: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.spec[key]

    # random search ---------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn from the distribution."""
        if self.name in ("categorical", "constant"):
            return self._pick(rng)
        if self.name in ("beta", "q_beta"):  # numpy draws beta directly; its inverse CDF would need scipy
            return self._maybe_quantise(float(rng.beta(self.spec["a"], self.spec["b"])), 0.0, 1.0)
        return self.from_unit(float(rng.random()))

    def _pick(self, rng: np.random.Generator) -> Any:
        if self.name == "constant":
            return self.spec["value"]
        values: Sequence[Any] = self.spec["values"]
        probabilities = self.spec.get("probabilities")
        if probabilities in (None, "uniform"):
            return values[int(rng.integers(len(values)))]
        return values[int(rng.choice(len(values), p=np.asarray(probabilities, dtype=float)))]

    # a point of [0, 1) mapped to a value: the inverse of the distribution's CDF ------------------
    def from_unit(self, unit: float) -> Any:
        """The value at quantile ``unit`` (random search draws ``unit`` uniformly)."""
        unit = min(max(unit, 1e-12), 1 - 1e-12)
        spec, name = self.spec, self.name
        if name == "constant":
            return spec["value"]
        if name == "categorical":
            values = spec["values"]
            return values[min(int(unit * len(values)), len(values) - 1)]
        if name == "int_uniform":
            low, high = spec["min"], spec["max"]
            return min(low + int(unit * (high - low + 1)), high)
        if name in ("uniform", "q_uniform"):
            value = spec["min"] + unit * (spec["max"] - spec["min"])
            return self._maybe_quantise(value, spec["min"], spec["max"])
        if name in ("log_uniform", "q_log_uniform"):
            value = math.exp(spec["min"] + unit * (spec["max"] - spec["min"]))
            return self._maybe_quantise(value, math.exp(spec["min"]), math.exp(spec["max"]))
        if name in ("log_uniform_values", "q_log_uniform_values"):
            low, high = math.log(spec["min"]), math.log(spec["max"])
            return self._maybe_quantise(math.exp(low + unit * (high - low)), spec["min"], spec["max"])
        if name == "inv_log_uniform":
            # 1/X with log(X) uniform on [min, max]: values in [exp(-max), exp(-min)]
            return math.exp(-(spec["min"] + unit * (spec["max"] - spec["min"])))
        if name == "inv_log_uniform_values":
            low, high = math.log(1 / spec["max"]), math.log(1 / spec["min"])
            return 1 / math.exp(low + unit * (high - low))
        if name in ("normal", "q_normal"):
            return self._maybe_quantise(NormalDist(spec["mu"], spec["sigma"]).inv_cdf(unit))
        if name in ("log_normal", "q_log_normal"):
            return self._maybe_quantise(math.exp(NormalDist(spec["mu"], spec["sigma"]).inv_cdf(unit)))
        if name in ("beta", "q_beta"):
            from scipy.stats import beta  # only a bayes search over beta needs its inverse CDF

            return self._maybe_quantise(float(beta.ppf(unit, spec["a"], spec["b"])), 0.0, 1.0)
        raise ValueError(f"unknown distribution {name!r}")

    def to_unit(self, value: float) -> float:
        """The quantile of ``value`` (the inverse of :meth:`from_unit`, for the unbounded and beta families)."""
        spec, name = self.spec, self.name
        if name in ("normal", "q_normal"):
            return NormalDist(spec["mu"], spec["sigma"]).cdf(value)
        if name in ("log_normal", "q_log_normal"):
            return NormalDist(spec["mu"], spec["sigma"]).cdf(math.log(max(value, 1e-300)))
        if name in ("beta", "q_beta"):
            from scipy.stats import beta

            return float(beta.cdf(value, spec["a"], spec["b"]))
        raise ValueError(f"{name} is searched in its own units, not as a quantile")

    def _maybe_quantise(self, value: float, low: float | None = None, high: float | None = None) -> Any:
        if not self.name.startswith("q_"):
            return value
        q = self.spec["q"]
        result = _quantise(value, q, low, high)
        if _integral(q) and (low is None or float(low).is_integer()) and (high is None or float(high).is_integer()):
            return int(round(result))
        # a multiple of q written without float noise (0.1 * 3 -> 0.3)
        decimals = max(0, -math.floor(math.log10(abs(q)))) + 6 if q else 6
        return round(result, decimals)

    # grid search -----------------------------------------------------------------------------
    def grid_values(self) -> list[Any] | None:
        """Every value of a discrete distribution, in order; None for a continuous one."""
        spec = self.spec
        if self.name == "constant":
            return [spec["value"]]
        if self.name == "categorical":
            return list(spec["values"])
        if self.name == "int_uniform":
            return list(range(spec["min"], spec["max"] + 1))
        if self.name == "q_uniform":
            q = spec["q"]
            first = math.ceil(spec["min"] / q - 1e-9)
            last = math.floor(spec["max"] / q + 1e-9)
            return [self._maybe_quantise(step * q) for step in range(first, last + 1)]
        return None

    # checks used by the tests and the bayes search ------------------------------------------
    def bounds(self) -> tuple[float, float]:
        """The closed interval every sample lies in (``-inf``/``inf`` where unbounded)."""
        spec, name = self.spec, self.name
        if name in ("int_uniform", "uniform", "q_uniform", "log_uniform_values", "q_log_uniform_values"):
            return float(spec["min"]), float(spec["max"])
        if name in ("log_uniform", "q_log_uniform"):
            return math.exp(spec["min"]), math.exp(spec["max"])
        if name == "inv_log_uniform":
            return math.exp(-spec["max"]), math.exp(-spec["min"])
        if name == "inv_log_uniform_values":
            return float(spec["min"]), float(spec["max"])
        if name in ("log_normal", "q_log_normal"):
            return 0.0, math.inf
        if name in ("beta", "q_beta"):
            return 0.0, 1.0
        return -math.inf, math.inf

    def __len__(self) -> int:
        values = self.grid_values()
        return len(values) if values is not None else 0
