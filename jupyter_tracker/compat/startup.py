"""Run at interpreter start (by the ``jupyter_tracker_as_wandb.pth`` file) when ``JUPYTER_TRACKER_AS_WANDB`` is set.

It must never stop Python from starting: any failure is one message and the program goes on.
"""

from __future__ import annotations


def opt_in_from_environment() -> None:
    try:
        from jupyter_tracker import settings

        if settings.as_wandb_requested():
            from jupyter_tracker.compat import as_wandb

            as_wandb()
    except Exception as error:  # the user's program must start even if the opt-in cannot
        try:
            from jupyter_tracker import console

            console.error(f"JUPYTER_TRACKER_AS_WANDB is set but could not be applied ({type(error).__name__}: {error})")
        except Exception:
            pass


opt_in_from_environment()
