"""A records payload of uniform float history rows read as arrays, straight from its msgpack bytes.

The usual batch a training loop sends is history records that all log the same float keys,
``[first_seq, [["h", step, time, runtime, {key: float, ...}], ...]]``. Decoding it builds a list,
a dict and a dozen floats per row, and checking and storing it walks them all again: most of
the server's CPU per batch. Here the first record's bytes are a template: its type bytes,
lengths and keys are the *structure*, its step and float bytes the *values*. Records laid out
exactly like it (compared as one 2-D byte array per run of equal records) are read with numpy
views; a change of step width (127 -> 128 ...) starts a new run with a new template.

A record is accepted only when every structure byte matches, so it decodes to the same shape
as the template: a ``["h", int, float, float, dict]`` whose keys are the template's and whose
values are float64 or ints of 32 bits at most (exact as float64; ``row`` gives them back as ints,
and a value that changes encoding, 127 -> 128, starts a new run). Anything else (other record
kinds, mixed keys, wider ints, bools, an odd encoding) gives None, and the caller decodes the
payload the ordinary way. Pure.

A real client's batches mix other records in: the run record in the first, system metrics
or a summary in the middle, the finish record in the last. :func:`read` cuts such a payload
into :class:`Segments`: runs of uniform float history as columns, every other record decoded
as the ordinary way decodes it, in sequence order.
"""

from __future__ import annotations

from dataclasses import dataclass
import io
from typing import Any

import msgpack
import numpy as np

from jupyter_tracker.store import records

#: a batch cut into more runs of equal records than this is decoded the ordinary way
MAX_RUNS = 16
_FLOAT64 = 0xCB
_UINTS = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
#: int values read as columns: the type byte and its big-endian numpy type (up to 32 bits, exact as float64)
_INTS = {0xCC: ">u1", 0xCD: ">u2", 0xCE: ">u4", 0xD0: ">i1", 0xD1: ">i2", 0xD2: ">i4"}
_POSITIVE_FIXINT, _NEGATIVE_FIXINT = "+fix", "-fix"
_RECORD_FIELDS = frozenset({"_step", "_timestamp", "_runtime"})
#: a run of fewer equal float history records than this is decoded with its neighbours
MIN_RUN = 8
#: history records no template fits (strings, wide ints) tried before the rest of a batch is decoded
MAX_MISSES = 4
#: a payload cut into more segments than this is decoded the ordinary way
MAX_SEGMENTS = 64
_HISTORY_START = b"\x95\xa1h"


class _NotUniform(Exception):
    """The bytes are not laid out as this module reads them."""


@dataclass(frozen=True)
class UniformBatch:
    """The history records of one payload as columns: row ``i`` is ``seq first_seq + i``."""

    first_seq: int
    steps: np.ndarray
    times: np.ndarray
    runtimes: np.ndarray
    keys: tuple[str, ...]
    #: rows x keys, float64
    values: np.ndarray
    #: ``len + 1`` offsets into the payload: record ``i`` is ``payload[spans[i]:spans[i + 1]]``
    spans: np.ndarray
    #: the columns (indices into ``keys``) whose values were sent as ints (32 bits at most: exact in ``values``)
    ints: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)

    def row(self, index: int) -> dict[str, float | int]:
        """The logged dict of row ``index``, as decoding the record would give it (ints as ints)."""
        values: list[float | int] = self.values[index].tolist()
        for column in self.ints:
            values[column] = int(values[column])
        return dict(zip(self.keys, values, strict=True))


@dataclass(frozen=True)
class Decoded:
    """Records decoded the ordinary way: record ``i`` is ``seq first_seq + i``."""

    first_seq: int
    records: list[Any]

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class Segments:
    """A payload cut into runs of uniform float history (columns) and other records (decoded), in order."""

    first_seq: int
    parts: tuple[UniformBatch | Decoded, ...]
    #: ``count + 1`` offsets into the payload: record ``i`` is ``payload[spans[i]:spans[i + 1]]``
    spans: np.ndarray

    def __len__(self) -> int:
        return len(self.spans) - 1


