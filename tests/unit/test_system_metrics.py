"""The system-metrics sampler: window timing and means on an injected clock, GPU fields, the run integration."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import jupyter_tracker as jt
from jupyter_tracker import settings as settings_module
from jupyter_tracker.store.reader import read_run
from jupyter_tracker.system import HostSource, NvidiaSource, SystemSampler, default_sources
from tests.helpers import wait_until

HOST_KEYS = {"system/cpu_percent", "system/memory_percent", "system/proc_rss_mb", "system/proc_cpu_percent"}


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def counting_sample() -> Any:
    calls = {"n": 0}

    def sample() -> dict[str, float]:
        calls["n"] += 1
        return {"system/cpu_percent": float(calls["n"])}

    return sample


def test_windows_are_stamped_at_their_end_and_hold_the_mean_of_their_samples() -> None:
    emitted: list[tuple[float, dict[str, float]]] = []
    clock = Clock(1000.0)
    sampler = SystemSampler(counting_sample(), lambda t, v: emitted.append((t, v)), interval=2, window=15, clock=clock)
    sampler._origin = clock()  # the thread is not started: the test drives tick() itself
    for _ in range(16):  # samples at 1002, 1004, ..., 1032
        clock.now += 2
        sampler.tick()
    # window 1: (1000, 1015] holds samples 1..7 (1002..1014); window 2: (1015, 1030] holds 8..15
    assert emitted == [
        (1015.0, {"system/cpu_percent": sum(range(1, 8)) / 7}),
        (1030.0, {"system/cpu_percent": sum(range(8, 16)) / 8}),
    ]
    sampler.flush(now=1033.0)  # the partial last window, at finish
    assert emitted[-1] == (1033.0, {"system/cpu_percent": 16.0})
    sampler.flush(now=1034.0)  # nothing left: nothing emitted
    assert len(emitted) == 3


def test_a_sample_exactly_on_a_window_end_closes_that_window() -> None:
    emitted: list[tuple[float, dict[str, float]]] = []
    sampler = SystemSampler(counting_sample(), lambda t, v: emitted.append((t, v)), interval=5, window=15)
    for now in (0.0, 5.0, 10.0, 15.0, 20.0, 30.0):
        sampler.tick(now=now)
    assert emitted == [(15.0, {"system/cpu_percent": 2.5}), (30.0, {"system/cpu_percent": 5.5})]


def test_windows_do_not_drift_with_late_samples_and_skip_empty_windows() -> None:
    emitted: list[tuple[float, dict[str, float]]] = []
    sampler = SystemSampler(counting_sample(), lambda t, v: emitted.append((t, v)), interval=2, window=10)
    sampler.tick(now=0.0)
    sampler.tick(now=9.9)
    sampler.tick(now=31.0)  # a stalled process: windows (10, 20] and (20, 30] had no sample
    sampler.tick(now=40.0)
    assert [stamp for stamp, _ in emitted] == [10.0, 40.0]
    assert emitted[0][1] == {"system/cpu_percent": 1.5}
    assert emitted[1][1] == {"system/cpu_percent": 3.5}


def test_keys_missing_from_some_samples_average_over_the_samples_that_have_them() -> None:
    samples = iter([{"a": 1.0, "b": 10.0}, {"a": 3.0}, {"a": 5.0, "b": 20.0}])
    emitted: list[dict[str, float]] = []
    sampler = SystemSampler(lambda: next(samples), lambda _t, v: emitted.append(v), interval=1, window=3)
    for now in (0.0, 1.0, 3.0):
        sampler.tick(now=now)
    assert emitted == [{"a": 3.0, "b": 15.0}]


def test_bad_interval_or_window_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        SystemSampler(dict, lambda *_: None, interval=0)
    with pytest.raises(ValueError, match="positive"):
        SystemSampler(dict, lambda *_: None, window=-1)


def test_the_thread_samples_every_interval_and_stops_promptly() -> None:
    emitted: list[dict[str, float]] = []
    sampler = SystemSampler(counting_sample(), lambda _t, v: emitted.append(v), interval=0.01, window=0.05)
    sampler.start()
    wait_until(lambda: len(emitted) >= 2, timeout=10)
    sampler.stop(timeout=5)
    assert not sampler.running
    taken = sampler.samples_taken
    assert taken >= 4
    assert sampler.samples_taken == taken  # stopped: no more samples


def test_a_failing_sample_warns_once_and_sampling_goes_on() -> None:
    calls = {"n": 0}

    def flaky() -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("counter unavailable")
        return {"x": 1.0}

    sampler = SystemSampler(flaky, lambda *_: None, interval=0.01, window=1)
    sampler.start()
    wait_until(lambda: calls["n"] >= 3, timeout=10)
    sampler.stop(flush=False)
    assert sampler.samples_taken >= 2


def test_host_source_reads_cpu_memory_and_rss() -> None:
    values = HostSource()()
    assert HOST_KEYS <= set(values)
    assert all(isinstance(value, float) for value in values.values())
    assert 0.0 <= values["system/memory_percent"] <= 100.0
    assert values["system/proc_rss_mb"] > 1.0
    assert 0.0 <= values["system/cpu_percent"] <= 100.0
    for key in ("system/disk_read_mb", "system/disk_write_mb", "system/net_sent_mb", "system/net_recv_mb"):
        assert values.get(key, 0.0) >= 0.0  # counters since the source was made; absent in some containers


def test_gpu_fields_are_present_exactly_when_nvml_sees_a_gpu() -> None:
    sources = default_sources()
    keys = set().union(*(source() for source in sources))
    gpu = NvidiaSource.create()
    if gpu is None:  # CI: no nvidia-ml-py or no GPU, so no GPU metric at all
        assert not [key for key in keys if "gpu" in key]
        assert len(sources) == 1
    else:  # checked by hand on a machine with an NVIDIA GPU
        assert {"system/gpu.0.util", "system/gpu.0.memory_percent", "system/gpu.0.temp"} <= keys
        gpu.close()


def test_nvidia_source_names_fields_per_gpu_and_skips_what_a_board_does_not_report() -> None:
    class FakeNvml:
        NVML_TEMPERATURE_GPU = 0

        def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
            return SimpleNamespace(gpu=10 * (handle + 1))

        def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
            return SimpleNamespace(used=25, total=100)

        def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
            return 60 + handle

        def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
            if handle == 1:
                raise RuntimeError("not supported")
            return 150_000

    values = NvidiaSource(FakeNvml(), [0, 1])()
    assert values == {
        "system/gpu.0.util": 10.0, "system/gpu.0.memory_percent": 25.0, "system/gpu.0.temp": 60.0,
        "system/gpu.0.power_w": 150.0,
        "system/gpu.1.util": 20.0, "system/gpu.1.memory_percent": 25.0, "system/gpu.1.temp": 61.0,
    }


def test_settings_come_from_the_environment(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_TRACKER_SYSTEM_SAMPLE_INTERVAL", "0.5")
    monkeypatch.setenv("JUPYTER_TRACKER_SYSTEM_WINDOW", "4")
    monkeypatch.setenv("JUPYTER_TRACKER_DISABLE_SYSTEM_METRICS", "true")
    resolved = settings_module.resolve({})
    assert (resolved.system_sample_interval, resolved.system_window, resolved.disable_system_metrics) == (0.5, 4.0, True)
    defaults = settings_module.resolve({"disable_system_metrics": False})
    assert defaults.disable_system_metrics is False


def test_a_run_logs_system_windows_without_touching_its_steps(store_root: Path) -> None:
    run = jt.init(project="sys", mode="offline",
                  settings={"system_sample_interval": 0.02, "system_window": 0.1})
    sampler = run.system_sampler
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1)})
    wait_until(lambda: sampler.windows_emitted >= 2, timeout=20)
    run.finish()
    assert not sampler.running
    state, history = read_run(Path(run.dir), keep_history=True)
    assert [row["_step"] for row in history] == [0, 1, 2, 3, 4]
    assert all(not key.startswith("system/") for row in history for key in row)
    assert len(state.system_rows) >= 2
    for row in state.system_rows:
        assert HOST_KEYS <= set(row)
        assert "_step" not in row
        assert row["_timestamp"] > 1e9 and row["_runtime"] >= 0
    stamps = [row["_timestamp"] for row in state.system_rows]
    assert stamps == sorted(stamps)
    assert state.next_step == 5
    assert not any(key.startswith("system/") for key in state.summary)


def test_system_metrics_can_be_turned_off_and_are_off_for_disabled_runs(store_root: Path) -> None:
    run = jt.init(project="sys", mode="offline", settings={"disable_system_metrics": True})
    assert getattr(run, "system_sampler", None) is None
    run.finish()
    disabled = jt.init(project="sys", mode="disabled")
    assert getattr(disabled, "system_sampler", None) is None
    disabled.finish()
