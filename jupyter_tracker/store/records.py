"""Record kinds and the frame format of the run log.

A run log starts with :data:`MAGIC`, then holds frames. A frame is
``<u32 payload length><u32 CRC32 of payload><payload>``; the payload is msgpack of
``[first_seq, [record, record, ...]]`` and each record is a tuple whose first item is its kind.
Record ``i`` of a frame has sequence number ``first_seq + i``. Pure: no file IO here.
"""

from __future__ import annotations

import gc
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack

MAGIC = b"JTLOG\x01\n"
FRAME_HEADER = struct.Struct("<II")
#: frames larger than this are treated as corruption when reading (a torn length field)
MAX_FRAME_BYTES = 1 << 30
_ARRAY_EXT = 1

# record kinds: the first item of every record tuple
RUN = "run"  # (RUN, metadata dict)
CONFIG = "config"  # (CONFIG, flat dict update)
HISTORY = "h"  # (HISTORY, step, unix time, runtime seconds, row dict)
SUMMARY = "summary"  # (SUMMARY, flat dict set by hand)
DEFINE_METRIC = "define"  # (DEFINE_METRIC, spec dict)
WARNING = "warning"  # (WARNING, {kind, bound, observed, subject})
FILE = "file"  # (FILE, {name, size, policy, sha256})
SYSTEM = "system"  # (SYSTEM, unix time, runtime seconds, {"system/cpu_percent": ...}): wall-time x-axis, no step
RESUME = "resume"  # (RESUME, {time, step})
FINISH = "finish"  # (FINISH, {state, exit_code, runtime, summary})


class Record(NamedTuple):
    """One decoded record with its place in the log (a tuple: a run log holds millions of them)."""

    seq: int
    kind: str
    fields: tuple[Any, ...]


