"""``Video``: frames (numpy, torch) or a video file, stored under ``media/videos/``.

Frames are copied when the ``Video`` is made and encoded later by the run's writer thread, off
the training loop: GIF with Pillow, MP4/WebM with imageio and its ffmpeg plugin. A format whose
encoder is not installed is refused at once, with the package to install.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_tracker.media._files import as_numpy, caption_text, write_media
from jupyter_tracker.values import MediaValue

#: format -> (the modules its encoder needs, what to install)
ENCODERS = {
    "gif": (("PIL",), "pillow"),
    "mp4": (("imageio", "imageio_ffmpeg"), "imageio imageio-ffmpeg"),
    "webm": (("imageio", "imageio_ffmpeg"), "imageio imageio-ffmpeg"),
}
_FILE_FORMATS = ("gif", "mp4", "webm", "ogg")
_MIME = {"gif": "image/gif", "mp4": "video/mp4", "webm": "video/webm", "ogg": "video/ogg"}
_CHANNELS = (1, 3, 4)


class VideoFormatError(ValueError):
    """The video's format is unknown, or its encoder is not installed."""


class Video(MediaValue):
    """A video to log: ``run.log({"rollout": Video(frames, fps=8)})``.

    ``data`` is a 4-D array of frames, ``(time, channel, height, width)`` as wandb takes it or
    ``(time, height, width, channel)``, with 1, 3 or 4 channels (uint8, or floats in [0, 1]); a
    5-D batch ``(batch, time, ...)`` is laid out as a grid of videos. Or the path of a ``.gif``,
    ``.mp4``, ``.webm`` or ``.ogg`` file, kept as it is. ``format``: ``gif`` (default), ``mp4``, ``webm``.

    >>> Video(np.zeros((4, 3, 8, 8), dtype=np.uint8), fps=2).frames
    4
    """

    media_kind = "video"

    def __init__(self, data_or_path: Any, caption: str | None = None, fps: int | None = None,
                 format: str | None = None) -> None:  # noqa: A002 - wandb's name
        self.caption = caption_text(caption, "Video")
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps <= 0):
            raise ValueError(f"Video(fps=...) must be a positive number, got {fps!r}")
        self.fps = fps or 4
        self._frames: np.ndarray | None = None
        self._encoded: bytes | None = None
        data = as_numpy(data_or_path)
        if isinstance(data, (str, os.PathLike)):
            self._from_file(Path(data), format)
            return
        self.format = (format or "gif").lower()
        if self.format not in ENCODERS:
            raise VideoFormatError(f"Video(format=...) must be one of {', '.join(ENCODERS)} for frames, got {format!r}")
        modules, package = ENCODERS[self.format]
        missing = [name for name in modules if importlib.util.find_spec(name) is None]
        if missing:
            raise VideoFormatError(f"Video(format={self.format!r}) needs {', '.join(missing)}: pip install {package}")
        if not isinstance(data, np.ndarray):
            raise TypeError(f"Video() takes a numpy array, torch tensor or a video file path, not {type(data).__name__}")
        self._frames = _frames_thwc(data)
        self.frames, self.height, self.width = (int(size) for size in self._frames.shape[:3])

    def _from_file(self, path: Path, format: str | None) -> None:  # noqa: A002
        suffix = (format or path.suffix.lstrip(".")).lower()
        if suffix not in _FILE_FORMATS:
            raise VideoFormatError(f"Video({str(path)!r}): files must be {', '.join(_FILE_FORMATS)}, not {suffix!r}")
        try:
            self._encoded = path.read_bytes()
        except OSError as error:
            raise FileNotFoundError(f"Video({str(path)!r}): cannot read the file ({error.strerror})") from None
        self.format = suffix
        self.frames = self.height = self.width = 0  # not decoded: the file is kept as it is

    def encoded_bytes(self) -> bytes:
        """The video file's bytes, encoding the frames on first use (then the frames are let go)."""
        if self._encoded is None:
            assert self._frames is not None
            self._encoded = _encode(self._frames, self.format, self.fps)
            self._frames = None
        return self._encoded

    def encode(self, run_dir: Any) -> dict[str, Any]:
        path, digest = write_media(run_dir, "videos", self.encoded_bytes(), f".{self.format}")
        return {"_type": "video-file", "path": path, "sha256": digest, "format": self.format, "fps": self.fps,
                "frames": self.frames, "width": self.width, "height": self.height, "caption": self.caption}

    def _repr_html_(self) -> str:
        """In a notebook: a GIF as an image, other formats in a ``<video>`` player (encoded now if not yet)."""
        source = f"data:{_MIME[self.format]};base64," + base64.b64encode(self.encoded_bytes()).decode("ascii")
        label = f"<div>{html.escape(self.caption)}</div>" if self.caption else ""
        if self.format == "gif":
            return f'{label}<img src="{source}" alt="video">'
        return f'{label}<video controls loop src="{source}"></video>'

    def __repr__(self) -> str:
        shape = f" {self.frames} frames {self.width}x{self.height}" if self.frames else ""
        return f"<Video {self.format}{shape}>"


def _frames_thwc(array: np.ndarray) -> np.ndarray:
    if array.ndim == 5:
        array = _grid(array)
    if array.ndim != 4:
        raise ValueError(f"Video: frames must be a 4-D array (time, channel, height, width), got shape {array.shape}")
    if array.shape[1] in _CHANNELS:
        array = np.transpose(array, (0, 2, 3, 1))  # TCHW, wandb's layout
    elif array.shape[3] not in _CHANNELS:
        raise ValueError(f"Video: shape {array.shape} has no channel axis of 1, 3 or 4 (TCHW or THWC)")
    if array.shape[0] == 0 or array.size == 0:
        raise ValueError(f"Video: no frames (shape {array.shape})")
    return _to_uint8(array)


def _grid(batch: np.ndarray) -> np.ndarray:
    """(batch, time, C, H, W) as one (time, C, rows*H, cols*W) video, as wandb lays a batch out."""
    count, time, channels, height, width = batch.shape
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    padded = np.zeros((rows * columns, time, channels, height, width), dtype=batch.dtype)
    padded[:count] = batch
    grid = padded.reshape(rows, columns, time, channels, height, width).transpose(2, 3, 0, 4, 1, 5)
    return grid.reshape(time, channels, rows * height, columns * width)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return np.array(array, copy=True, order="C")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            raise ValueError("Video: float frames must be finite and lie in [0, 1] (or pass uint8)")
        return np.ascontiguousarray(np.rint(array * 255.0), dtype=np.uint8)
    if array.dtype.kind in "iub":
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"Video: integer frames must lie in [0, 255], found [{array.min()}, {array.max()}]")
        return np.ascontiguousarray(array, dtype=np.uint8)
    raise TypeError(f"Video: arrays of dtype {array.dtype} are not frames")


def _encode(frames: np.ndarray, format: str, fps: float) -> bytes:  # noqa: A002
    if frames.shape[3] == 1:
        frames = np.repeat(frames, 3, axis=3)
    if format == "gif":
        from PIL import Image as PILImage

        mode = "RGBA" if frames.shape[3] == 4 else "RGB"
        images = [PILImage.fromarray(frame, mode) for frame in frames]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(round(1000 / fps)), loop=0)
        return buffer.getvalue()
    import imageio.v3 as imageio

    return bytes(imageio.imwrite("<bytes>", frames[:, :, :, :3], extension=f".{format}", fps=fps))
