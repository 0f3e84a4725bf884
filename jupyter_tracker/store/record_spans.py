"""Where each record of an intact run log lies, found without decoding the records.

``history()`` of a 100,000-row run wants 500 rows: decoding all 100,000 (a dict of floats each)
to keep 500 spent most of its time building objects it threw away. Here a frame's payload is
walked in C (``Unpacker.skip``) to the byte offset of every record, a record's kind is read off
its first bytes, and only the records asked for are decoded, by :func:`records.decode_payload`
over a payload made of just their bytes (so they decode exactly as a full read decodes them).

The kind test relies on the writer's canonical msgpack (a record is a fixarray whose first item
is a fixstr). A payload holding anything else raises :class:`UnexpectedLayout`; callers then read
the log with the tolerant full reader, which is slower but knows every layout.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from jupyter_tracker.store import records

#: a history record's first bytes after its array header: the kind "h" as a one-character fixstr
_HISTORY_KIND = msgpack.packb(records.HISTORY)
#: above this share of records holding a key, a payload is decoded whole instead of record by record
_DECODE_WHOLE_SHARE = 0.5


class UnexpectedLayout(ValueError):
    """A payload this walker does not know (a foreign encoder, a future frame layout)."""


@dataclass
class PayloadSpans:
    """One frame's payload with the byte offset of each record: record ``i`` is ``payload[offsets[i]:offsets[i + 1]]``."""

    payload: bytes
    first_seq: int
    offsets: list[int]

    @property
    def count(self) -> int:
        return len(self.offsets) - 1


def payload_spans(payload: bytes) -> PayloadSpans:
    """The offsets of every record of one payload (``[first_seq, [record, ...]]``), skipped in C."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=max(len(payload), 1))
    unpacker.feed(payload)
    try:
        if unpacker.read_array_header() != 2:
            raise UnexpectedLayout("a run-log payload is a 2-item array")
        first_seq = unpacker.unpack()
        count = unpacker.read_array_header()
        tell, skip = unpacker.tell, unpacker.skip
        offsets = [tell()]
        # skip() returns None: the condition only makes the comprehension skip a record before each tell()
        offsets += [tell() for _ in range(count) if skip() is None]
    except (msgpack.OutOfData, msgpack.UnpackValueError, ValueError) as error:
        raise UnexpectedLayout(f"payload does not walk: {error}") from error
    if type(first_seq) is not int or offsets[-1] != len(payload):
        raise UnexpectedLayout("payload holds more than [first_seq, records]")
    return PayloadSpans(payload, first_seq, offsets)


def history_indices(spans: PayloadSpans) -> list[int]:
    """Positions (in the payload) of its history records, from each record's first three bytes.

    A history record starts with a fixarray header and the fixstr "h"; every other record must
    start with a fixarray header and a fixstr kind too, or :class:`UnexpectedLayout` is raised
    (a kind framed otherwise could be "h"). Vectorised: a payload holds thousands of records.
    """
    import numpy as np

    if not spans.count:
        return []
    data = np.frombuffer(spans.payload, dtype=np.uint8)
    starts = np.array(spans.offsets[:-1], dtype=np.intp)
    header, kind_header, kind = data[starts], data[starts + 1], data[starts + 2]
    fixarray = (header >= 0x91) & (header <= 0x9F)
    history = fixarray & (kind_header == _HISTORY_KIND[0]) & (kind == _HISTORY_KIND[1])
    canonical = fixarray & (kind_header >= 0xA0) & (kind_header <= 0xBF)
    if not canonical.all():
        raise UnexpectedLayout(f"record {int(np.argmin(canonical))} is not a canonical record")
    return np.flatnonzero(history).tolist()  # type: ignore[no-any-return]


def decoded_at(spans: PayloadSpans, indices: Sequence[int]) -> list[Any]:
    """The records at ``indices`` (increasing) of one payload, decoded as a full read decodes them.

    Every record asked for: the payload is decoded as it is, with no copy of its bytes.
    """
    if not indices:
        return []
    if len(indices) == spans.count:
        return records.decode_payload(spans.payload)[1]
    payload, offsets = spans.payload, spans.offsets
    body = b"".join(payload[offsets[index] : offsets[index + 1]] for index in indices)
    _, decoded = records.decode_payload(b"\x92\x00" + msgpack.Packer().pack_array_header(len(indices)) + body)
    return decoded  # type: ignore[no-any-return]


def as_record(seq: int, decoded: Sequence[Any]) -> records.Record:
    """A decoded record list as the :class:`records.Record` a full read yields."""
    return records.Record(seq, decoded[0], tuple(decoded[1:]))


def decode_records(spans: PayloadSpans, indices: Sequence[int]) -> list[records.Record]:
    """The records at ``indices`` (increasing) of one payload, as a full read yields them."""
    first_seq = spans.first_seq
    return [as_record(first_seq + index, record)
            for index, record in zip(indices, decoded_at(spans, indices), strict=True)]


def _key_needles(keys: Sequence[str]) -> list[bytes]:
    """The UTF-8 bytes of each key: however msgpack frames a string, its bytes lie in the record whole."""
    needles = []
    for key in keys:
        try:
            needles.append(key.encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate: no decoded key can equal it
            continue
    return needles


def history_with_keys(payload: bytes, keys: Sequence[str]) -> list[tuple[int, list[Any]]]:
    """``(seq, decoded record)`` of the payload's history records whose values hold one of ``keys``, in order.

    A payload whose bytes hold none of the keys' bytes is not decoded at all; one where few
    records hold them has only those decoded; each is checked exactly (a key's bytes may also lie
    in another key or a value). Records come back undecorated: a caller samples them first.
    """
    needles = _key_needles(keys)
    if not needles or not any(needle in payload for needle in needles):
        return []
    history = records.HISTORY
    spans = payload_spans(payload)
    if sum(payload.count(needle) for needle in needles) >= _DECODE_WHOLE_SHARE * spans.count:
        first_seq, decoded = records.decode_payload(payload)
        return [(first_seq + index, record) for index, record in enumerate(decoded)
                if record[0] == history and any(key in record[4] for key in keys)]
    offsets = spans.offsets
    holding: set[int] = set()
    for needle in needles:
        position = payload.find(needle, offsets[0])
        while position != -1:
            index = bisect.bisect_right(offsets, position) - 1
            holding.add(index)
            position = payload.find(needle, offsets[index + 1])
    chosen = sorted(holding.intersection(history_indices(spans)))
    first_seq = spans.first_seq
    return [(first_seq + index, record) for index, record in zip(chosen, decoded_at(spans, chosen), strict=True)
            if any(key in record[4] for key in keys)]