def _default(value: Any) -> Any:
    """Encodes numpy arrays (kept as arrays) and numpy scalars that slipped through."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and hasattr(value, "shape"):
        if value.shape == ():
            return value.item()
        payload = msgpack.packb([dtype.str, list(value.shape), value.tobytes()], use_bin_type=True)
        return msgpack.ExtType(_ARRAY_EXT, payload)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _ARRAY_EXT:
        import numpy as np

        dtype, shape, raw = msgpack.unpackb(data, raw=False)
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
    return msgpack.ExtType(code, data)


def make_packer(default: Callable[[Any], Any] | None = None) -> Callable[[Any], bytes]:
    """A packer whose ``default`` may turn media into file references before encoding."""
    if default is None:
        fallback = _default
    else:

        def fallback(value: Any) -> Any:
            converted = default(value)
            return _default(converted) if converted is value else converted

    packer = msgpack.Packer(default=fallback, use_bin_type=True, strict_types=False)
    return packer.pack


def make_plain_packer() -> Callable[[Any], bytes]:
    """A packer for msgpack's own types only: anything else raises ``TypeError`` (no ``default``).

    Gives the same bytes as :func:`make_packer` for what it accepts; the logging thread packs
    batches ahead with it and leaves a batch it refuses (media, numpy) to the writer thread.
    """
    return msgpack.Packer(use_bin_type=True, strict_types=False).pack


def _array_header(count: int) -> bytes:
    if count < 16:
        return bytes((0x90 | count,))
    if count < 0x10000:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def pack_records(items: list[Any], pack: Callable[[Any], bytes]) -> bytes:
    """``pack(items)`` for a list of records some of which ``log()`` packed already (``bytes``, one record each).

    A list of packed records only is joined (a copy, no encoding); records still Python objects
    are packed here, one call for a list that holds no packed record.
    """
    try:
        return b"".join([_array_header(len(items)), *items])  # one copy of the records, not two
    except TypeError:  # records that are not packed yet
        pass
    if bytes not in set(map(type, items)):
        return pack(items)
    return b"".join([_array_header(len(items)), *(item if type(item) is bytes else pack(item) for item in items)])


#: the first step of each width msgpack gives a positive int (fixint, uint8, uint16, uint32, uint64)
_STEP_WIDTH_STARTS = (0, 0x80, 0x100, 0x10000, 0x1_0000_0000, 1 << 64)
#: two float64 values none of whose bytes are alike (all 0x00 / all 0x7f)
_FLOAT_PROBES = (0.0, struct.unpack(">d", b"\x7f" * 8)[0])


def float_row_template(pack: Callable[[Any], bytes], step: int, names: Sequence[str]) -> tuple[int, int, int] | None:
    """What a history record of floats under ``names`` (in that order) packs to, its values aside.

    Returns ``(mask, expected, bound)``: for a step from ``step`` up to ``bound`` (where msgpack's
    encoding of the step grows a byte), a record ``packed`` holds exactly these names, in this order,
    each with a float value, if and only if ``int.from_bytes(packed, "little") & mask == expected``.
    The mask keeps every byte but the payloads of the step, the two times and the values (the
    bytes where two records of the same shape can differ); msgpack writes every float as 0xcb
    and 8 bytes, so each marker kept in place pins its value's type and length, and so where the
    next name starts and that the record ends there. One integer operation then checks a whole
    row, where comparing its names and value types costs a list and a call per value. None for a
    step beyond 64 bits.
    """
    for start, bound in zip(_STEP_WIDTH_STARTS, _STEP_WIDTH_STARTS[1:]):
        if start <= step < bound:
            break
    else:
        return None
    low, high = (pack((HISTORY, number, value, value, dict.fromkeys(names, value)))
                 for number, value in zip((start, bound - 1), _FLOAT_PROBES))
    mask = int.from_bytes(bytes(0 if a != b else 0xFF for a, b in zip(low, high)), "little")
    return mask, int.from_bytes(low, "little") & mask, bound


def unpacked_records(items: list[Any]) -> list[Any]:
    """The records of a list where ``log()`` packed some of them already, all as tuples (for record observers)."""
    if bytes not in set(map(type, items)):
        return items
    return [unpack_record(item) if type(item) is bytes else item for item in items]


def unpack_record(packed: bytes) -> tuple[Any, ...]:
    """A record packed by ``log()`` as the tuple it was packed from."""
    return msgpack.unpackb(packed, raw=False, ext_hook=_ext_hook, strict_map_key=False, use_list=False)


def join_packed(packed_lists: list[bytes], count: int) -> bytes:
    """One packed list of ``count`` records from several packed lists (``pack(records)``) that hold them.

    The bytes are those ``pack`` gives for the concatenated list: each list's array header is
    dropped and one for the whole is written, the records themselves are copied as they are.
    """
    parts: list[bytes | memoryview] = [_array_header(count)]
    for packed in packed_lists:
        first = packed[0]
        skip = 1 if 0x90 <= first <= 0x9F else 3 if first == 0xDC else 5
        parts.append(memoryview(packed)[skip:])
    return b"".join(parts)


_INT_RANGE = (-(2**63), 2**64 - 1)


def coerce_unencodable(value: Any) -> tuple[Any, bool]:
    """Makes a value msgpack can hold; says whether anything changed.

    Integers beyond 64 bits become floats, and strings with lone surrogates (not valid unicode)
    get U+FFFD in their place. The writer uses it only after an encode failed, so the common
    case pays nothing.
    """
    kind = type(value)
    if kind is int:
        if _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return value, False
        return float(value), True
    if kind is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), True
        return value, False
    if kind is dict:
        changed = False
        result = {}
        for key, item in value.items():
            new_key, key_changed = coerce_unencodable(key)
            result[new_key], item_changed = coerce_unencodable(item)
            changed = changed or key_changed or item_changed
        return (result, True) if changed else (value, False)
    if kind in (list, tuple):
        pairs = [coerce_unencodable(item) for item in value]
        if any(item_changed for _, item_changed in pairs):
            return kind(item for item, _ in pairs), True
        return value, False
    return value, False


def encode_frame(first_seq: int, records: list[Any], pack: Callable[[Any], bytes]) -> bytes:
    """Frames a batch of records; the caller writes the bytes."""
    payload = pack([first_seq, records])
    return FRAME_HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def frame_head(first_seq: int, packed: bytes) -> bytes:
    """The bytes that make records packed ahead (``packed``: ``pack(records)``) a frame, written before them.

    ``frame_head(first_seq, packed) + packed`` is the frame :func:`encode_frame` gives for those
    records. The writer packs records as they arrive and numbers them only when it writes them, so
    that records it had to drop (a full disk) leave no gap in the sequence the server applies; it
    writes the head and the records as two buffers, without joining them into a copy.
    """
    prefix = b"\x92" + msgpack.packb(first_seq)
    return FRAME_HEADER.pack(len(prefix) + len(packed), zlib.crc32(packed, zlib.crc32(prefix))) + prefix


def decode_payload(payload: bytes) -> tuple[int, list[Any]]:
    """Decodes one frame's payload; the garbage collector is paused meanwhile.

    A frame of 2,048 history rows is tens of thousands of new objects, none of them cyclic: with
    the collector on, decoding a 100,000-row log spent about a third of its time in collections
    that walk those rows and find nothing to free.
    """
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        first_seq, records = msgpack.unpackb(payload, raw=False, ext_hook=_ext_hook, strict_map_key=False,
                                             use_list=True)
    finally:
        if collecting:
            gc.enable()
    return first_seq, records


def intact_payloads(data: bytes) -> list[bytes] | None:
    """The payload of every frame when the whole log is intact (header, every CRC, no tail), else None.

    For readers that walk payloads without decoding them (:func:`history_locations`); anything
    else (damage, a torn tail, a live run's unfinished frame) is left to :func:`iter_records`,
    which skips and reports it.
    """
    if not data.startswith(MAGIC):
        return None
    view = memoryview(data)
    offset = len(MAGIC)
    payloads = []
    while offset < len(view):
        frame = _frame_at(view, offset)
        if frame is None:
            return None
        payloads.append(frame[0])
        offset = frame[1]
    return payloads


def _unpacker(payload: bytes) -> tuple[msgpack.Unpacker, int, int]:
    """An unpacker positioned on the first record of a payload, the payload's first sequence number and record count."""
    unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False, use_list=True,
                                max_buffer_size=max(len(payload), 1))
    unpacker.feed(payload)
    if unpacker.read_array_header() != 2:
        raise ValueError("not a run-log payload")
    first_seq = unpacker.unpack()
    return unpacker, first_seq, unpacker.read_array_header()


