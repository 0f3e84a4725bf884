"""Int64 columns of stored history: every array reads back as written, evenly spaced ones in 25 bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_tracker.server import int64_columns

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


@pytest.mark.parametrize(
    "values",
    [
        list(range(2048)),
        list(range(10, 40_000, 7)),
        list(range(5, -20, -5)),
        [3] * 100,
        [INT64_MAX - 3, INT64_MAX - 2, INT64_MAX - 1, INT64_MAX],
        [INT64_MIN, 0, INT64_MIN, 0],  # uneven, and each step past int64: stored whole
    ],
)
def test_an_evenly_spaced_array_is_stored_in_25_bytes_and_read_back_exactly(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    stored = int64_columns.pack(array)
    spaced = len(array) >= 4 and len(set(np.diff(array.astype(object)).tolist())) == 1
    assert len(stored) == (25 if spaced else 8 * len(array))
    assert int64_columns.unpack(stored).tolist() == array.tolist()


@pytest.mark.parametrize("values", [[], [7], [1, 2], [1, 2, 3], [0, 1, 2, 4], [0, 10, 5, 15]])
def test_short_or_uneven_arrays_are_stored_as_their_int64_bytes(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    assert int64_columns.pack(array) == array.astype("<i8").tobytes()
    assert int64_columns.unpack(array.astype("<i8").tobytes()).tolist() == values


@given(st.lists(st.integers(INT64_MIN, INT64_MAX), max_size=40) | st.builds(
    lambda first, stride, count: [first + stride * i for i in range(count)],
    st.integers(-(10**12), 10**12), st.integers(-(10**6), 10**6), st.integers(0, 300),
))
def test_any_int64_array_reads_back_as_written(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    found = int64_columns.unpack(int64_columns.pack(array))
    assert found.dtype == np.dtype("<i8") and found.tolist() == values
    assert not found.flags.writeable


def test_a_25_byte_value_that_is_not_a_packed_column_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not a packed int64 column"):
        int64_columns.unpack(b"\x00" * 25)