@dataclass(frozen=True)
class _Template:
    """Where one record's values lie, and the bytes every record like it has elsewhere."""

    length: int
    structure: np.ndarray  # positions of the structure bytes
    expected: np.ndarray  # their values
    step_at: int  # the step's first byte (its value bytes, or the fixint itself)
    step_width: int  # 0: a positive fixint
    time_at: int
    runtime_at: int
    value_at: np.ndarray  # first payload byte of each key's value (a fixint's only byte)
    keys: tuple[str, ...]
    #: each key's value type: ">f8", an entry of :data:`_INTS`, or a positive or negative fixint
    value_types: tuple[str, ...]

    @property
    def ints(self) -> tuple[int, ...]:
        return tuple(index for index, kind in enumerate(self.value_types) if kind != ">f8")


def parse(payload: bytes) -> UniformBatch | None:
    """The payload as a :class:`UniformBatch`, or None when it is anything but uniform float history."""
    try:
        return _parse(payload)
    except (_NotUniform, IndexError, UnicodeDecodeError):
        return None


def read(payload: bytes) -> UniformBatch | Segments | None:
    """The payload as one :class:`UniformBatch`, as :class:`Segments`, or None (decode it the ordinary way).

    None when no run of :data:`MIN_RUN` uniform float history records is found (after
    :data:`MAX_MISSES` history records that fit no template, the search stops), when there
    would be more than :data:`MAX_SEGMENTS` segments, or when the bytes are not a payload.
    """
    try:
        return _read(payload)
    except (_NotUniform, IndexError, UnicodeDecodeError, ValueError, msgpack.UnpackException):
        return None


def _read(payload: bytes) -> UniformBatch | Segments | None:
    first_seq, count, at = _payload_head(payload)
    data = np.frombuffer(payload, dtype=np.uint8)
    parts: list[tuple[int, UniformBatch | list[int]]] = []  # (first index, columns or decoded record starts)
    starts: list[np.ndarray] = []
    stream = io.BytesIO(payload)
    unpacker: Any = None  # skips the records of the current decoded stretch
    base = 0
    index = misses = short_until = 0
    columns_found = False
    while index < count:
        if len(parts) > MAX_SEGMENTS:
            raise _NotUniform
        run = 0
        if index >= short_until and misses < MAX_MISSES and payload[at : at + 3] == _HISTORY_START:
            try:
                template = _template(payload, at)
            except _NotUniform:
                misses += 1
            else:
                block = _run(data, template, at, count - index)
                run = len(block) if len(block) >= MIN_RUN else 0
                if run == 0:  # a short run: its records are decoded, none of them tried again
                    misses += 1
                    short_until = index + len(block)
        if run:
            offsets = at + template.length * np.arange(run, dtype=np.int64)
            piece = _columns(first_seq + index, template, block, np.append(offsets, at + run * template.length))
            parts.append((index, piece))
            starts.append(offsets)
            columns_found = True
            unpacker = None
            at += run * template.length
            index += run
            continue
        if misses >= MAX_MISSES and not columns_found:
            raise _NotUniform
        if unpacker is None:
            stream.seek(at)
            unpacker = msgpack.Unpacker(stream, read_size=min(16384, len(payload)), max_buffer_size=len(payload) + 1)
            base = at
            parts.append((index, []))
        pending = parts[-1][1]
        assert isinstance(pending, list)
        pending.append(at)
        unpacker.skip()
        at = base + unpacker.tell()
        starts.append(np.asarray([pending[-1]], dtype=np.int64))
        index += 1
    if at != len(payload) or not columns_found:
        raise _NotUniform
    spans = np.concatenate([*starts, np.asarray([at], dtype=np.int64)])
    if len(parts) == 1:
        only = parts[0][1]
        assert isinstance(only, UniformBatch)
        return only
    return Segments(first_seq, _decode_stretches(payload, first_seq, parts, spans), spans)


def _decode_stretches(
    payload: bytes, first_seq: int, parts: list[tuple[int, UniformBatch | list[int]]], spans: np.ndarray
) -> tuple[UniformBatch | Decoded, ...]:
    """The parts, each stretch of other records decoded (all of them in one ordinary decode)."""
    stretches = [(index, len(part)) for index, part in parts if isinstance(part, list)]
    pieces = [payload[int(spans[index]) : int(spans[index + size])] for index, size in stretches]
    total = sum(size for _, size in stretches)
    _, decoded = records.decode_payload(b"\x92\x01" + _array_prefix(total) + b"".join(pieces))
    found: list[UniformBatch | Decoded] = []
    taken = 0
    for index, part in parts:
        if isinstance(part, UniformBatch):
            found.append(part)
        else:
            found.append(Decoded(first_seq + index, decoded[taken : taken + len(part)]))
            taken += len(part)
    return tuple(found)


