"""Media: each type from each accepted input, clear errors for bad input, encoding by the writer thread."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import jupyter_tracker as jt
from jupyter_tracker.media import readback
from jupyter_tracker.media.html import sanitise_html
from jupyter_tracker.store.reader import read_run


def decode(path: Path) -> np.ndarray:
    with PILImage.open(path) as image:
        return np.asarray(image).copy()


def logged_row(run: jt.Run) -> dict[str, Any]:
    _, history = read_run(Path(run.dir), keep_history=True)
    return history[-1]


@pytest.fixture
def run(store_root: Path) -> jt.Run:
    return jt.init(project="media", mode="offline")


# Image ------------------------------------------------------------------------------------------
RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 4


@pytest.mark.parametrize("data, expected", [
    (RGB, RGB),  # HWC uint8
    (np.transpose(RGB, (2, 0, 1)), RGB),  # CHW
    (RGB[:, :, 0], RGB[:, :, 0]),  # HW
    (RGB[:, :, :1], RGB[:, :, 0]),  # HW1
    (RGB.astype(np.float32) / 255.0, RGB),  # float in [0, 1]
    (RGB.astype(np.int64), RGB),  # integers within 0..255
    (np.dstack([RGB, np.full((4, 5), 128, np.uint8)]), np.dstack([RGB, np.full((4, 5), 128, np.uint8)])),  # RGBA
    (np.array([[True, False]]), np.array([[255, 0]], np.uint8)),
])
def test_image_from_arrays_round_trips_through_png(tmp_path: Path, data: np.ndarray, expected: np.ndarray) -> None:
    image = jt.Image(data, caption="x")
    ref = image.encode(tmp_path)
    assert ref["_type"] == "image-file" and ref["caption"] == "x"
    assert (ref["width"], ref["height"]) == (expected.shape[1], expected.shape[0])
    assert ref["path"].startswith("media/images/") and ref["path"].endswith(".png")
    np.testing.assert_array_equal(decode(tmp_path / ref["path"]), expected)


def test_image_keeps_a_copy_of_the_array() -> None:
    array = np.zeros((3, 3), np.uint8)
    image = jt.Image(array)
    array[:] = 255
    assert image.pixels is not None and int(image.pixels.max()) == 0


def test_image_drops_its_pixels_once_encoded(tmp_path: Path) -> None:
    image = jt.Image(np.zeros((8, 8, 3), np.uint8))
    first = image.encode(tmp_path)
    assert image.pixels is None
    assert image.encode(tmp_path) == first  # the PNG bytes are kept; same content, same file


def test_image_from_pil_file_path_and_figure(tmp_path: Path) -> None:
    pil = PILImage.fromarray(RGB)
    np.testing.assert_array_equal(decode(tmp_path / jt.Image(pil).encode(tmp_path)["path"]), RGB)
    gray = jt.Image(pil, mode="L")
    assert decode(tmp_path / gray.encode(tmp_path)["path"]).ndim == 2
    png_path = tmp_path / "in.png"
    pil.save(png_path)
    from_png = jt.Image(png_path)
    assert (from_png.width, from_png.height) == (5, 4)
    assert (tmp_path / from_png.encode(tmp_path)["path"]).read_bytes() == png_path.read_bytes()
    jpeg_path = tmp_path / "in.jpg"
    pil.save(jpeg_path)
    from_jpeg = jt.Image(str(jpeg_path))
    assert decode(tmp_path / from_jpeg.encode(tmp_path)["path"]).shape == (4, 5, 3)

    class Figure:  # what Image needs of a matplotlib figure: a canvas and savefig(format="png")
        canvas = object()

        def savefig(self, buffer: io.BytesIO, format: str) -> None:
            assert format == "png"
            pil.save(buffer, format="PNG")

    figure_ref = jt.Image(Figure()).encode(tmp_path)
    assert (figure_ref["width"], figure_ref["height"]) == (5, 4)


@pytest.mark.parametrize("data, error, message", [
    (np.zeros((2, 3, 4, 5), np.uint8), ValueError, "2-D"),
    (np.zeros((5, 6, 7), np.uint8), ValueError, "HW, HWC or CHW"),
    (np.zeros((0, 3), np.uint8), ValueError, "empty"),
    (np.zeros(10, np.uint8), ValueError, "2-D"),
    (np.array([[0.5, 1.5]]), ValueError, r"\[0, 1\]"),
    (np.array([[np.nan, 0.5]]), ValueError, "finite"),
    (np.array([[300, 1]]), ValueError, r"\[0, 255\]"),
    (np.array([["a", "b"]]), TypeError, "dtype"),
    (np.zeros((2, 2), complex), TypeError, "dtype"),
    ({"not": "an image"}, TypeError, "numpy array"),
    (12, TypeError, "numpy array"),
])
def test_image_rejects_bad_input_with_a_clear_error(data: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        jt.Image(data)


def test_image_rejects_a_mode_that_does_not_fit_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs 1 channel"):
        jt.Image(RGB, mode="L")
    with pytest.raises(ValueError, match="mode"):
        jt.Image(RGB, mode="CMYK")
    with pytest.raises(FileNotFoundError, match="cannot read"):
        jt.Image(tmp_path / "missing.png")
    (tmp_path / "text.txt").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        jt.Image(tmp_path / "text.txt")
    with pytest.raises(TypeError, match="caption"):
        jt.Image(RGB, caption=["a"])


# Histogram --------------------------------------------------------------------------------------
def test_histogram_from_a_sequence_keeps_bins_and_counts_only() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    histogram = jt.Histogram(values, num_bins=32)
    counts, edges = np.histogram(values, bins=32)
    ref = histogram.encode(None)
    assert ref == {"_type": "histogram", "bins": edges.tolist(), "values": counts.tolist()}
    assert not hasattr(histogram, "values")


def test_histogram_from_np_histogram_and_lists_and_non_finite_values() -> None:
    counts, edges = np.histogram([1, 2, 3], bins=3)
    assert jt.Histogram(np_histogram=(counts, edges)).encode(None)["values"] == [1, 1, 1]
    assert jt.Histogram([1.0, float("nan"), float("inf"), 2.0], num_bins=2).counts.sum() == 2
    assert jt.Histogram([1, 2, 3]).num_bins == 64


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sequence": [1, 2], "num_bins": 513}, ValueError, "512"),
    ({"sequence": [1, 2], "num_bins": 0}, ValueError, "num_bins"),
    ({"np_histogram": (np.ones(600), np.arange(601))}, ValueError, "512"),
    ({"np_histogram": ([1, 2], [0, 1])}, ValueError, "3 bin edges"),
    ({"np_histogram": ([1, 2], [0, 2, 1])}, ValueError, "increasing"),
    ({"np_histogram": ([1, -2], [0, 1, 2])}, ValueError, "not negative"),
    ({"np_histogram": 5}, TypeError, "pair"),
    ({"sequence": ["a", "b"]}, TypeError, "numbers"),
    ({}, ValueError, "sequence="),
])
def test_histogram_rejects_bad_input(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        jt.Histogram(**kwargs)


# Table ------------------------------------------------------------------------------------------
def test_table_with_images_in_cells_reads_back_as_a_dataframe(run: jt.Run) -> None:
    table = jt.Table(columns=["image", "label", "score"])
    table.add_data(jt.Image(RGB), "cat", 0.9)
    table.add_data(None, "dog", np.float32(0.5))
    run.log({"predictions": table})
    run.finish()
    ref = logged_row(run)["predictions"]
    assert ref["_type"] == "table-file" and ref["format"] == "parquet"
    assert (ref["nrows"], ref["ncols"], ref["media_columns"]) == (2, 3, ["image"])
    frame = readback.table_to_dataframe(run.dir, ref)
    assert list(frame.columns) == ["image", "label", "score"]
    assert frame["label"].tolist() == ["cat", "dog"]
    assert frame["score"].tolist() == [0.9, 0.5]
    image_ref = frame["image"][0]
    assert image_ref["_type"] == "image-file" and frame["image"][1] is None
    np.testing.assert_array_equal(readback.image_array(run.dir, image_ref), RGB)


def test_table_from_a_dataframe_and_from_an_array(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    ref = jt.Table(dataframe=frame).encode(tmp_path)
    back = readback.table_to_dataframe(tmp_path, ref)
    assert back["a"].tolist() == [1, 2] and back["b"].tolist() == ["x", "y"]
    array_ref = jt.Table(data=np.eye(2)).encode(tmp_path)
    assert array_ref["columns"] == ["col_0", "col_1"]
    assert readback.table_to_dataframe(tmp_path, array_ref)["col_1"].tolist() == [0.0, 1.0]


def test_a_column_of_mixed_types_falls_back_to_json_lines(tmp_path: Path) -> None:
    ref = jt.Table(columns=["v"], data=[[1], ["two"], [[3, 4]]]).encode(tmp_path)
    assert ref["format"] == "jsonl"
    assert readback.table_to_dataframe(tmp_path, ref)["v"].tolist() == [1, "two", [3, 4]]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"columns": ["a", "b"], "data": [[1]]}, ValueError, "1 values for 2 columns"),
    ({"columns": ["a", "a"]}, ValueError, "unique"),
    ({"columns": "ab"}, TypeError, "list of strings"),
    ({"columns": ["a"], "data": [[object()]]}, TypeError, "column 'a'"),
    ({"columns": ["a"], "data": [[{"k": 1}]]}, TypeError, "row 0"),
    ({"data": np.zeros(3)}, ValueError, "2-D"),
    ({"dataframe": [[1]]}, TypeError, "DataFrame"),
])
def test_table_rejects_bad_input(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        jt.Table(**kwargs)


def test_a_table_cannot_hold_a_table() -> None:
    with pytest.raises(TypeError, match="another Table"):
        jt.Table(columns=["t"], data=[[jt.Table(columns=["x"])]])


# Audio ------------------------------------------------------------------------------------------
def read_wav(path: Path) -> tuple[int, int, np.ndarray]:
    with wave.open(str(path)) as reader:
        frames = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
        return reader.getframerate(), reader.getnchannels(), frames


def test_audio_from_float_int16_stereo_and_a_wav_file(tmp_path: Path) -> None:
    mono = jt.Audio(np.array([0.0, 0.5, -1.0, 2.0]), sample_rate=8000, caption="beep")
    ref = mono.encode(tmp_path)
    assert ref["_type"] == "audio-file" and ref["caption"] == "beep" and ref["duration"] == 4 / 8000
    rate, channels, frames = read_wav(tmp_path / ref["path"])
    assert (rate, channels) == (8000, 1)
    assert frames.tolist() == [0, 16384, -32767, 32767]  # clipped to [-1, 1]
    stereo = jt.Audio(np.zeros((2, 100), np.int16), sample_rate=100)  # (channels, samples) is transposed
    assert (stereo.channels, stereo.frames) == (2, 100)
    stereo_ref = stereo.encode(tmp_path)
    from_file = jt.Audio(tmp_path / stereo_ref["path"])
    assert (from_file.sample_rate, from_file.channels, from_file.duration) == (100, 2, 1.0)


@pytest.mark.parametrize("data, rate, error, message", [
    (np.zeros(10), None, ValueError, "sample_rate"),
    (np.zeros(10), 0, ValueError, "sample_rate"),
    (np.zeros((10, 20, 2)), 100, ValueError, "samples, channels"),
    (np.zeros(0), 100, ValueError, "empty"),
    (np.array([np.nan]), 100, ValueError, "finite"),
    (np.zeros(10, np.int32), 100, TypeError, "int16"),
    (np.array(["a"]), 100, TypeError, "dtype"),
    ({"a": 1}, 100, TypeError, "numpy array"),
])
def test_audio_rejects_bad_input(data: Any, rate: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        jt.Audio(data, sample_rate=rate)


def test_audio_from_a_file_that_is_not_wav(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(b"ID3 not a wav")
    with pytest.raises(ValueError, match="WAV"):
        jt.Audio(tmp_path / "a.mp3")


# Html -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dirty, clean", [
    ('<b onclick="steal()">bold</b>', "<b>bold</b>"),
    ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
    ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
    ('<a href=" java&#x09;script:alert(1)">x</a>', "<a>x</a>"),
    ('<a href="https://example.com/?a=1&b=2">x</a>', '<a href="https://example.com/?a=1&amp;b=2">x</a>'),
    ('<img src="x.png" onerror="alert(1)">', '<img src="x.png">'),
    ('<img src="data:text/html;base64,PHNjcmlwdD4=">', "<img>"),
    ('<iframe src="https://evil"></iframe>text', "text"),
    ("<style>body{display:none}</style><svg><script>1</script></svg>", ""),
    ('<div style="background:url(https://evil)">a &lt; b</div>', "<div>a &lt; b</div>"),
    ("<table><tr><td>1</td></tr></table>", "<table><tr><td>1</td></tr></table>"),
    ("<unknown>kept text</unknown>", "kept text"),
])
def test_html_is_sanitised(dirty: str, clean: str) -> None:
    assert sanitise_html(dirty) == clean


def test_html_is_stored_sanitised(tmp_path: Path) -> None:
    ref = jt.Html(io.StringIO("<h2>Report</h2><script>x()</script>")).encode(tmp_path)
    assert ref["_type"] == "html-file"
    assert (tmp_path / ref["path"]).read_text() == "<h2>Report</h2>"
    with pytest.raises(TypeError, match="string"):
        jt.Html(42)


# through log() and the writer thread -------------------------------------------------------------
def test_media_are_encoded_by_the_writer_thread_not_by_log(run: jt.Run) -> None:
    image = jt.Image(RGB)
    run.log({"sample": image})
    assert image.pixels is not None  # log() only kept a reference
    run.flush()
    assert image.pixels is None  # the writer thread encoded it
    run.finish()
    ref = logged_row(run)["sample"]
    assert (Path(run.dir) / ref["path"]).is_file()


def test_lists_of_media_under_one_key(run: jt.Run) -> None:
    images = [jt.Image(RGB, caption=f"#{index}") for index in range(3)]
    run.log({"predictions": images, "loss": 0.5, "eval": {"audio": [jt.Audio(np.zeros(10), sample_rate=10)]}})
    run.finish()
    row = logged_row(run)
    assert [ref["caption"] for ref in row["predictions"]] == ["#0", "#1", "#2"]
    assert len({ref["path"] for ref in row["predictions"]}) == 1  # same pixels: one file
    assert row["eval.audio"][0]["_type"] == "audio-file"
    assert row["loss"] == 0.5


def test_every_media_kind_in_one_row(run: jt.Run) -> None:
    run.log({
        "image": jt.Image(RGB), "histogram": jt.Histogram([1, 2, 3]),
        "table": jt.Table(columns=["a"], data=[[1]]), "audio": jt.Audio(np.zeros(8), sample_rate=8),
        "html": jt.Html("<p>hi</p>"),
    })
    run.finish()
    row = logged_row(run)
    kinds = {key: row[key]["_type"] for key in ("image", "histogram", "table", "audio", "html")}
    assert kinds == {"image": "image-file", "histogram": "histogram", "table": "table-file",
                     "audio": "audio-file", "html": "html-file"}
    names = {entry["name"] for entry in readback.list_media(run.dir)}
    assert {row[key]["path"] for key in ("image", "table", "audio", "html")} == names


def test_bad_media_in_a_log_call_writes_nothing_of_it(run: jt.Run) -> None:
    with pytest.raises(ValueError, match="Image"):
        run.log({"loss": 1.0, "image": jt.Image(np.zeros((2, 3, 4, 5)))})
    run.finish()
    _, history = read_run(Path(run.dir), keep_history=True)
    assert history == []


def test_histograms_count_toward_their_own_point_limit(run: jt.Run) -> None:
    histogram = jt.Histogram([1.0, 2.0])
    checker = run._limits
    checker.histogram_points["weights"] = 10_000
    with pytest.warns(jt.LimitWarning, match="histogram"):
        run.log({"weights": histogram})
    assert checker.histogram_points["weights"] == 10_001
    assert checker.media_points["weights"] == 0


# reading back, and paths that try to escape ------------------------------------------------------
@pytest.mark.parametrize("path", ["../outside.png", "media/../../x", "/etc/passwd", "run.jtlog", "media\\x.png", ""])
def test_media_paths_that_escape_the_run_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(readback.MediaPathError):
        readback.media_path(tmp_path, {"_type": "image-file", "path": path})


def test_a_symlink_under_media_that_leads_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run" / "media").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("s")
    (tmp_path / "run" / "media" / "link").symlink_to(tmp_path)
    with pytest.raises(readback.MediaPathError, match="outside"):
        readback.media_path(tmp_path / "run", {"path": "media/link/secret.txt"})


def test_file_listing_of_a_run(run: jt.Run, tmp_path: Path) -> None:
    (tmp_path / "model.txt").write_text("weights")
    run.save(str(tmp_path / "model.txt"), base_path=str(tmp_path), policy="now")
    run.log({"image": jt.Image(RGB)})
    run.finish()
    files = readback.list_files(run.dir)
    assert [entry["name"] for entry in files] == ["model.txt"]
    assert files[0]["size"] == 7 and files[0]["updated"] > 0
    assert readback.file_path(run.dir, "model.txt").read_text() == "weights"
    assert json.loads(json.dumps(files))  # plain JSON for the Api and the server


def test_a_logged_table_comes_back_through_the_api_as_a_dataframe(run: jt.Run) -> None:
    run.log({"predictions": jt.Table(columns=["label", "score"], data=[["cat", 0.9]])})
    run.log({"loss": 0.1})
    run.log({"predictions": jt.Table(columns=["label", "score"], data=[["dog", 0.7], ["cow", 0.2]])})
    run.finish()
    api_run = jt.Api().run(f"media/{run.id}")
    assert readback.run_table(api_run, "predictions")["label"].tolist() == ["dog", "cow"]
    assert readback.run_table(api_run, "predictions", step=0)["label"].tolist() == ["cat"]
    assert api_run.table("predictions")["score"].tolist() == [0.7, 0.2]
    with pytest.raises(KeyError, match="no Table"):
        readback.run_table(api_run, "loss")
    names = {file.name for file in api_run.files()}
    assert {entry["name"] for entry in readback.list_media(run.dir)} <= names


def test_a_media_file_that_cannot_be_written_leaves_the_rest_of_the_row(run: jt.Run) -> None:
    (Path(run.dir) / "media").write_text("a file where the media folder should be")
    run.log({"loss": 0.5, "image": jt.Image(RGB)})
    run.finish()
    row = logged_row(run)
    assert row["loss"] == 0.5
    assert row["image"]["_type"] == "media-error" and row["image"]["media_kind"] == "image"


def test_histograms_over_time_share_edges_and_keep_their_totals() -> None:
    first = jt.Histogram(np.random.default_rng(1).normal(0, 1, 500), num_bins=16).encode(None)
    second = jt.Histogram(np.random.default_rng(2).normal(3, 1, 700), num_bins=16).encode(None)
    rows = [{"_step": 0, "w": first}, {"_step": 1, "loss": 0.2}, {"_step": 2, "w": second}]
    steps, edges, counts = readback.histograms_over_time(rows, "w", num_bins=32)
    assert steps.tolist() == [0.0, 2.0]
    assert len(edges) == 33 and edges[0] == first["bins"][0] and edges[-1] == second["bins"][-1]
    assert counts.shape == (2, 32)
    assert counts.sum(axis=1) == pytest.approx([500, 700])


def test_media_show_themselves_in_a_notebook() -> None:
    image = jt.Image(RGB)
    assert image._repr_png_().startswith(b"\x89PNG")
    assert "<svg" in jt.Histogram([1, 2, 3])._repr_html_()
    table_markup = jt.Table(columns=["<b>name</b>"], data=[["<script>x</script>"]])._repr_html_()
    assert "<script>" not in table_markup and "&lt;script&gt;" in table_markup
    assert "data:audio/wav;base64," in jt.Audio(np.zeros(4), sample_rate=4, caption="<i>")._repr_html_()
    assert jt.Html("<p onclick='x'>hi</p>")._repr_html_() == "<p>hi</p>"
