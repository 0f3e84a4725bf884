"""A small PNG encoder and header reader on numpy and zlib, so images need no Pillow.

Rows use PNG's "Sub" filter (a vectorised difference with the pixel to the left), which
compresses natural images much better than no filter at the same cost.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> grey, grey+alpha, RGB, RGBA
#: zlib level 1 (as OpenCV writes PNGs): 2-4x faster than 6 for photo-like images, about 4% larger
COMPRESSION_LEVEL = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray, level: int = COMPRESSION_LEVEL) -> bytes:
    """PNG bytes of a uint8 array shaped (H, W) or (H, W, C) with C in 1..4.

    >>> encode_png(np.zeros((2, 3), dtype=np.uint8))[:8] == SIGNATURE
    True
    """
    if pixels.dtype != np.uint8:
        raise TypeError(f"encode_png needs uint8 pixels, got {pixels.dtype}")
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(height, width * channels)
    rows = np.empty((height, width * channels + 1), dtype=np.uint8)
    rows[:, 0] = 1  # filter type Sub
    rows[:, 1 : channels + 1] = flat[:, :channels]
    np.subtract(flat[:, channels:], flat[:, :-channels], out=rows[:, channels + 1 :])  # wraps mod 256
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return b"".join((SIGNATURE, _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)), _chunk(b"IEND", b"")))


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None when ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height

