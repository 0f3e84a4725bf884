"""Grid and random search: every distribution sampled within its bounds, grids complete without repeats."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_tracker.sweeps.config import parse_config, parse_distribution
from jupyter_tracker.sweeps.distributions import DISTRIBUTION_NAMES
from jupyter_tracker.sweeps.search import grid_point, nest, random_point

_finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
_positive = st.floats(min_value=1e-4, max_value=1e3, allow_nan=False, allow_infinity=False)
_q = st.sampled_from([0.001, 0.01, 0.1, 0.25, 0.5, 1, 2, 5])


@st.composite
def distribution_specs(draw):
    """A valid spec of any of wandb's distributions, with random parameters."""
    name = draw(st.sampled_from(DISTRIBUTION_NAMES))
    spec: dict = {"distribution": name}
    if name == "constant":
        spec["value"] = draw(st.one_of(_finite, st.text(max_size=5)))
    elif name == "categorical":
        spec["values"] = draw(st.lists(st.one_of(st.integers(), st.text(max_size=3)), min_size=1, max_size=6))
        if draw(st.booleans()):
            weights = np.asarray(draw(st.lists(st.floats(0.01, 1), min_size=len(spec["values"]), max_size=len(spec["values"]))))
            spec["probabilities"] = (weights / weights.sum()).tolist()
    elif name == "int_uniform":
        low = draw(st.integers(-1000, 1000))
        spec |= {"min": low, "max": low + draw(st.integers(0, 1000))}
    elif name in ("uniform", "log_uniform", "inv_log_uniform"):
        low = draw(st.floats(-20, 20)) if name != "uniform" else draw(_finite)
        spec |= {"min": low, "max": low + draw(st.floats(0, 10))}
    elif name in ("log_uniform_values", "inv_log_uniform_values"):
        low = draw(_positive)
        spec |= {"min": low, "max": low * draw(st.floats(1, 1e4))}
    elif name in ("q_uniform", "q_log_uniform_values", "q_log_uniform"):
        q = draw(_q)
        if name == "q_log_uniform":
            low = draw(st.floats(0, 5))
            spec |= {"min": low, "max": math.log(math.exp(low) + q * draw(st.integers(1, 20))), "q": q}
        else:
            low = draw(_positive)
            spec |= {"min": low, "max": low + q * draw(st.integers(1, 50)), "q": q}
    elif name in ("normal", "q_normal", "log_normal", "q_log_normal"):
        spec |= {"mu": draw(st.floats(-3, 3)), "sigma": draw(st.floats(0.01, 3))}
        if name.startswith("q_"):
            spec["q"] = draw(_q)
    else:
        spec |= {"a": draw(st.floats(0.1, 10)), "b": draw(st.floats(0.1, 10))}
        if name == "q_beta":
            spec["q"] = draw(st.sampled_from([0.01, 0.1, 0.25, 0.5]))
    return spec


@settings(max_examples=300, deadline=None)
@given(spec=distribution_specs(), seed=st.integers(0, 2**32 - 1))
def test_every_distribution_samples_within_its_bounds(spec, seed):
    distribution = parse_distribution(spec, "parameters.x")
    rng = np.random.default_rng(seed)
    low, high = distribution.bounds()
    for _ in range(20):
        value = distribution.sample(rng)
        if distribution.name in ("constant",):
            assert value == spec["value"]
            continue
        if distribution.name == "categorical":
            assert value in spec["values"]
            continue
        assert math.isfinite(value)
        tolerance = 1e-9 * max(1.0, abs(high) if math.isfinite(high) else 1.0)
        assert low - tolerance <= value <= high + tolerance, (spec, value)
        if distribution.name == "int_uniform":
            assert isinstance(value, int)
        if "q" in spec:
            steps = value / spec["q"]
            assert abs(steps - round(steps)) < 1e-6, (spec, value)
        json.dumps(value)


def test_probabilities_weight_the_categorical_choice():
    distribution = parse_distribution({"values": ["a", "b"], "probabilities": [0.9, 0.1]}, "parameters.x")
    rng = np.random.default_rng(0)
    draws = [distribution.sample(rng) for _ in range(2000)]
    assert 0.85 < draws.count("a") / len(draws) < 0.95


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_grid_is_complete_without_repeats(sizes):
    parameters = {f"p{i}": {"values": [f"v{j}" for j in range(size)]} for i, size in enumerate(sizes)}
    config = parse_config({"method": "grid", "parameters": parameters})
    points = [tuple(grid_point(config, index).values()) for index in range(config.grid_size)]
    assert len(points) == math.prod(sizes)
    assert len(set(points)) == len(points)


def test_grid_enumerates_int_and_q_uniform():
    config = parse_config({"method": "grid", "parameters": {
        "n": {"distribution": "int_uniform", "min": 1, "max": 3},
        "x": {"distribution": "q_uniform", "min": 0.1, "max": 0.3, "q": 0.1}}})
    points = {(point["n"], point["x"]) for point in (grid_point(config, i) for i in range(config.grid_size))}
    assert points == {(n, x) for n in (1, 2, 3) for x in (0.1, 0.2, 0.3)}


def test_random_points_are_reproducible_and_nested():
    config = parse_config({"method": "random", "parameters": {
        "opt": {"parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1}}},
        "layers": {"min": 1, "max": 8}}})
    assert random_point(config, 7, 3) == random_point(config, 7, 3)
    assert random_point(config, 7, 3) != random_point(config, 7, 4)
    nested = nest(random_point(config, 7, 3))
    assert set(nested) == {"opt", "layers"} and 1e-4 <= nested["opt"]["lr"] <= 1e-1
