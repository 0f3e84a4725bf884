"""Image overlays as wandb takes them: segmentation ``masks``, bounding ``boxes`` and ``classes``.

Checked when the ``Image`` is made (the message names the overlay and the field at fault),
written with the image by the writer thread (each mask a PNG of class ids under
``media/images/``, boxes inline in the reference), and drawn over the pixels when the image is
shown in a notebook.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jupyter_tracker.media._files import as_numpy, write_media
from jupyter_tracker.media.png import encode_png

_CORNERS = ("minX", "maxX", "minY", "maxY")
#: colours of class ids in the drawn overlays (a repeating, distinguishable palette)
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40]],
                   dtype=np.uint8)


class Classes:
    """wandb's ``Classes``: the class set of an image's overlays, ``Classes([{"id": 1, "name": "car"}])``."""

    def __init__(self, class_set: Sequence[Mapping[str, Any]]) -> None:
        self.class_set = check_classes(list(class_set))

    def __repr__(self) -> str:
        return f"<Classes {len(self.class_set)} classes>"


class OverlayError(ValueError):
    """An overlay (``masks=``, ``boxes=``, ``classes=``) is not in the shape wandb defines."""


def _class_labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OverlayError(f"{where}['class_labels'] must be a dict of class id -> name, not {type(value).__name__}")
    labels = {}
    for key, name in value.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise OverlayError(f"{where}['class_labels']: class ids must be ints, got {key!r}")
        labels[str(int(key))] = str(name)
    return labels


def check_masks(masks: Any, size: tuple[int, int] | None) -> dict[str, dict[str, Any]]:
    """``{name: {"mask_data": 2-D class ids, "class_labels": {id: name}}}`` (or ``{"path": PNG}``), checked."""
    if not isinstance(masks, Mapping) or not masks:
        raise OverlayError("Image(masks=...) must be a non-empty dict: {name: {'mask_data': array, 'class_labels': {...}}}")
    checked: dict[str, dict[str, Any]] = {}
    for name, mask in masks.items():
        where = f"Image(masks=...)[{name!r}]"
        if not isinstance(name, str) or not isinstance(mask, Mapping):
            raise OverlayError(f"{where}: each mask is a dict under a str name")
        if "path" in mask and "mask_data" not in mask:
            data = _mask_from_file(Path(mask["path"]), where)
        elif "mask_data" in mask:
            data = np.asarray(as_numpy(mask["mask_data"]))
        else:
            raise OverlayError(f"{where} needs 'mask_data' (a 2-D array of class ids) or 'path' (a PNG of them)")
        if data.ndim != 2 or data.dtype.kind not in "biu":
            raise OverlayError(f"{where}['mask_data'] must be a 2-D array of integer class ids, "
                               f"got shape {data.shape} of {data.dtype}")
        if data.size and (data.min() < 0 or data.max() > 255):
            raise OverlayError(f"{where}['mask_data']: class ids must lie in [0, 255], found [{data.min()}, {data.max()}]")
        if size is not None and data.shape != size:
            raise OverlayError(f"{where}['mask_data'] is {data.shape[1]}x{data.shape[0]}, the image {size[1]}x{size[0]}")
        checked[name] = {"mask_data": np.array(data, dtype=np.uint8, copy=True),
                         "class_labels": _class_labels(mask.get("class_labels"), where)}
    return checked


def _mask_from_file(path: Path, where: str) -> np.ndarray:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise OverlayError(f"{where}['path']: reading a mask file needs Pillow (pip install pillow)") from None
    try:
        with PILImage.open(os.fspath(path)) as opened:
            return np.array(opened.convert("L"), dtype=np.uint8)
    except OSError as error:
        raise OverlayError(f"{where}['path']: cannot read {str(path)!r} ({error})") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OverlayError(f"{where} must be a number, not {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise OverlayError(f"{where} must be finite, not {value!r}")
    return number


def _position(position: Any, where: str) -> dict[str, float]:
    if not isinstance(position, Mapping):
        raise OverlayError(f"{where}['position'] must be a dict (minX, maxX, minY, maxY, or middle, width, height)")
    if all(key in position for key in _CORNERS):
        corners = {key: _number(position[key], f"{where}['position'][{key!r}]") for key in _CORNERS}
    elif {"middle", "width", "height"} <= set(position):
        middle = position["middle"]
        if not isinstance(middle, Sequence) or len(middle) != 2:
            raise OverlayError(f"{where}['position']['middle'] must be [x, y]")
        x, y = (_number(value, f"{where}['position']['middle']") for value in middle)
        width = _number(position["width"], f"{where}['position']['width']")
        height = _number(position["height"], f"{where}['position']['height']")
        corners = {"minX": x - width / 2, "maxX": x + width / 2, "minY": y - height / 2, "maxY": y + height / 2}
    else:
        raise OverlayError(f"{where}['position'] needs minX, maxX, minY, maxY, or middle, width and height")
    if corners["minX"] > corners["maxX"] or corners["minY"] > corners["maxY"]:
        raise OverlayError(f"{where}['position']: min must not exceed max ({corners})")
    return corners


def check_boxes(boxes: Any) -> dict[str, dict[str, Any]]:
    """``{name: {"box_data": [{"position": ..., "class_id": int, ...}], "class_labels": {...}}}``, checked."""
    if not isinstance(boxes, Mapping) or not boxes:
        raise OverlayError("Image(boxes=...) must be a non-empty dict: {name: {'box_data': [...], 'class_labels': {...}}}")
    checked: dict[str, dict[str, Any]] = {}
    for name, group in boxes.items():
        where = f"Image(boxes=...)[{name!r}]"
        if not isinstance(name, str) or not isinstance(group, Mapping) or not isinstance(group.get("box_data"), Sequence):
            raise OverlayError(f"{where} must be a dict with 'box_data': a list of boxes")
        data = []
        for index, box in enumerate(group["box_data"]):
            at = f"{where}['box_data'][{index}]"
            if not isinstance(box, Mapping):
                raise OverlayError(f"{at} must be a dict")
            class_id = box.get("class_id")
            if isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer)):
                raise OverlayError(f"{at}['class_id'] must be an int, not {class_id!r}")
            domain = box.get("domain")
            if domain not in (None, "pixel"):
                raise OverlayError(f"{at}['domain'] must be 'pixel' or absent (fractions of the size), not {domain!r}")
            entry: dict[str, Any] = {"position": _position(box.get("position"), at), "class_id": int(class_id)}
            if domain is not None:
                entry["domain"] = domain
            if box.get("box_caption") is not None:
                entry["box_caption"] = str(box["box_caption"])
            if box.get("scores") is not None:
                scores = box["scores"]
                if not isinstance(scores, Mapping):
                    raise OverlayError(f"{at}['scores'] must be a dict of name -> number")
                entry["scores"] = {str(key): _number(value, f"{at}['scores'][{key!r}]") for key, value in scores.items()}
            data.append(entry)
        checked[name] = {"box_data": data, "class_labels": _class_labels(group.get("class_labels"), where)}
    return checked


def check_classes(classes: Any) -> list[dict[str, Any]]:
    """``[{"id": int, "name": str}, ...]`` (or an object with ``class_set``, as ``wandb.Classes``), checked."""
    items = getattr(classes, "class_set", classes)
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise OverlayError("Image(classes=...) must be a list of {'id': int, 'name': str}")
    checked = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or isinstance(item.get("id"), bool) or not isinstance(item.get("id"), (int, np.integer)):
            raise OverlayError(f"Image(classes=...)[{index}] must be a dict with an int 'id' and a 'name'")
        checked.append({"id": int(item["id"]), "name": str(item.get("name", item["id"]))})
    return checked


def encode_overlays(run_dir: Any, masks: dict[str, dict[str, Any]] | None, boxes: dict[str, dict[str, Any]] | None,
                    classes: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The overlay fields of an image's reference; each mask becomes a PNG of class ids."""
    fields: dict[str, Any] = {}
    if masks:
        fields["masks"] = {}
        for name, mask in masks.items():
            path, digest = write_media(run_dir, "images", encode_png(mask["mask_data"]), ".png")
            fields["masks"][name] = {"_type": "mask", "path": path, "sha256": digest, "class_labels": mask["class_labels"]}
    if boxes:
        fields["boxes"] = boxes
    if classes:
        fields["classes"] = classes
    return fields


