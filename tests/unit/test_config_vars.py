"""``vars(wandb.config)``: the config as a plain dict of the user's keys, as wandb users read it."""

from __future__ import annotations

import argparse
import copy
import pickle
from pathlib import Path

import jupyter_tracker as jt
from jupyter_tracker.run_config import Config
from jupyter_tracker.store.reader import read_run


def test_vars_of_the_run_config_is_a_plain_dict_of_the_user_s_keys(store_root: Path) -> None:
    run = jt.init(project="vars", mode="offline", config={"lr": 0.1, "opt": {"name": "adam"}})
    run.config.epochs = 3
    plain = vars(jt.config)
    assert type(plain) is dict
    assert plain == {"lr": 0.1, "opt.name": "adam", "epochs": 3} == run.config.as_dict() == dict(run.config)
    plain["lr"] = 99  # a copy: changing it changes nothing in the run
    assert run.config.lr == 0.1 and run.config.opt == {"name": "adam"} and run.config["opt.name"] == "adam"
    run.config.update(argparse.Namespace(batch_size=32))
    assert vars(run.config)["batch_size"] == 32
    run.finish()
    state, _ = read_run(Path(run.dir))
    assert state.config == {"lr": 0.1, "opt.name": "adam", "epochs": 3, "batch_size": 32}


def test_vars_of_a_config_feeds_another_config_and_copies_keep_working() -> None:
    changes: list[dict] = []
    config = Config(on_change=changes.append)
    config.update({"lr": 0.1, "layers": [64, 32]})
    other = Config()
    other.update(vars(config))
    assert other.as_dict() == {"lr": 0.1, "layers": [64, 32]}
    duplicate = copy.copy(config)
    assert vars(duplicate) == vars(config) and duplicate.lr == 0.1
    restored = pickle.loads(pickle.dumps(Config()))
    restored.update({"seed": 7})
    assert vars(restored) == {"seed": 7} and restored.seed == 7
    assert changes == [{"lr": 0.1, "layers": [64, 32]}]