def _array_prefix(count: int) -> bytes:
    if count < 16:
        return bytes([0x90 | count])
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def _run(data: np.ndarray, template: _Template, at: int, limit: int) -> np.ndarray:
    """The records from ``at`` on laid out like ``template`` (at most ``limit``), as rows of a 2-D byte array."""
    room = min(limit, (len(data) - at) // template.length)
    block = data[at : at + room * template.length].reshape(room, template.length)
    matches = _matches(block, template)
    run = room if bool(matches.all()) else int(np.argmin(matches))
    return block[:run]


def _matches(block: np.ndarray, template: _Template) -> np.ndarray:
    """Which rows of ``block`` are laid out like ``template``: its structure bytes, and fixints still fixints."""
    matches = np.all(block[:, template.structure] == template.expected, axis=1)
    if template.step_width == 0:
        matches &= block[:, template.step_at] < 0x80
    for at, kind in zip(template.value_at, template.value_types, strict=True):
        if kind == _POSITIVE_FIXINT:
            matches &= block[:, at] < 0x80
        elif kind == _NEGATIVE_FIXINT:
            matches &= block[:, at] >= 0xE0
    return matches


def _columns(first_seq: int, template: _Template, block: np.ndarray, spans: np.ndarray) -> UniformBatch:
    """One run of records laid out like ``template`` as columns."""
    return UniformBatch(
        first_seq,
        _steps(template, block),
        _floats(block, template.time_at),
        _floats(block, template.runtime_at),
        template.keys,
        _table(template, block),
        spans,
        template.ints,
    )


def _parse(payload: bytes) -> UniformBatch:
    first_seq, count, at = _payload_head(payload)
    data = np.frombuffer(payload, dtype=np.uint8)
    pieces: list[tuple[_Template, np.ndarray]] = []
    starts: list[np.ndarray] = []
    keys: tuple[str, ...] | None = None
    ints: tuple[int, ...] = ()
    done = 0
    while done < count:
        if len(pieces) == MAX_RUNS:
            raise _NotUniform
        template = _template(payload, at)
        if keys is None:
            keys, ints = template.keys, template.ints
        elif template.keys != keys or template.ints != ints:
            raise _NotUniform
        block = _run(data, template, at, count - done)
        run = len(block)
        if run == 0:
            raise _NotUniform
        pieces.append((template, block))
        starts.append(at + template.length * np.arange(run, dtype=np.int64))
        at += run * template.length
        done += run
    if at != len(payload) or keys is None:
        raise _NotUniform
    steps = np.concatenate([_steps(template, block) for template, block in pieces])
    times = np.concatenate([_floats(block, template.time_at) for template, block in pieces])
    runtimes = np.concatenate([_floats(block, template.runtime_at) for template, block in pieces])
    values = np.concatenate([_table(template, block) for template, block in pieces])
    spans = np.concatenate([*starts, np.asarray([at], dtype=np.int64)])
    return UniformBatch(first_seq, steps, times, runtimes, keys, values, spans, ints)


def _template(payload: bytes, at: int) -> _Template:
    """Reads one record at ``at`` byte by byte and notes which of its bytes are structure."""
    structure: list[int] = []
    start = at
    if payload[at] != 0x95 or payload[at + 1] != 0xA1 or payload[at + 2] != ord("h"):
        raise _NotUniform
    structure += [at, at + 1, at + 2]
    at += 3
    kind = payload[at]
    if kind < 0x80:
        step_at, step_width = at, 0
        at += 1
    elif kind in _UINTS:
        structure.append(at)
        step_at, step_width = at + 1, _UINTS[kind]
        at += 1 + step_width
    else:
        raise _NotUniform
    floats = []
    for _ in range(2):
        if payload[at] != _FLOAT64:
            raise _NotUniform
        structure.append(at)
        floats.append(at + 1)
        at += 9
    size, header_end = _map_header(payload, at)
    structure += range(at, header_end)
    at = header_end
    keys: list[str] = []
    value_at: list[int] = []
    value_types: list[str] = []
    for _ in range(size):
        length, key_at = _str_header(payload, at)
        keys.append(payload[key_at : key_at + length].decode("utf-8"))
        structure += range(at, key_at + length)
        at = key_at + length
        kind = payload[at]
        if kind == _FLOAT64 or kind in _INTS:
            value_type = ">f8" if kind == _FLOAT64 else _INTS[kind]
            structure.append(at)
            value_at.append(at + 1)
            at += 1 + int(value_type[-1])
        elif kind < 0x80 or kind >= 0xE0:  # the value is the byte: its range is checked per record
            value_type = _POSITIVE_FIXINT if kind < 0x80 else _NEGATIVE_FIXINT
            value_at.append(at)
            at += 1
        else:
            raise _NotUniform
        value_types.append(value_type)
    if not keys or len(set(keys)) != len(keys) or not _RECORD_FIELDS.isdisjoint(keys):
        raise _NotUniform
    positions = np.asarray(structure, dtype=np.int64)
    return _Template(
        length=at - start,
        structure=positions - start,
        expected=np.frombuffer(payload, dtype=np.uint8)[positions],
        step_at=step_at - start,
        step_width=step_width,
        time_at=floats[0] - start,
        runtime_at=floats[1] - start,
        value_at=np.asarray(value_at, dtype=np.int64) - start,
        keys=tuple(keys),
        value_types=tuple(value_types),
    )


def _steps(template: _Template, block: np.ndarray) -> np.ndarray:
    if template.step_width == 0:
        return block[:, template.step_at].astype(np.int64)
    raw = np.ascontiguousarray(block[:, template.step_at : template.step_at + template.step_width])
    steps = raw.view(f">u{template.step_width}").reshape(len(block)).astype(np.uint64)
    if template.step_width == 8 and bool((steps >= np.uint64(1 << 63)).any()):
        raise _NotUniform
    return steps.astype(np.int64)


def _floats(block: np.ndarray, at: int) -> np.ndarray:
    return np.ascontiguousarray(block[:, at : at + 8]).view(">f8").reshape(len(block)).astype(np.float64)


def _table(template: _Template, block: np.ndarray) -> np.ndarray:
    if not template.ints:
        columns = template.value_at[:, None] + np.arange(8)  # keys x 8 byte positions
        raw = np.ascontiguousarray(block[:, columns])  # rows x keys x 8
        return raw.view(">f8").reshape(len(block), len(template.keys)).astype(np.float64)
    table = np.empty((len(block), len(template.keys)), dtype=np.float64)
    for index, (at, kind) in enumerate(zip(template.value_at, template.value_types, strict=True)):
        if kind == _POSITIVE_FIXINT:
            table[:, index] = block[:, at]
        elif kind == _NEGATIVE_FIXINT:
            table[:, index] = block[:, at].view(np.int8)
        else:
            width = int(kind[-1])
            table[:, index] = np.ascontiguousarray(block[:, at : at + width]).view(kind).reshape(len(block))
    return table


def _payload_head(payload: bytes) -> tuple[int, int, int]:
    """A payload's first sequence number, its record count and where its first record starts."""
    if len(payload) < 3 or payload[0] != 0x92:
        raise _NotUniform
    first_seq, at = _read_uint(payload, 1)
    count, at = _array_header(payload, at)
    if count == 0 or first_seq < 1:
        raise _NotUniform
    return first_seq, count, at


def _read_uint(payload: bytes, at: int) -> tuple[int, int]:
    kind = payload[at]
    if kind < 0x80:
        return kind, at + 1
    width = _UINTS.get(kind)
    if width is None:
        raise _NotUniform
    return int.from_bytes(payload[at + 1 : at + 1 + width], "big"), at + 1 + width


def _array_header(payload: bytes, at: int) -> tuple[int, int]:
    kind = payload[at]
    if 0x90 <= kind <= 0x9F:
        return kind & 0x0F, at + 1
    if kind == 0xDC:
        return int.from_bytes(payload[at + 1 : at + 3], "big"), at + 3
    if kind == 0xDD:
        return int.from_bytes(payload[at + 1 : at + 5], "big"), at + 5
    raise _NotUniform


def _map_header(payload: bytes, at: int) -> tuple[int, int]:
    kind = payload[at]
    if 0x80 <= kind <= 0x8F:
        return kind & 0x0F, at + 1
    if kind == 0xDE:
        return int.from_bytes(payload[at + 1 : at + 3], "big"), at + 3
    raise _NotUniform


def _str_header(payload: bytes, at: int) -> tuple[int, int]:
    kind = payload[at]
    if 0xA0 <= kind <= 0xBF:
        return kind & 0x1F, at + 1
    if kind == 0xD9:
        return payload[at + 1], at + 2
    if kind == 0xDA:
        return int.from_bytes(payload[at + 1 : at + 3], "big"), at + 3
    raise _NotUniform
