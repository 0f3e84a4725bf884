"""``wandb.util``: the helpers integrations call (ids, JSON that never fails on arrays or tensors, names)."""

from __future__ import annotations

import importlib
import json
import re
import secrets
import string
import sys
from typing import Any

from jupyter_tracker.values import MediaValue

__all__ = [
    "generate_id",
    "get_module",
    "is_numpy_array",
    "is_pytorch_tensor",
    "json_dumps_safer",
    "json_friendly",
    "make_artifact_name_safe",
    "to_forward_slash_path",
]

_ID_ALPHABET = string.ascii_lowercase + string.digits


def generate_id(length: int = 8) -> str:
    """A random run id of lowercase letters and digits, as wandb makes them."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def is_numpy_array(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def is_pytorch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def json_friendly(value: Any) -> tuple[Any, bool]:
    """``(converted, was_converted)``: numpy and torch values become Python numbers and lists."""
    if is_pytorch_tensor(value):
        value = value.detach().cpu().numpy()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return (value.item() if value.size == 1 and value.ndim == 0 else value.tolist()), True
        if isinstance(value, numpy.generic):
            return value.item(), True
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace"), True
    if isinstance(value, (set, frozenset, tuple)):
        return list(value), True
    if isinstance(value, MediaValue):
        return repr(value), True
    return value, False


def _json_default(value: Any) -> Any:
    converted, changed = json_friendly(value)
    return converted if changed else str(value)


def json_dumps_safer(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that turns arrays, tensors and unknown objects into JSON instead of raising."""
    kwargs.setdefault("default", _json_default)
    kwargs.pop("cls", None)
    return json.dumps(obj, **kwargs)


def make_artifact_name_safe(name: str) -> str:
    """A name with only letters, digits, ``-``, ``_`` and ``.`` (others become ``_``), at most 128 characters."""
    cleaned = re.sub(r"[^a-zA-Z0-9_\-.]", "_", name)
    return cleaned[-128:]


def to_forward_slash_path(path: str) -> str:
    return path.replace("\\", "/")


def get_module(name: str, required: str | None = None, lazy: bool = True) -> Any:
    """Imports ``name``; ``None`` when it is missing, or ``ImportError(required)`` if a message is given."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if required:
            raise ImportError(required) from None
        return None