def draw_overlays(pixels: np.ndarray, masks: dict[str, dict[str, Any]] | None,
                  boxes: dict[str, dict[str, Any]] | None) -> np.ndarray:
    """RGB pixels with masks tinted (class 0 left clear) and boxes outlined, for display only."""
    if pixels.ndim == 2:
        image = np.repeat(pixels[:, :, None], 3, axis=2).astype(np.float32)
    else:
        image = pixels[:, :, :3].astype(np.float32)
    height, width = image.shape[:2]
    for mask in (masks or {}).values():
        ids = mask["mask_data"]
        tinted = ids > 0
        colours = PALETTE[ids % len(PALETTE)].astype(np.float32)
        image[tinted] = image[tinted] * 0.55 + colours[tinted] * 0.45
    for group in (boxes or {}).values():
        for box in group["box_data"]:
            corners = box["position"]
            scale_x, scale_y = (1.0, 1.0) if box.get("domain") == "pixel" else (float(width), float(height))
            left = int(np.clip(round(corners["minX"] * scale_x), 0, width - 1))
            right = int(np.clip(round(corners["maxX"] * scale_x), 0, width - 1))
            top = int(np.clip(round(corners["minY"] * scale_y), 0, height - 1))
            bottom = int(np.clip(round(corners["maxY"] * scale_y), 0, height - 1))
            colour = PALETTE[box["class_id"] % len(PALETTE)]
            image[top, left:right + 1] = colour
            image[bottom, left:right + 1] = colour
            image[top:bottom + 1, left] = colour
            image[top:bottom + 1, right] = colour
    return np.ascontiguousarray(np.rint(image), dtype=np.uint8)
