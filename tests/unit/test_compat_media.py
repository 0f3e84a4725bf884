"""wandb's media surface: ``Image(masks=, boxes=, classes=)`` stored with the run and drawn when shown."""

from __future__ import annotations

import io

import numpy as np
import pytest

import jupyter_tracker
from jupyter_tracker.media.overlays import OverlayError

PIL = pytest.importorskip("PIL.Image")


def _mask() -> np.ndarray:
    mask = np.zeros((8, 10), dtype=np.uint8)
    mask[2:5, 3:7] = 2
    return mask


def _overlaid_image() -> jupyter_tracker.Image:
    return jupyter_tracker.Image(
        np.full((8, 10, 3), 100, dtype=np.uint8), caption="street",
        masks={"predictions": {"mask_data": _mask(), "class_labels": {0: "road", 2: "car"}}},
        boxes={"ground_truth": {"box_data": [
            {"position": {"minX": 1, "maxX": 6, "minY": 1, "maxY": 5}, "domain": "pixel", "class_id": 2,
             "box_caption": "car", "scores": {"iou": 0.8}},
            {"position": {"middle": [0.5, 0.5], "width": 0.2, "height": 0.4}, "class_id": 1},
        ], "class_labels": {1: "person", 2: "car"}}},
        classes=[{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
    )


def test_masks_boxes_and_classes_read_back_from_the_run(store_root):
    run = jupyter_tracker.init(project="overlays")
    run.log({"segmentation": _overlaid_image()})
    run.finish(quiet=True)
    stored = jupyter_tracker.Api(overrides={"dir": str(store_root.parent)}).run(f"overlays/{run.id}")
    reference = stored.history(pandas=False)[0]["segmentation"]
    assert reference["caption"] == "street" and reference["width"] == 10
    mask = reference["masks"]["predictions"]
    assert mask["class_labels"] == {"0": "road", "2": "car"}
    with PIL.open(run._dir / mask["path"]) as image:
        assert np.array_equal(np.asarray(image), _mask())
    boxes = reference["boxes"]["ground_truth"]
    assert boxes["class_labels"] == {"1": "person", "2": "car"}
    first, second = boxes["box_data"]
    assert first["position"] == {"minX": 1.0, "maxX": 6.0, "minY": 1.0, "maxY": 5.0}
    assert first["box_caption"] == "car" and first["scores"] == {"iou": 0.8} and first["domain"] == "pixel"
    assert second["position"] == pytest.approx({"minX": 0.4, "maxX": 0.6, "minY": 0.3, "maxY": 0.7})
    assert reference["classes"] == [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}]
    with PIL.open(run._dir / reference["overlaid_path"]) as drawn, PIL.open(run._dir / reference["path"]) as plain:
        assert np.asarray(plain)[3, 4].tolist() == [100, 100, 100]  # the picture itself is untouched
        assert np.asarray(drawn)[3, 4].tolist() != [100, 100, 100]  # inside the car mask: tinted


def test_shown_in_a_notebook_with_the_overlays_drawn():
    image = _overlaid_image()
    with PIL.open(io.BytesIO(image._repr_png_())) as shown:
        pixels = np.asarray(shown)
    assert pixels[3, 4].tolist() != [100, 100, 100]  # the mask
    assert pixels[1, 1].tolist() != [100, 100, 100]  # a box corner
    assert pixels[7, 9].tolist() == [100, 100, 100]  # outside every overlay


@pytest.mark.parametrize(("options", "named"), [
    ({"masks": {"m": {"mask_data": np.zeros((3, 3), dtype=np.uint8)}}}, r"masks=\.\.\.\)\['m'\]\['mask_data'\] is 3x3, the image 10x8"),
    ({"masks": {"m": {"mask_data": np.full((8, 10), 300)}}}, "class ids must lie in"),
    ({"masks": {"m": {}}}, "needs 'mask_data'"),
    ({"boxes": {"b": {"box_data": [{"position": {"minX": 0}, "class_id": 1}]}}}, r"\['box_data'\]\[0\]\['position'\]"),
    ({"boxes": {"b": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "class_id": "car"}]}}},
     "class_id"),
    ({"boxes": {"b": {"box_data": [], "class_labels": {"car": 1}}}}, "class ids must be ints"),
    ({"classes": "car"}, "classes"),
])
def test_a_bad_overlay_names_the_field_at_fault(options, named):
    with pytest.raises(OverlayError, match=named):
        jupyter_tracker.Image(np.zeros((8, 10, 3), dtype=np.uint8), **options)
