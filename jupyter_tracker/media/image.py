"""``Image``: numpy arrays, PIL images, matplotlib figures or image files, stored as PNG under ``media/images/``."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_tracker.media._files import as_numpy, caption_text, write_media
from jupyter_tracker.media.overlays import check_boxes, check_classes, check_masks, draw_overlays, encode_overlays
from jupyter_tracker.media.png import encode_png, png_size
from jupyter_tracker.values import MediaValue

_MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


class Image(MediaValue):
    """An image to log: ``run.log({"examples": [Image(array, caption="cat") for ...]})``.

    ``data`` is a numpy array (HW, HWC or CHW with 1, 3 or 4 channels; uint8, or float in
    [0, 1]), a torch tensor, a PIL image, a matplotlib figure, or the path of an image file.
    ``mode`` ("L", "RGB", "RGBA") states the channels an array must have. The pixels are
    copied now; the PNG is written later by the run's writer thread.

    >>> Image(np.zeros((32, 32, 3), dtype=np.uint8), caption="black").width
    32
    """

    media_kind = "image"
    width: int
    height: int
    masks: dict[str, dict[str, Any]] | None
    boxes: dict[str, dict[str, Any]] | None
    classes: list[dict[str, Any]] | None

    def __init__(self, data: Any, caption: str | None = None, mode: str | None = None, *,
                 masks: Mapping[str, Any] | None = None, boxes: Mapping[str, Any] | None = None,
                 classes: Sequence[Any] | None = None, grouping: int | None = None,
                 file_type: str | None = None, normalize: bool = True) -> None:
        """``masks``, ``boxes`` and ``classes`` are wandb's overlays (see :mod:`jupyter_tracker.media.overlays`);
        ``grouping``, ``file_type`` and ``normalize`` are accepted for wandb's signature (images are PNG)."""
        self.caption = caption_text(caption, "Image")
        self.boxes = check_boxes(boxes) if boxes is not None else None
        self.classes = check_classes(classes) if classes is not None else None
        self.masks = None
        if mode is not None and mode not in _MODES:
            raise ValueError(f"Image(mode=...) must be one of {', '.join(_MODES)}, got {mode!r}")
        self._pixels: np.ndarray | None = None
        self._png: bytes | None = None
        data = as_numpy(data)
        if isinstance(data, Image):
            self._pixels, self._png = data._pixels, data._png
            self.width, self.height = data.width, data.height
            self.boxes, self.classes = self.boxes or data.boxes, self.classes or data.classes
            self.masks = check_masks(masks, (self.height, self.width)) if masks is not None else data.masks
            return
        if isinstance(data, np.ndarray):
            self._set_pixels(pixels_from_array(data, mode))
        elif isinstance(data, (str, os.PathLike)):
            self._from_file(Path(data), mode)
        elif _is_pil_image(data):
            self._set_pixels(_pixels_from_pil(data, mode))
        elif _is_matplotlib_figure(data):
            self._from_png(_render_figure(data))
        else:
            raise TypeError(
                f"Image() takes a numpy array, torch tensor, PIL image, matplotlib figure or file path, "
                f"not {type(data).__module__}.{type(data).__qualname__}"
            )
        if masks is not None:  # checked against the size, known once the pixels are read
            self.masks = check_masks(masks, (self.height, self.width))

    def _set_pixels(self, pixels: np.ndarray) -> None:
        self._pixels = pixels
        self.height, self.width = int(pixels.shape[0]), int(pixels.shape[1])

    def _from_png(self, data: bytes) -> None:
        size = png_size(data)
        if size is None:
            raise ValueError("Image: the data is not a PNG image")
        self._png = data
        self.width, self.height = size

    def _from_file(self, path: Path, mode: str | None) -> None:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise FileNotFoundError(f"Image({str(path)!r}): cannot read the file ({error.strerror})") from None
        if png_size(data) is not None and mode is None:
            self._from_png(data)
            return
        try:
            from PIL import Image as PILImage
        except ImportError:
            raise ValueError(f"Image({str(path)!r}): only PNG files can be read without Pillow (pip install pillow)") from None
        try:
            with PILImage.open(io.BytesIO(data)) as opened:
                opened.load()
                self._set_pixels(_pixels_from_pil(opened, mode))
        except OSError as error:
            raise ValueError(f"Image({str(path)!r}): not an image file Pillow can read ({error})") from None

    @property
    def pixels(self) -> np.ndarray | None:
        """The uint8 pixels (H, W) or (H, W, C), until the image is encoded (None for PNG input)."""
        return self._pixels

    def png_bytes(self) -> bytes:
        if self._png is None:
            assert self._pixels is not None
            self._png = encode_png(self._pixels)
            self._pixels = None  # media do not hold large arrays after serialising
        return self._png

    def encode(self, run_dir: Any) -> dict[str, Any]:
        """Writes ``media/images/<sha256>.png`` and returns the reference the history row keeps."""
        shown = self._png_with_overlays() if self.masks or self.boxes else None
        path, digest = write_media(run_dir, "images", self.png_bytes(), ".png")
        reference = {"_type": "image-file", "path": path, "sha256": digest, "format": "png",
                     "width": self.width, "height": self.height, "caption": self.caption}
        if self.masks or self.boxes or self.classes:
            reference.update(encode_overlays(run_dir, self.masks, self.boxes, self.classes))
            if shown is not None:
                # the picture with its overlays drawn, for views that cannot draw them
                reference["overlaid_path"], _ = write_media(run_dir, "images", shown, ".png")
            self.masks = None  # the mask arrays are in their files now
        return reference

    def _png_with_overlays(self) -> bytes | None:
        if self._pixels is None:
            return None
        return encode_png(draw_overlays(self._pixels, self.masks, self.boxes))

    def _repr_png_(self) -> bytes:
        if self.masks or self.boxes:
            shown = self._png_with_overlays()
            if shown is not None:
                return shown
        return self.png_bytes()

    def __repr__(self) -> str:
        return f"<Image {self.width}x{self.height}{f' {self.caption!r}' if self.caption else ''}>"


