"""Being ``wandb``: an explicit opt-in that makes ``import wandb`` give jupyter_tracker.

Frameworks (Lightning's ``WandbLogger``, transformers' ``report_to="wandb"``, accelerate's
``log_with="wandb"``, Keras callbacks) then run unchanged. Four ways to opt in, never on by
default: :func:`as_wandb` in code, ``%tracker as-wandb`` in a notebook,
``JUPYTER_TRACKER_AS_WANDB=1`` in the environment (read at interpreter start, so launchers and
worker processes get it too) and ``jupyter-tracker run -- python train.py``.

>>> import jupyter_tracker; jupyter_tracker.as_wandb()  # doctest: +SKIP
>>> import wandb; wandb.init(project="mnist")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.machinery
import sys
import threading

from jupyter_tracker import console
from jupyter_tracker import settings as settings_module
from jupyter_tracker.compat.distribution import WANDB_VERSION
from jupyter_tracker.compat.finder import WandbFinder, installed_finder

__all__ = ["WANDB_VERSION", "as_wandb", "is_wandb", "stop_being_wandb"]

_lock = threading.Lock()


def as_wandb(silent: bool = False) -> None:
    """Makes ``import wandb`` (and its submodules and metadata) resolve to jupyter_tracker, in this process and its children.

    An installed wandb is set aside (and modules of it already imported are dropped), which is
    said once unless ``silent`` or ``WANDB_SILENT``. Calling it again does nothing.
    """
    with _lock:
        settings_module.set_as_wandb(True)
        if installed_finder() is not None:
            return
        real_wandb = importlib.machinery.PathFinder.find_spec("wandb") is not None
        sys.meta_path.insert(0, WandbFinder())
        for name in [name for name in sys.modules if name == "wandb" or name.startswith("wandb.")]:
            del sys.modules[name]
    if real_wandb and not silent:
        console.info("the installed wandb package is set aside: `import wandb` gives jupyter_tracker from now on")


def stop_being_wandb() -> None:
    """Undoes :func:`as_wandb`: ``import wandb`` finds whatever is installed again."""
    with _lock:
        settings_module.set_as_wandb(False)
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, WandbFinder)]
        for name in [name for name in sys.modules if name == "wandb" or name.startswith("wandb.")]:
            del sys.modules[name]


def is_wandb() -> bool:
    """Whether ``import wandb`` gives jupyter_tracker in this process."""
    return installed_finder() is not None
