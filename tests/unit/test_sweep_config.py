"""Sweep configuration: every distribution, nested parameters, and errors that name the key."""

from __future__ import annotations

import pytest

from jupyter_tracker.sweeps.config import SweepConfigError, parse_config


def _config(parameters: dict, **extra: object) -> dict:
    return {"method": "random", "parameters": parameters, **extra}


def test_yaml_file_is_read(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "program: train.py\nmethod: bayes\nmetric:\n  name: val_loss\n  goal: minimize\n"
        "parameters:\n  lr:\n    distribution: log_uniform_values\n    min: 0.0001\n    max: 0.1\n"
        "  optimizer:\n    values: [adam, sgd]\nearly_terminate:\n  type: hyperband\n  max_iter: 27\n  s: 2\n"
    )
    config = parse_config(path)
    assert config.method == "bayes"
    assert config.program == "train.py"
    assert config.metric is not None and config.metric.name == "val_loss"
    assert config.parameters["lr"].name == "log_uniform_values"
    assert config.parameters["optimizer"].name == "categorical"
    assert config.hyperband is not None and config.hyperband.bands == (3, 9)


def test_distributions_are_inferred_as_wandb_does():
    config = parse_config(_config({
        "a": {"value": 1}, "b": {"values": [1, 2]}, "c": {"min": 1, "max": 4}, "d": {"min": 0.1, "max": 1},
    }))
    assert [config.parameters[key].name for key in "abcd"] == ["constant", "categorical", "int_uniform", "uniform"]


def test_nested_parameters_become_dotted_paths():
    config = parse_config(_config({"optimizer": {"parameters": {"lr": {"min": 0.1, "max": 1.0}, "kind": {"value": "adam"}}}}))
    assert list(config.parameters) == ["optimizer.lr", "optimizer.kind"]


def test_hyperband_min_iter_brackets():
    config = parse_config(_config({"a": {"value": 1}}, metric={"name": "loss"},
                                  early_terminate={"type": "hyperband", "min_iter": 3, "s": 4}))
    assert config.hyperband is not None and config.hyperband.bands == (3, 9, 27, 81)


def test_grid_size_and_total():
    config = parse_config({"method": "grid", "run_cap": 5, "parameters": {
        "a": {"values": [1, 2, 3]}, "b": {"distribution": "int_uniform", "min": 0, "max": 3},
        "c": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5}}})
    assert config.grid_size == 3 * 4 * 3
    assert config.total == 5


@pytest.mark.parametrize(
    ("config", "key", "expected"),
    [
        ({"parameters": {"a": {"value": 1}}}, "method", "grid, random, bayes"),
        (_config({"a": {"value": 1}}, metrc={"name": "x"}), "metrc", "unknown key"),
        (_config({}), "parameters", "non-empty"),
        (_config({"lr": {"min": 0.1}}), "parameters.lr", "expected value, values, min and max"),
        (_config({"lr": {"distribution": "uniform", "min": 0.1}}), "parameters.lr.max", "required by distribution uniform"),
        (_config({"lr": {"distribution": "uniformm", "min": 0, "max": 1}}), "parameters.lr.distribution", "expected one of"),
        (_config({"lr": {"min": 1.0, "max": 0.1}}), "parameters.lr.max", "must be >= min"),
        (_config({"lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}}), "parameters.lr.min", "min > 0"),
        (_config({"lr": {"distribution": "int_uniform", "min": 0.5, "max": 3}}), "parameters.lr.min", "integer"),
        (_config({"lr": {"min": "a", "max": 1}}), "parameters.lr.min", "finite number"),
        (_config({"lr": {"distribution": "normal", "sigma": -1}}), "parameters.lr.sigma", "> 0"),
        (_config({"lr": {"distribution": "beta", "a": 0}}), "parameters.lr.a", "> 0"),
        (_config({"lr": {"distribution": "q_uniform", "min": 0.2, "max": 0.4, "q": 1}}), "parameters.lr.q", "no multiple"),
        (_config({"lr": {"values": []}}), "parameters.lr.values", "non-empty list"),
        (_config({"lr": {"values": [1, 2], "probabilities": [0.5]}}), "parameters.lr.probabilities", "2 numbers"),
        (_config({"lr": {"values": [1, 2], "probabilities": [0.5, 0.6]}}), "parameters.lr.probabilities", "sum to 1"),
        (_config({"lr": {"values": [1], "mn": 3}}), "parameters.lr.mn", "unknown key"),
        (_config({"lr": {"values": [1], "min": 3}}), "parameters.lr.min", "not used by distribution categorical"),
        (_config({"opt": {"parameters": {"lr": {"max": 1}}}}), "parameters.opt.parameters.lr", "expected value"),
        (_config({"opt": {"parameters": {}}}), "parameters.opt.parameters", "non-empty"),
        ({"method": "grid", "parameters": {"lr": {"min": 0.1, "max": 1.0}}}, "parameters.lr", "grid search needs discrete"),
        ({"method": "bayes", "parameters": {"lr": {"min": 0.1, "max": 1.0}}}, "metric", "bayes sweep needs metric"),
        (_config({"a": {"value": 1}}, metric={"name": "x", "goal": "lower"}), "metric.goal", "minimize or maximize"),
        (_config({"a": {"value": 1}}, metric={"goal": "minimize"}), "metric.name", "name of a logged metric"),
        (_config({"a": {"value": 1}}, run_cap=0), "run_cap", "positive integer"),
        (_config({"a": {"value": 1}}, command="python train.py"), "command", "list of strings"),
        (_config({"a": {"value": 1}}, metric={"name": "x"}, early_terminate={"type": "asha"}), "early_terminate.type", "hyperband"),
        (_config({"a": {"value": 1}}, metric={"name": "x"}, early_terminate={"type": "hyperband", "max_iter": 27}),
         "early_terminate.s", "required with max_iter"),
        (_config({"a": {"value": 1}}, metric={"name": "x"}, early_terminate={"type": "hyperband", "min_iter": 3, "eta": 1}),
         "early_terminate.eta", "> 1"),
        (_config({"a": {"value": 1}}, early_terminate={"type": "hyperband", "min_iter": 3}), "early_terminate", "add metric"),
    ],
)
def test_errors_name_the_key_and_what_was_expected(config, key, expected):
    with pytest.raises(SweepConfigError) as caught:
        parse_config(config)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"sweep config {key}:")
    assert expected in str(caught.value)


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(SweepConfigError, match="cannot read"):
        parse_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(SweepConfigError, match="must hold a mapping"):
        parse_config(bad)