def pixels_from_array(array: np.ndarray, mode: str | None = None) -> np.ndarray:
    """A uint8 (H, W) or (H, W, C) copy of an image array; raises with the reason when it is not one."""
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Image: arrays of dtype {array.dtype} are not images (use uint8, or floats in [0, 1])")
    if array.size == 0:
        raise ValueError(f"Image: the array is empty (shape {array.shape})")
    if array.ndim == 3:
        if array.shape[2] in (1, 2, 3, 4):
            pass
        elif array.shape[0] in (1, 3, 4):
            array = np.transpose(array, (1, 2, 0))  # CHW, as torch lays images out
        else:
            raise ValueError(f"Image: shape {array.shape} is not HW, HWC or CHW with 1, 3 or 4 channels")
        if array.shape[2] == 1:
            array = array[:, :, 0]
    elif array.ndim != 2:
        raise ValueError(f"Image: expected a 2-D (HW) or 3-D (HWC or CHW) array, got shape {array.shape}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    if mode is not None and _MODES[mode] != channels:
        raise ValueError(f"Image(mode={mode!r}) needs {_MODES[mode]} channel(s), the array has {channels}")
    return _to_uint8(array)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "b":
        return np.ascontiguousarray(array, dtype=np.uint8) * np.uint8(255)
    if array.dtype == np.uint8:
        return np.array(array, dtype=np.uint8, order="C", copy=True)
    low, high = array.min(), array.max()
    if kind == "f":
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError("Image: float pixels must be finite (found NaN or inf)")
        if low < 0 or high > 1:
            raise ValueError(f"Image: float pixels must lie in [0, 1], found [{low:g}, {high:g}]; "
                             "divide by 255 or pass uint8")
        return np.ascontiguousarray(np.rint(array * 255.0), dtype=np.uint8)
    if low < 0 or high > 255:
        raise ValueError(f"Image: integer pixels must lie in [0, 255], found [{low}, {high}]")
    return np.ascontiguousarray(array, dtype=np.uint8)


def _is_pil_image(data: Any) -> bool:
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(data, module.Image)


def _pixels_from_pil(image: Any, mode: str | None) -> np.ndarray:
    if mode is not None:
        image = image.convert(mode)
    elif image.mode not in _MODES:
        has_alpha = image.mode in ("P", "PA") and "transparency" in image.info or "A" in image.mode
        image = image.convert("RGBA" if has_alpha else "RGB")
    return np.array(image, dtype=np.uint8, copy=True)


def _is_matplotlib_figure(data: Any) -> bool:
    return callable(getattr(data, "savefig", None)) and hasattr(data, "canvas")


def _render_figure(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
