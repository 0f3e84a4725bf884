"""Bayesian search: the next suggestion from optuna's TPE sampler, given the sweep's history.

The controller keeps no optimiser between suggestions (any agent process may ask next), so
each suggestion rebuilds an in-memory optuna study from the finished trials and asks it once;
running trials enter as running so the sampler's constant liar spreads parallel agents apart.
optuna is imported only here, and this module only for bayes sweeps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_tracker.sweeps.config import SweepConfig
from jupyter_tracker.sweeps.distributions import Distribution, python_value

#: random suggestions before the sampler models the history
STARTUP_TRIALS = 5
_UNIT_FAMILIES = ("normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta")


def _search_space(distribution: Distribution) -> Any:
    """The optuna distribution a parameter is searched in (None for a constant)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    spec, name = distribution.spec, distribution.name
    if name == "constant":
        return None
    if name == "categorical":
        return CategoricalDistribution(list(range(len(spec["values"]))))
    if name == "int_uniform":
        return IntDistribution(spec["min"], spec["max"])
    if name in ("uniform", "q_uniform"):
        return FloatDistribution(float(spec["min"]), float(spec["max"]))
    if name in ("log_uniform", "q_log_uniform"):
        return FloatDistribution(math.exp(spec["min"]), math.exp(spec["max"]), log=True)
    if name in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        return FloatDistribution(float(spec["min"]), float(spec["max"]), log=True)
    if name == "inv_log_uniform":
        return FloatDistribution(math.exp(-spec["max"]), math.exp(-spec["min"]), log=True)
    return FloatDistribution(1e-9, 1 - 1e-9)  # the unbounded and beta families, searched by quantile


def _to_search(distribution: Distribution, value: Any) -> Any:
    if distribution.name == "categorical":
        return distribution.spec["values"].index(value)
    if distribution.name in _UNIT_FAMILIES:
        return min(max(distribution.to_unit(value), 1e-9), 1 - 1e-9)
    low, high = distribution.bounds()
    return min(max(value, low), high)


def _from_search(distribution: Distribution, value: Any) -> Any:
    name = distribution.name
    if name == "categorical":
        return distribution.spec["values"][value]
    if name in _UNIT_FAMILIES:
        return distribution.from_unit(value)
    if name.startswith("q_"):
        low, high = distribution.bounds()
        return distribution._maybe_quantise(value, low, high)
    return value


def suggest(
    config: SweepConfig,
    seed: int,
    number: int,
    finished: Sequence[tuple[Mapping[str, Any], float]],
    running: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Trial ``number``'s suggestion given ``(params, metric value)`` of finished trials."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    assert config.metric is not None
    spaces = {path: _search_space(distribution) for path, distribution in config.parameters.items()}
    searched = {path: space for path, space in spaces.items() if space is not None}
    sampler = optuna.samplers.TPESampler(
        seed=(seed * 1_000_003 + number) % (2**32), n_startup_trials=STARTUP_TRIALS, multivariate=True,
        constant_liar=True,
    )
    study = optuna.create_study(direction="minimize" if config.metric.goal == "minimize" else "maximize", sampler=sampler)

    def search_params(params: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return {path: _to_search(config.parameters[path], params[path]) for path in searched}
        except (KeyError, ValueError, TypeError):
            return None  # a trial of an older configuration: it does not inform this one

    for params, value in finished:
        values = search_params(params)
        if values is not None and value is not None and math.isfinite(value):
            study.add_trial(create_trial(params=values, distributions=searched, value=float(value)))
    for params in running:
        values = search_params(params)
        if values is not None:
            study.add_trial(create_trial(params=values, distributions=searched, state=TrialState.RUNNING))
    trial = study.ask(searched)
    point: dict[str, Any] = {}
    for path, distribution in config.parameters.items():
        if path in searched:
            point[path] = python_value(_from_search(distribution, trial.params[path]))
        else:
            point[path] = distribution.spec["value"]
    return point
