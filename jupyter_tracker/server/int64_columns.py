"""Packed int64 columns (steps, sequence numbers, offsets), an evenly spaced one kept in 25 bytes.

Most of these arrays are evenly spaced: a training loop's steps count up by one, a batch's
sequence numbers do, and so do the end offsets of rows that all log the same floats. Stored as
little-endian int64 they were a third of what a batch of history writes to the database; as
(first, stride, count) they are nothing. Any other array is stored as its int64 bytes. The two
forms cannot be mistaken for each other: a plain array's length is a multiple of 8, the short
form's is 25.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

INT64 = np.dtype("<i8")
_SPACED = struct.Struct("<Bqqq")
_SPACED_TAG = 0x50
#: below this many values the short form saves nothing worth a second form
_SPACED_FROM = 4


def pack(values: Sequence[int] | np.ndarray) -> bytes:
    """The stored form of ``values`` (any integer array that fits int64)."""
    array = np.asarray(values, dtype=INT64)
    if len(array) >= _SPACED_FROM:
        stride = int(array[1]) - int(array[0])
        if -(1 << 63) <= stride < (1 << 63) and np.all(np.diff(array) == stride):
            return _SPACED.pack(_SPACED_TAG, int(array[0]), stride, len(array))
    return array.tobytes()


def unpack(data: bytes) -> np.ndarray:
    """The int64 array of a stored column, in either form (read-only, like ``np.frombuffer``'s)."""
    if len(data) == _SPACED.size:
        tag, first, stride, count = _SPACED.unpack(data)
        if tag != _SPACED_TAG or count < _SPACED_FROM:
            raise ValueError(f"not a packed int64 column: {len(data)} bytes with tag {tag:#x}")
        found = first + stride * np.arange(count, dtype=INT64)
        found.flags.writeable = False
        return found
    return np.frombuffer(data, dtype=INT64)
