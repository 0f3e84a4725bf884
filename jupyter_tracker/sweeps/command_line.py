"""A trial's command line from the sweep's ``command``, with wandb's macros expanded.

``${env}`` is ``/usr/bin/env``; ``${interpreter}`` is the Python running the agent (wandb writes
``python``, which is this interpreter when its virtualenv is active: spelling it out keeps the
trial on the agent's packages either way); ``${program}`` the sweep's ``program``; ``${args}``
one ``--name=value`` per parameter; ``${args_no_hyphens}`` the same without ``--``;
``${args_no_boolean_flags}`` ``--name`` for true flags and nothing for false ones;
``${args_json}`` one JSON argument; ``${args_json_file}`` the path of a JSON file with the values.
A parameter's value is written as Python's ``str`` does, nested values as JSON, as wandb does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def expand_command(
    command: Sequence[str],
    params: Mapping[str, Any],
    program: str | None,
    args_json_file: Path,
    interpreter: str | None = None,
) -> list[str]:
    """The argument list of a trial (``params`` nested: top-level names become flags).

    >>> expand_command(["${interpreter}", "${program}", "${args}"], {"lr": 0.1}, "train.py", Path("a.json"), "python")
    ['python', 'train.py', '--lr=0.1']
    """
    flags = [f"--{name}={_text(value)}" for name, value in params.items()]
    expanded: list[str] = []
    for part in command:
        if part == "${env}":
            expanded.append("/usr/bin/env")
        elif part == "${interpreter}":
            expanded.append(interpreter or sys.executable)
        elif part == "${program}":
            if not program:
                raise ValueError("sweep config command uses ${program} but the config has no `program`")
            expanded.append(program)
        elif part == "${args}":
            expanded.extend(flags)
        elif part == "${args_no_hyphens}":
            expanded.extend(flag[2:] for flag in flags)
        elif part == "${args_no_boolean_flags}":
            for name, value in params.items():
                if value is True:
                    expanded.append(f"--{name}")
                elif value is not False:
                    expanded.append(f"--{name}={_text(value)}")
        elif part == "${args_json}":
            expanded.append(json.dumps(dict(params)))
        elif part == "${args_json_file}":
            args_json_file.parent.mkdir(parents=True, exist_ok=True)
            args_json_file.write_text(json.dumps(dict(params)), encoding="utf-8")
            expanded.append(str(args_json_file))
        else:
            expanded.append(part)
    return expanded