def history_locations(payloads: list[bytes]) -> list[tuple[int, int]]:
    """``(payload index, record index)`` of every history record, in log order, without decoding the rows.

    Only each record's kind is decoded; its other fields are skipped in C, so a 100,000-row log
    is walked in a fraction of the time a full decode takes.
    """
    locations: list[tuple[int, int]] = []
    append = locations.append
    for number, payload in enumerate(payloads):
        unpacker, _, count = _unpacker(payload)
        header, unpack, skip = unpacker.read_array_header, unpacker.unpack, unpacker.skip
        for index in range(count):
            fields = header()
            if unpack() == HISTORY:
                append((number, index))
            for _ in range(fields - 1):
                skip()
    return locations


def records_at(payloads: list[bytes], locations: list[tuple[int, int]]) -> list[Record]:
    """The records at ``locations`` (increasing, from :func:`history_locations`), decoded one by one."""
    chosen: list[Record] = []
    wanted_by_payload: dict[int, list[int]] = {}
    for number, index in locations:
        wanted_by_payload.setdefault(number, []).append(index)
    for number, indices in wanted_by_payload.items():
        unpacker, first_seq, _ = _unpacker(payloads[number])
        position = 0
        for index in indices:
            for _ in range(index - position):
                unpacker.skip()
            record = unpacker.unpack()
            position = index + 1
            chosen.append(Record(first_seq + index, record[0], tuple(record[1:])))
    return chosen


