"""The live panel's media row on the kernel side: which images and histograms are kept and how they are packed."""

from __future__ import annotations

import numpy as np

from jupyter_tracker.notebook import live_media
from jupyter_tracker.notebook.live_media import MediaTrack, build_media_update, heatmap


class FakePng:
    """Stands for an encoded ``Image``: what the track reads from one (the real one is tested in test_live_panel)."""

    media_kind = "image"

    def __init__(self, size: int, caption: str | None = None) -> None:
        self.width, self.height, self.caption = 8, 8, caption
        self._png = b"\x89PNG" + bytes(size)

    def png_bytes(self) -> bytes:
        return self._png


def unpack_heatmap(entry: dict, data: bytes) -> np.ndarray:  # type: ignore[type-arg]
    count = entry["rows"] * len(entry["steps"])
    return np.frombuffer(data[entry["offset"] : entry["offset"] + 4 * count], dtype=np.float32).reshape(entry["rows"], -1)


def test_heatmap_resamples_onto_shared_bins_and_keeps_totals() -> None:
    rng = np.random.default_rng(1)
    columns = []
    for step in range(10):
        counts, edges = np.histogram(rng.normal(step * 0.5, 1.0, 1_000), bins=30)
        columns.append((float(step), edges, counts.astype(np.float64)))
    steps, grid, z = heatmap(columns)
    assert steps.tolist() == list(range(10)) and z.shape == (live_media.HEATMAP_ROWS, 10)
    assert grid[0] == min(edges[0] for _, edges, _ in columns) and grid[-1] == max(edges[-1] for _, edges, _ in columns)
    assert np.allclose(z.sum(axis=0), 1_000, rtol=1e-5)
    centers = (grid[:-1] + grid[1:]) / 2
    means = (z * centers[:, None]).sum(axis=0) / z.sum(axis=0)
    assert np.all(np.diff(means) > 0), "the distribution drifts upward step by step, as logged"


def test_images_keep_the_last_steps_and_lists_under_one_key() -> None:
    track = MediaTrack(run_dir=None)
    for step in range(30):
        assert track.take(step, "pred", [FakePng(10, f"s{step}-{i}") for i in range(12)])
    assert not track.take(0, "numbers", [1, 2, 3]) and not track.take(0, "arr", np.zeros(3))
    index, data = build_media_update(track)
    (entry,) = index["images"]
    assert [step["step"] for step in entry["steps"]] == list(range(10, 30))
    assert len(entry["steps"][-1]["items"]) == live_media.IMAGES_PER_STEP
    item = entry["steps"][-1]["items"][3]
    assert item["caption"] == "s29-3" and data[item["offset"] : item["offset"] + item["length"]].startswith(b"\x89PNG")


def test_bytes_stay_within_the_budget_and_the_latest_image_stays() -> None:
    track = MediaTrack(run_dir=None)
    for step in range(20):
        track.take(step, "big", FakePng(200_000))
        track.take(step, "small", FakePng(1_000))
    _, live = build_media_update(track)
    index, final = build_media_update(track, final=True)
    assert len(live) <= live_media.LIVE_MEDIA_BYTES and len(final) <= live_media.FINAL_MEDIA_BYTES
    steps = {entry["key"]: [step["step"] for step in entry["steps"]] for entry in index["images"]}
    assert steps["big"][-1] == 19 and steps["small"] == list(range(20)), "the oldest steps of the biggest key go first"


def test_histograms_are_spread_over_the_run_and_the_latest_kept() -> None:
    track = MediaTrack(run_dir=None)
    total = 3 * live_media.HISTOGRAM_COLUMNS + 7
    for step in range(total):
        track.take(step, "w", {"_type": "histogram", "bins": [0.0, 1.0, 2.0], "values": [step, 1]})
    index, data = build_media_update(track)
    (entry,) = index["histograms"]
    assert len(entry["steps"]) <= live_media.HISTOGRAM_COLUMNS + 1
    assert entry["steps"][0] == 0 and entry["steps"][-1] == total - 1
    z = unpack_heatmap(entry, data)
    assert np.allclose(z.sum(axis=0), np.array(entry["steps"]) + 1)
