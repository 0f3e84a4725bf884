"""What one system sample reads: the host through psutil, NVIDIA GPUs through NVML when it imports.

A source is a callable returning ``{metric name: value}``; a value it cannot read is left out,
so a machine without a GPU (or without disk counters, as in some containers) simply has fewer
metrics.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_MB = 1024 * 1024

Source = Callable[[], dict[str, float]]


class HostSource:
    """CPU, memory, this process's RSS and CPU, and disk and network traffic since the run started (MB)."""

    def __init__(self, pid: int | None = None) -> None:
        import psutil

        self._psutil = psutil
        self._process = psutil.Process(pid or os.getpid())
        # our own CPU-time baselines, so the user's psutil.cpu_percent() calls and ours never interfere
        self._cpu_last = self._cpu_times()
        self._process.cpu_percent(interval=None)
        self._disk0 = self._disk()
        self._net0 = self._net()

    def _cpu_times(self) -> tuple[float, float]:
        times = self._psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        return sum(times), idle

    def _cpu_percent(self) -> float:
        """Busy share of all CPUs since the last sample, as ``psutil.cpu_percent`` computes it."""
        total, idle = self._cpu_times()
        last_total, last_idle = self._cpu_last
        self._cpu_last = (total, idle)
        elapsed = total - last_total
        return max(0.0, min(100.0, 100.0 * (1.0 - (idle - last_idle) / elapsed))) if elapsed > 0 else 0.0

    def _disk(self) -> tuple[int, int] | None:
        try:
            counters = self._psutil.disk_io_counters()
        except (OSError, RuntimeError):
            return None
        return (counters.read_bytes, counters.write_bytes) if counters is not None else None

    def _net(self) -> tuple[int, int] | None:
        try:
            counters = self._psutil.net_io_counters()
        except (OSError, RuntimeError):
            return None
        return (counters.bytes_sent, counters.bytes_recv) if counters is not None else None

    def __call__(self) -> dict[str, float]:
        psutil = self._psutil
        values: dict[str, float] = {
            "system/cpu_percent": self._cpu_percent(),
            "system/memory_percent": float(psutil.virtual_memory().percent),
        }
        try:
            values["system/proc_rss_mb"] = self._process.memory_info().rss / _MB
            values["system/proc_cpu_percent"] = float(self._process.cpu_percent(interval=None))
        except (psutil.Error, OSError):
            pass
        disk = self._disk()
        if disk is not None and self._disk0 is not None:
            values["system/disk_read_mb"] = (disk[0] - self._disk0[0]) / _MB
            values["system/disk_write_mb"] = (disk[1] - self._disk0[1]) / _MB
        net = self._net()
        if net is not None and self._net0 is not None:
            values["system/net_sent_mb"] = (net[0] - self._net0[0]) / _MB
            values["system/net_recv_mb"] = (net[1] - self._net0[1]) / _MB
        return values


class NvidiaSource:
    """Per-GPU utilisation, memory, temperature and power through NVML (``nvidia-ml-py``).

    Construct with :meth:`create`, which returns None when NVML does not import or finds no GPU.
    """

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles

    @classmethod
    def create(cls) -> NvidiaSource | None:
        try:
            import pynvml as nvml  # nvidia-ml-py; never required
        except ImportError:
            return None
        try:
            nvml.nvmlInit()
            count = nvml.nvmlDeviceGetCount()
            handles = [nvml.nvmlDeviceGetHandleByIndex(index) for index in range(count)]
        except Exception:  # no driver, no device: NVMLError and friends
            return None
        return cls(nvml, handles) if handles else None

    def __call__(self) -> dict[str, float]:
        nvml = self._nvml
        readers: dict[str, Callable[[Any], float]] = {
            "util": lambda handle: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu),
            "memory_percent": lambda handle: _memory_percent(nvml.nvmlDeviceGetMemoryInfo(handle)),
            "temp": lambda handle: float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)),
            "power_w": lambda handle: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0,
        }
        values: dict[str, float] = {}
        for index, handle in enumerate(self._handles):
            for name, read in readers.items():
                try:
                    values[f"system/gpu.{index}.{name}"] = read(handle)
                except Exception:  # a field this GPU does not report (e.g. power on some boards)
                    continue
        return values

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass


def _memory_percent(info: Any) -> float:
    return 100.0 * info.used / info.total if info.total else 0.0


def default_sources() -> list[Source]:
    """The host source, plus the NVIDIA source when NVML imports and sees a GPU."""
    sources: list[Source] = [HostSource()]
    gpu = NvidiaSource.create()
    if gpu is not None:
        sources.append(gpu)
    return sources
