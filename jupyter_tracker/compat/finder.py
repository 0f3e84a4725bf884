"""The import hook that serves ``import wandb`` and its submodules from jupyter_tracker.

A :class:`WandbFinder` on ``sys.meta_path`` answers for every name in :data:`TREE`: the module it
makes is a real module named ``wandb.<...>`` whose namespace is copied from one jupyter_tracker
module, imported once under its own name. Nothing of jupyter_tracker is ever executed a second
time, so a failed ``import wandb.sdk.anything_missing`` is a plain ``ModuleNotFoundError`` that
leaves the live run, config and summary as they were. The same finder answers
``importlib.metadata`` for the distribution ``wandb``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from jupyter_tracker.compat.distribution import WANDB_VERSION, WandbDistribution

#: each served ``wandb`` module and the jupyter_tracker module its names come from
TREE: dict[str, str] = {
    "wandb": "jupyter_tracker.compat.tree.top",
    "wandb.sdk": "jupyter_tracker.compat.tree.sdk",
    "wandb.sdk.lib": "jupyter_tracker.compat.tree.sdk_lib",
    "wandb.sdk.lib.config_util": "jupyter_tracker.compat.tree.config_util",
    "wandb.sdk.lib.disabled": "jupyter_tracker.compat.tree.sdk_lib",
    "wandb.sdk.lib.runid": "jupyter_tracker.compat.tree.util",
    "wandb.sdk.wandb_run": "jupyter_tracker.compat.tree.wandb_run",
    "wandb.sdk.wandb_init": "jupyter_tracker.compat.tree.wandb_init",
    "wandb.sdk.wandb_config": "jupyter_tracker.compat.tree.wandb_config",
    "wandb.sdk.wandb_summary": "jupyter_tracker.compat.tree.wandb_summary",
    "wandb.sdk.wandb_settings": "jupyter_tracker.compat.tree.wandb_settings",
    "wandb.sdk.wandb_watch": "jupyter_tracker.compat.tree.wandb_watch",
    "wandb.sdk.data_types": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.base_types": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.base_types.wb_value": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.image": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.video": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.table": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.histogram": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.audio": "jupyter_tracker.compat.tree.data_types",
    "wandb.sdk.data_types.html": "jupyter_tracker.compat.tree.data_types",
    "wandb.data_types": "jupyter_tracker.compat.tree.data_types",
    "wandb.wandb_run": "jupyter_tracker.compat.tree.wandb_run",
    "wandb.util": "jupyter_tracker.compat.tree.util",
    "wandb.errors": "jupyter_tracker.compat.tree.errors",
    "wandb.env": "jupyter_tracker.compat.tree.env",
    "wandb.apis": "jupyter_tracker.compat.tree.apis",
    "wandb.apis.public": "jupyter_tracker.compat.tree.apis",
    "wandb.tensorboard": "jupyter_tracker.tensorboard",
    "wandb.integration": "jupyter_tracker.compat.tree.empty",
    "wandb.integration.keras": "jupyter_tracker.integration.keras",
    "wandb.integration.keras.callbacks": "jupyter_tracker.integration.keras",
}

_PACKAGES = frozenset(name.rpartition(".")[0] for name in TREE if "." in name)


class WandbLoader(importlib.abc.Loader):
    """Makes the module ``wandb.<...>`` from the namespace of its jupyter_tracker module."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default: a plain module object carrying ``spec``

    def exec_module(self, module: types.ModuleType) -> None:
        source = importlib.import_module(TREE[module.__name__])
        names = getattr(source, "__all__", None)
        if names is None:
            names = [name for name in vars(source) if not name.startswith("__")]
        namespace = vars(module)
        for name in names:
            namespace[name] = getattr(source, name)
        for special in ("__doc__", "__getattr__", "__all__"):
            if special in vars(source):
                namespace[special] = vars(source)[special]
        if module.__name__ in _PACKAGES:
            namespace["__getattr__"] = _child_loader(module.__name__, vars(source).get("__getattr__"))
        if module.__name__ == "wandb":
            namespace["__version__"] = WANDB_VERSION


def _child_loader(package: str, own: Callable[[str], Any] | None) -> Callable[[str], Any]:
    """A package's ``__getattr__``: ``wandb.sdk.wandb_run.Run`` works as an attribute path, as in wandb."""

    def __getattr__(name: str) -> Any:
        if f"{package}.{name}" not in TREE and own is not None:
            return own(name)
        return import_child(package, name)

    return __getattr__


def import_child(package: str, name: str) -> types.ModuleType:
    """The submodule ``package.name`` if the tree serves it, else ``AttributeError``."""
    full_name = f"{package}.{name}"
    if full_name in TREE:
        return importlib.import_module(full_name)
    raise AttributeError(f"module {package!r} has no attribute {name!r}")


class WandbFinder(importlib.abc.MetaPathFinder):
    """Serves the ``wandb`` module tree and its distribution metadata; first on ``sys.meta_path``."""

    def __init__(self) -> None:
        self._loader = WandbLoader()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "wandb" and not fullname.startswith("wandb."):
            return None
        if fullname not in TREE:
            # not served: the served packages have no search path, so an installed wandb is never reached
            return None
        is_package = fullname in _PACKAGES or fullname == "wandb"
        spec = importlib.machinery.ModuleSpec(fullname, self._loader, origin="jupyter_tracker", is_package=is_package)
        if is_package:
            spec.submodule_search_locations = []
        return spec

    def find_distributions(self, context: Any = None) -> Iterator[WandbDistribution]:
        name = getattr(context, "name", None)
        if name is None or _normalised(name) == "wandb":
            yield WandbDistribution()

    def invalidate_caches(self) -> None:
        return None


def _normalised(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def installed_finder() -> WandbFinder | None:
    """The finder on ``sys.meta_path``, if the opt-in is on."""
    for finder in sys.meta_path:
        if isinstance(finder, WandbFinder):
            return finder
    return None
