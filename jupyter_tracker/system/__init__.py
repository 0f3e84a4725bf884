"""System metrics of a run: a sampler thread that logs window means of CPU, memory, disk, network and GPU.

``start_system_metrics(run)`` is the start hook registered by :mod:`jupyter_tracker.sdk`; the
metrics go to the run log as their own ``system`` records, with wall time as their x-axis, so
the user's step counter is never touched.
"""

from __future__ import annotations

from jupyter_tracker.system.sampler import SystemSampler, start_system_metrics
from jupyter_tracker.system.sources import HostSource, NvidiaSource, default_sources

__all__ = ["HostSource", "NvidiaSource", "SystemSampler", "default_sources", "start_system_metrics"]
