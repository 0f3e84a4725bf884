"""TensorBoard into runs: ``patch()`` mirrors what TensorBoard writers write, live; ``import_event_files`` reads old ones.

>>> import jupyter_tracker as jt  # doctest: +SKIP
>>> run = jt.init(project="mnist", sync_tensorboard=True)  # or jupyter_tracker.tensorboard.patch()
>>> writer = torch.utils.tensorboard.SummaryWriter(); writer.add_scalar("loss", 0.5, 1)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from jupyter_tracker.tensorboard.live_sync import STEP_KEY, TensorBoardPatch

_patch: TensorBoardPatch | None = None


def _current_run() -> Any:
    from jupyter_tracker import sdk

    return sdk.current_run()


def patch(root_logdir: str | None = None, save: bool = True, tensorboard_x: bool | None = None,
          pytorch: bool | None = None) -> list[str]:
    """Makes TensorBoard writers (torch.utils.tensorboard, tensorboardX, tf.summary) also log to ``jupyter_tracker.run``.

    ``root_logdir`` names writers' tags by their folder under it (``train/loss``, ``val/loss``);
    ``save`` keeps the event files with the run. Safe to call more than once (a run already fed
    keeps the options it started with). ``tf.summary`` writers are followed when the program imported
    tensorflow before this call (it is never imported here). Returns the writer classes patched (a clear
    ``ImportError`` when there is none).
    """
    global _patch
    if _patch is None:
        _patch = TensorBoardPatch(_current_run)
    _patch.root_logdir, _patch.save = root_logdir or None, save
    _patch.install()
    if not _patch.active:
        raise ImportError("jupyter_tracker.tensorboard.patch(): neither tensorboard (torch.utils.tensorboard) nor "
                          "tensorboardX is installed, nor tensorflow imported; pip install tensorboard or tensorboardX")
    writers = [writer for writer, name, _ in _patch._originals if name == "add_event"]
    writers += [writer for writer, name, _ in _patch.tf_summary._originals if name == "flush"]
    return [f"{writer.__module__}.{writer.__name__}" for writer in writers]


def unpatch() -> None:
    """Undoes :func:`patch`: writers write their files only."""
    if _patch is not None:
        _patch.uninstall()


def import_event_files(logdir: str, **init_options: Any) -> list[Any]:
    """Imports the event files under ``logdir`` as runs (one per folder holding event files); see :mod:`.importer`."""
    from jupyter_tracker.tensorboard.importer import import_logdir

    return import_logdir(logdir, **init_options)


__all__ = ["STEP_KEY", "import_event_files", "patch", "unpatch"]
