"""Lets the browser reach a widget while the kernel is busy running the training cell.

A kernel handles the frontend's comm messages on its main thread, so while a cell runs, what
the browser says (which charts are on screen, a moved slider) waits until the cell ends. An
ipykernel with subshells (7 and later) can handle messages on another thread: a comm whose
``_reply_subshell_for`` names a subshell has its incoming messages dispatched on that
subshell's thread. :func:`route_to_subshell` gives a widget's comm one shared subshell of this
kernel, so the live panel hears the browser during the run. Where that is impossible (older
ipykernel, no kernel) it returns False and messages arrive once the kernel is idle, as before.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

__all__ = ["route_to_subshell"]

_lock = threading.Lock()
_subshell: dict[int, str] = {}
#: how long to wait for the kernel's shell channel thread to start the subshell, in seconds
CREATE_TIMEOUT = 2.0


def _kernel() -> Any:
    try:
        from ipykernel.kernelbase import Kernel
    except Exception:
        return None
    return Kernel.instance() if Kernel.initialized() else None


def _create_subshell(kernel: Any) -> str | None:
    """A new subshell thread of ``kernel``, created on its shell channel thread (the only writer)."""
    channel_thread = getattr(kernel, "shell_channel_thread", None)
    manager = getattr(channel_thread, "manager", None)
    loop = getattr(manager, "_shell_channel_io_loop", None)
    if manager is None or loop is None or not hasattr(manager, "_create_subshell"):
        return None
    created: Future[str] = Future()

    def create() -> None:
        try:
            created.set_result(manager._create_subshell())
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            created.set_exception(error)

    loop.add_callback(create)
    subshell_id = created.result(timeout=CREATE_TIMEOUT)
    _hold_subshell_lock(manager, subshell_id)
    return subshell_id


def _hold_subshell_lock(manager: Any, subshell_id: str) -> None:
    """Takes the subshell's cell lock for good, so the kernel handles its comm messages as concurrent ones.

    A message handled the ordinary way publishes ``busy`` then ``idle`` on IOPub, and the
    frontend would show the kernel idle while the training cell still runs; comm messages that
    find the lock taken are dispatched without status messages. Nothing else runs on this subshell.
    """
    lock = manager.get_subshell_asyncio_lock(subshell_id)
    thread = manager._cache[subshell_id]
    held: Future[bool] = Future()

    async def hold() -> None:
        await lock.acquire()
        held.set_result(True)

    thread.io_loop.add_callback(hold)
    held.result(timeout=CREATE_TIMEOUT)


def route_to_subshell(comm: Any) -> bool:
    """Has ``comm``'s incoming messages handled on this kernel's panel subshell; False if impossible.

    >>> route_to_subshell(widget.comm)  # doctest: +SKIP
    True
    """
    kernel = _kernel()
    if kernel is None or comm is None:
        return False
    try:
        with _lock:
            subshell_id = _subshell.get(id(kernel))
            if subshell_id is None:
                subshell_id = _create_subshell(kernel)
                if subshell_id is None:
                    return False
                _subshell[id(kernel)] = subshell_id
    except Exception:
        return False

    def reply_subshell_for(data: Any, default: Any, subshell_id: str = subshell_id) -> str:
        return subshell_id

    # an instance attribute: the kernel's shell channel thread looks it up per message
    comm._reply_subshell_for = reply_subshell_for
    return True
