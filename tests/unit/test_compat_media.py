"""wandb's media surface: ``Image(masks=, boxes=, classes=)`` stored with the run and drawn when shown."""

from __future__ import annotations

import io

import numpy as np
import pytest

import jupyter_tracker
from jupyter_tracker.media.overlays import Classes, OverlayError

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
        classes=Classes([{"id": 1, "name": "person"}, {"id": 2, "name": "car"}]),
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


def _frames_tchw() -> np.ndarray:
    frames = np.zeros((4, 3, 6, 10), dtype=np.uint8)
    for index in range(4):
        frames[index, 0, :, index * 2:index * 2 + 2] = 255  # a red bar moving right
    return frames


def test_video_frames_are_a_gif_with_every_frame(store_root):
    run = jupyter_tracker.init(project="video")
    run.log({"rollout": jupyter_tracker.Video(_frames_tchw(), fps=5, caption="bar")})
    run.log({"rollout": jupyter_tracker.Video(np.transpose(_frames_tchw(), (0, 2, 3, 1)) / 255.0, fps=5)})  # THWC
    run.finish(quiet=True)
    rows = jupyter_tracker.Api(overrides={"dir": str(store_root.parent)}).run(f"video/{run.id}").history(pandas=False)
    first, second = rows[0]["rollout"], rows[1]["rollout"]
    assert first["format"] == "gif" and first["fps"] == 5 and first["caption"] == "bar"
    assert (first["frames"], first["width"], first["height"]) == (4, 10, 6)
    assert first["sha256"] == second["sha256"]  # the same frames in either layout: one file
    with PIL.open(run._dir / first["path"]) as gif:
        assert gif.n_frames == 4 and gif.size == (10, 6)
        gif.seek(3)
        assert gif.convert("RGB").getpixel((7, 2))[0] > 200 and gif.convert("RGB").getpixel((1, 2))[0] < 50


def test_a_video_shows_in_a_notebook():
    shown = jupyter_tracker.Video(_frames_tchw(), caption="bar <1>")._repr_html_()
    assert shown.startswith("<div>bar &lt;1&gt;</div><img src=\"data:image/gif;base64,R0lGOD")  # GIF89a


def test_a_batch_of_videos_is_one_grid():
    video = jupyter_tracker.Video(np.zeros((3, 5, 1, 4, 6), dtype=np.uint8))
    assert (video.frames, video.height, video.width) == (5, 8, 12)  # 2x2 grid, one cell left blank


def test_a_video_file_is_kept_as_it_is(store_root, tmp_path):
    path = tmp_path / "clip.gif"
    path.write_bytes(jupyter_tracker.Video(_frames_tchw()).encoded_bytes())
    run = jupyter_tracker.init(project="video")
    run.log({"clip": jupyter_tracker.Video(str(path))})
    run.finish(quiet=True)
    row = jupyter_tracker.Api(overrides={"dir": str(store_root.parent)}).run(f"video/{run.id}").history(pandas=False)[0]
    assert (run._dir / row["clip"]["path"]).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("data", "options", "error", "named"), [
    (np.zeros((4, 6, 10), dtype=np.uint8), {}, ValueError, "4-D array"),
    (np.zeros((4, 5, 6, 7), dtype=np.uint8), {}, ValueError, "no channel axis"),
    (np.full((2, 3, 4, 4), 2.0), {}, ValueError, r"\[0, 1\]"),
    (np.zeros((2, 3, 4, 4), dtype=np.uint8), {"format": "avi"}, ValueError, "must be one of gif"),
    (np.zeros((2, 3, 4, 4), dtype=np.uint8), {"fps": 0}, ValueError, "fps"),
])
def test_bad_frames_are_refused_with_the_reason(data, options, error, named):
    with pytest.raises(error, match=named):
        jupyter_tracker.Video(data, **options)


def test_a_format_without_its_encoder_says_what_to_install():
    import importlib.util

    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        pytest.skip("imageio-ffmpeg is installed here")
    with pytest.raises(ValueError, match="pip install imageio imageio-ffmpeg"):
        jupyter_tracker.Video(_frames_tchw(), format="mp4")
