"""Reads the complete frames of a run log from a byte offset, while its writer may still be appending.

A frame whose bytes are not all on disk yet is simply not ready: :meth:`LogTail.read` stops
before it and the next call picks it up. Only when the log is final (its writer closed, or the
process that wrote it is gone) is a damaged frame treated as such: a torn tail ends the log, a
corrupt frame in the middle is skipped up to the next valid frame and reported.

Records are handed out as their raw msgpack bytes, cut from the frame payload without decoding
them, so a batch for the server is assembled by concatenation (see :func:`encode_batch`).
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import msgpack

from jupyter_tracker.store import records

_HEADER = records.FRAME_HEADER


@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame of the log: where it lies and its records as raw msgpack bytes."""

    start: int
    end: int
    first_seq: int
    raw_records: list[bytes]

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.raw_records) - 1


def split_payload(payload: bytes) -> tuple[int, list[bytes]]:
    """``[first_seq, [record, ...]]`` -> ``first_seq`` and each record's raw msgpack bytes."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(payload) + 1)
    unpacker.feed(payload)
    if unpacker.read_array_header() != 2:
        raise ValueError("frame payload is not [first_seq, records]")
    first_seq = unpacker.unpack()
    if not isinstance(first_seq, int) or first_seq < 1:
        raise ValueError(f"frame payload has an invalid first sequence number {first_seq!r}")
    count = unpacker.read_array_header()
    raw: list[bytes] = []
    start = unpacker.tell()
    for _ in range(count):
        unpacker.skip()
        end = unpacker.tell()
        raw.append(payload[start:end])
        start = end
    if start != len(payload):
        raise ValueError("frame payload has trailing bytes")
    return first_seq, raw


def encode_batch(first_seq: int, raw_records: list[bytes]) -> bytes:
    """The body of ``POST .../records``: exactly a frame payload, built from raw record bytes."""
    packer = msgpack.Packer(use_bin_type=True)
    return b"".join(
        (packer.pack_array_header(2), packer.pack(first_seq), packer.pack_array_header(len(raw_records)), *raw_records)
    )


class LogTail:
    """Follows one run log from ``offset`` (a frame boundary; 0 means the start of the file).

    >>> tail = LogTail(Path("run.jtlog"))  # doctest: +SKIP
    >>> frames = tail.read()  # doctest: +SKIP
    >>> tail.offset  # the byte after the last complete frame read  # doctest: +SKIP
    """

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = max(offset, len(records.MAGIC))
        #: the end of the last valid frame read: a safe place to resume from (``offset`` may
        #: have moved past a torn tail that a resumed writer will overwrite)
        self.good_offset = self.offset
        #: what a final read skipped: one sentence per damaged region
        self.problems: list[str] = []
        #: a damaged header was already looked past (the frames after it are read like any others)
        self._header_skipped = False

    @property
    def size(self) -> int:
        """Bytes in the log now (0 when it does not exist yet)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def read(self, max_bytes: int = 8 << 20, final: bool = False) -> list[Frame]:
        """The complete frames after :attr:`offset`, about ``max_bytes`` of them; advances the offset.

        At least one frame is returned when one is ready, however large. With ``final`` the log
        is known to be complete: damage is skipped (see the module docstring) instead of waited on.
        """
        try:
            with open(self.path, "rb") as handle:
                if self.offset == len(records.MAGIC) and not self._header_skipped:
                    if handle.read(len(records.MAGIC)) != records.MAGIC:
                        if not final or self.size < len(records.MAGIC):
                            return []
                        # a damaged header must not cost the intact frames after it (as the reader)
                        handle.seek(0)
                        first = records.find_frame(handle.read(), len(records.MAGIC))
                        if first is None:
                            self.problems.append(f"{self.path}: not a jupyter_tracker run log (bad header)")
                            return []
                        self.problems.append(f"{self.path}: the header is damaged; the frames after it are sent")
                        self.offset = first
                        self._header_skipped = True
                handle.seek(self.offset)
                data = handle.read(max_bytes)
                frames: list[Frame] = []
                position = 0
                while True:
                    frame, needed = self._frame_at(data, position)
                    if frame is None and needed and not frames:
                        # one frame larger than max_bytes: read exactly what it needs
                        handle.seek(self.offset)
                        data = handle.read(needed)
                        frame, needed = self._frame_at(data, position)
                    if frame is None:
                        break
                    frames.append(frame)
                    position = frame.end - self.offset
                if frames:
                    self.offset = self.good_offset = frames[-1].end
                if final and not frames and self.offset < self.size:
                    self._skip_damage(handle)
                    if self.offset < self.size:
                        return self.read(max_bytes, final=True)
                return frames
        except FileNotFoundError:
            return []

    def first_seq_at(self, offset: int) -> int | None:
        """The first sequence number of the complete, valid frame at ``offset``, else None."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                header = handle.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    return None
                length, _ = _HEADER.unpack(header)
                if length > records.MAX_FRAME_BYTES:
                    return None
                handle.seek(offset)
                frame, _ = LogTail(self.path, offset)._frame_at(handle.read(_HEADER.size + length), 0)
        except OSError:
            return None
        return frame.first_seq if frame is not None else None

    def _frame_at(self, data: bytes, position: int) -> tuple[Frame | None, int]:
        """The frame at ``position`` in ``data``; or None and the bytes needed to complete it (0: damaged/none)."""
        if position + _HEADER.size > len(data):
            return None, 0
        length, crc = _HEADER.unpack_from(data, position)
        end = position + _HEADER.size + length
        if length > records.MAX_FRAME_BYTES:
            return None, 0
        if end > len(data):
            return None, end
        payload = data[position + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            return None, 0
        try:
            first_seq, raw = split_payload(payload)
        except Exception:
            return None, 0
        return Frame(self.offset + position, self.offset + end, first_seq, raw), 0

    def _skip_damage(self, handle) -> None:  # type: ignore[no-untyped-def]
        """Moves the offset past damaged bytes to the next valid frame, or to the end of the log."""
        handle.seek(self.offset)
        data = handle.read()
        start = self.offset
        position = records.find_frame(data, 1)  # linear: a CRC only where a frame can start
        if position is not None:
            self.problems.append(f"{self.path}: skipped {position} corrupt bytes at offset {start}")
            self.offset = start + position
            return
        self.problems.append(f"{self.path}: skipped a torn or corrupt tail of {len(data)} bytes at offset {start}")
        self.offset = start + len(data)
