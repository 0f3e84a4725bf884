"""A trial's command line: wandb's macros expanded as wandb's agent expands them."""

from __future__ import annotations

import json

import pytest

from jupyter_tracker.sweeps.command_line import expand_command

PARAMS = {"lr": 0.01, "layers": 3, "opt": "adam", "augment": True, "dropout": False, "net": {"width": 64}}


def test_default_command(tmp_path):
    argv = expand_command(["${env}", "${interpreter}", "${program}", "${args}"], PARAMS, "train.py", tmp_path / "a.json", "/venv/bin/python")
    assert argv == ["/usr/bin/env", "/venv/bin/python", "train.py", "--lr=0.01", "--layers=3", "--opt=adam",
                    "--augment=True", "--dropout=False", '--net={"width": 64}']


def test_every_macro(tmp_path):
    json_file = tmp_path / "trial" / "args.json"
    argv = expand_command(
        ["python3", "-u", "${program}", "--fixed", "${args_no_hyphens}", "${args_no_boolean_flags}", "${args_json}",
         "${args_json_file}"],
        {"lr": 0.01, "augment": True, "dropout": False}, "train.py", json_file,
    )
    assert argv == [
        "python3", "-u", "train.py", "--fixed",
        "lr=0.01", "augment=True", "dropout=False",
        "--lr=0.01", "--augment",
        '{"lr": 0.01, "augment": true, "dropout": false}',
        str(json_file),
    ]
    assert json.loads(json_file.read_text()) == {"lr": 0.01, "augment": True, "dropout": False}


def test_program_macro_without_a_program_says_so(tmp_path):
    with pytest.raises(ValueError, match="no `program`"):
        expand_command(["${program}"], {}, None, tmp_path / "a.json")