@dataclass
class ScanResult:
    """What a scan of a log found besides its records.

    ``valid_end`` is where the last intact frame ends: what follows it is a torn tail that a
    writer may cut off. ``damaged`` says that something other than a torn tail was skipped (a bad
    header, corrupt bytes with intact frames after them): a log worth keeping a copy of.
    """

    valid_end: int = len(MAGIC)
    problems: list[str] | None = None
    damaged: bool = False


def _frame_at(data: memoryview, offset: int) -> tuple[bytes, int] | None:
    if offset + FRAME_HEADER.size > len(data):
        return None
    length, crc = FRAME_HEADER.unpack_from(data, offset)
    end = offset + FRAME_HEADER.size + length
    if length > MAX_FRAME_BYTES or end > len(data):
        return None
    payload = bytes(data[offset + FRAME_HEADER.size : end])
    if zlib.crc32(payload) != crc:
        return None
    return payload, end


#: every payload is msgpack of ``[first_seq, records]``: a 2-item array holding a positive int
_PAYLOAD_START = 0x92
_SEQ_MARKERS = frozenset(range(0x01, 0x80)) | {0xCC, 0xCD, 0xCE, 0xCF}


def find_frame(data: bytes, start: int) -> int | None:
    """The first offset at or after ``start`` where a whole, valid frame starts, or None.

    Linear in the bytes scanned: ``bytes.find`` (C speed) jumps between the places where a payload
    could begin (``0x92``, then a sequence-number marker), and only those whose length field fits
    the data pay for a CRC; a frame is taken only when its CRC matches and its payload decodes.
    """
    size = len(data)
    header = FRAME_HEADER.size
    view = memoryview(data)
    position = data.find(_PAYLOAD_START, start + header)
    while position != -1:
        offset = position - header
        if position + 1 < size and data[position + 1] in _SEQ_MARKERS:
            length, crc = FRAME_HEADER.unpack_from(data, offset)
            end = position + length
            if 2 <= length <= MAX_FRAME_BYTES and end <= size and zlib.crc32(view[position:end]) == crc:
                try:
                    decode_payload(data[position:end])
                except Exception:
                    pass
                else:
                    return offset
        position = data.find(_PAYLOAD_START, position + 1)
    return None


def iter_records(data: bytes, result: ScanResult, source: str = "run log") -> Iterator[Record]:
    """Yields every record of a log image; a torn tail or a corrupt frame is noted, never raised."""
    problems: list[str] = []
    result.problems = problems
    view = memoryview(data)
    offset = len(MAGIC)
    result.valid_end = offset
    if not data.startswith(MAGIC):
        # a damaged header (one flipped bit) must not cost the intact frames after it
        result.valid_end = 0
        first = find_frame(data, offset) if len(data) > offset else None
        if first is None:
            problems.append(f"{source}: not a jupyter_tracker run log (bad header)")
            result.damaged = len(data) > offset
            return
        problems.append(f"{source}: the header is damaged; {first} bytes skipped, the frames after it kept")
        result.damaged = True
        offset = first
    while offset < len(view):
        frame = _frame_at(view, offset)
        decoded = None
        if frame is not None:
            try:
                decoded = decode_payload(frame[0])
            except Exception:
                decoded = None
        if frame is None or decoded is None:
            following = find_frame(data, offset + 1)
            if following is None:
                problems.append(
                    f"{source}: skipped a torn or corrupt tail of {len(view) - offset} bytes at offset {offset}"
                )
                return
            problems.append(
                f"{source}: skipped {following - offset} corrupt bytes at offset {offset}; later records kept"
            )
            result.damaged = True
            offset = following
            continue
        first_seq, records = decoded
        for index, record in enumerate(records):
            yield Record(first_seq + index, record[0], tuple(record[1:]))
        offset = frame[1]
        result.valid_end = offset
