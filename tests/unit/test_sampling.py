"""wandb's history sampling: evenly spaced rows, first and last kept, every row when there are few."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_tracker.api.sampling import (
    DEFAULT_SAMPLES,
    check_samples,
    history_columns,
    sample,
    sample_indices,
    sampled_history,
)


def test_default_is_500_samples() -> None:
    assert DEFAULT_SAMPLES == 500
    assert len(sample_indices(100_000)) == 500


def test_short_runs_come_back_whole() -> None:
    assert sample_indices(0, 10) == []
    assert sample_indices(1, 10) == [0]
    assert sample_indices(10, 10) == list(range(10))


def test_long_runs_are_evenly_spaced_with_first_and_last() -> None:
    assert sample_indices(10, 4) == [0, 3, 6, 9]
    assert sample_indices(101, 5) == [0, 25, 50, 75, 100]
    assert sample_indices(100_000, 500)[:3] == [0, 200, 401]  # 99,999 / 499 = 200.4 apart
    assert sample_indices(100_000, 500)[-1] == 99_999


def test_one_sample_is_the_last_row() -> None:
    assert sample_indices(10, 1) == [9]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "many", "7", None, True])
def test_bad_samples_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="samples"):
        check_samples(bad)


def test_integral_floats_are_accepted() -> None:
    assert check_samples(10.0) == 10


@given(count=st.integers(min_value=0, max_value=5_000), samples=st.integers(min_value=2, max_value=700))
def test_sampling_properties(count: int, samples: int) -> None:
    indices = sample_indices(count, samples)
    assert len(indices) == min(count, samples)
    assert indices == sorted(set(indices)), "positions are strictly increasing"
    if count:
        assert indices[0] == 0 and indices[-1] == count - 1
    if count > samples:
        gaps = [right - left for left, right in zip(indices, indices[1:], strict=False)]
        assert max(gaps) - min(gaps) <= 1, "evenly spaced, up to rounding"


def test_sample_picks_items() -> None:
    assert sample(list("abcdefghij"), 4) == ["a", "d", "g", "j"]


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for step in range(10):
        row: dict[str, object] = {"_step": step, "_runtime": step * 0.1, "loss": 1 / (step + 1)}
        if step % 3 == 0:
            row["val/acc"] = step / 10
        rows.append(row)
    return rows


def test_sampled_history_without_keys_keeps_whole_rows() -> None:
    rows = sampled_history(_rows(), samples=3)
    assert [row["_step"] for row in rows] == [0, 5, 9]  # 4.5 rounds up
    assert set(rows[0]) == {"_step", "_runtime", "loss", "val/acc"}


def test_sampled_history_with_keys_keeps_rows_holding_any_key_reduced_to_x_axis_and_keys() -> None:
    rows = sampled_history(_rows(), keys=["val/acc"])
    assert rows == [{"_step": 0, "val/acc": 0.0}, {"_step": 3, "val/acc": 0.3},
                    {"_step": 6, "val/acc": 0.6}, {"_step": 9, "val/acc": 0.9}]
    both = sampled_history(_rows(), keys=["val/acc", "loss"])
    assert len(both) == 10 and "val/acc" not in both[1]


def test_sampled_history_other_x_axis() -> None:
    rows = sampled_history(_rows(), keys=["val/acc"], x_axis="_runtime", samples=2)
    assert rows == [{"_runtime": 0.0, "val/acc": 0.0}, {"_runtime": 0.9, "val/acc": 0.9}]


def test_history_columns_put_the_x_axis_first_once() -> None:
    assert history_columns(["loss", "_step"]) == ["_step", "loss"]
    assert history_columns(["loss"], x_axis="epoch") == ["epoch", "loss"]
