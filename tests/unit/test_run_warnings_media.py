"""The run page's warnings and the media browser's audio, video, HTML and tables, as the JupyterLab
extension's endpoints answer them (``jupyter_tracker.lab.run_views``) from a real local store: a
crossed limit with its advice, a damaged log said as such, each logged media kind per key and step,
and a logged table's first rows with its image cells as file references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_tracker as jt
from jupyter_tracker.api.local import LocalBackend
from jupyter_tracker.lab import run_views
from jupyter_tracker.lab.handlers import run_file_path
from jupyter_tracker.store.run_dir import RUN_LOG_NAME

MARKUP = '<img src=x onerror="alert(1)">'


def _warned_run() -> Any:
    run = jt.init(project="p", name="warned", mode="offline", settings={"console": "off"})
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1)})
    with pytest.warns(UserWarning, match="one logged value"):
        run.log({f"blob {MARKUP}": "x" * 1_100_000})
    run.finish()
    return run


def test_a_crossed_limit_is_on_the_run_page_with_its_advice(store_root: Path) -> None:
    run = _warned_run()
    page = run_views.run_page(LocalBackend(store_root), "p", run.id)
    json.dumps(page, allow_nan=False)
    [warning] = page["warnings"]
    assert warning["kind"] == "value_size" and warning["title"] == "one logged value"
    assert warning["subject"] == f"blob {MARKUP}", "the key is sent as it is; the page shows it as text"
    assert warning["observed"] > 1_000_000 and warning["bound"] == 1_000_000
    assert "more than the recommended 1,000,000. The data is kept." in warning["message"]
    assert "Histogram" in warning["advice"]


def test_a_run_without_warnings_has_none(store_root: Path) -> None:
    run = jt.init(project="p", mode="offline", settings={"console": "off"})
    run.log({"loss": 1.0})
    run.finish()
    assert run_views.run_page(LocalBackend(store_root), "p", run.id)["warnings"] == []


def test_a_damaged_log_is_a_warning_of_its_own(store_root: Path) -> None:
    run = _warned_run()
    backend = LocalBackend(store_root)
    log = Path(backend.get_run(None, "p", run.id)["dir"]) / RUN_LOG_NAME
    data = bytearray(log.read_bytes())
    data[40] ^= 0xFF  # a byte inside the first frame: its CRC no longer matches
    log.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="corrupt"):  # the history read says so too
        warnings = run_views.run_page(backend, "p", run.id)["warnings"]
    damaged = [warning for warning in warnings if warning["kind"] == "run_log"]
    assert len(damaged) == 1 and damaged[0]["title"] == "run log" and "skipped" in damaged[0]["message"]


def test_warnings_of_other_kinds_are_shown_as_they_were_stored() -> None:
    entry = run_views.warning_entry({"kind": "future_kind", "observed": float("nan"), "subject": 3})
    json.dumps(entry, allow_nan=False)
    assert entry["title"] == "future kind" and entry["subject"] == "3" and entry["observed"] == "NaN"
    assert json.loads(entry["message"])["kind"] == "future_kind"


def _media_run(tmp_path: Path) -> Any:
    clip = tmp_path / "clip.webm"
    clip.write_bytes(b"\x1aE\xdf\xa3 not a real clip")
    run = jt.init(project="p", name="media", mode="offline", settings={"console": "off"})
    for step in range(4):
        run.log({
            "speech": jt.Audio(np.sin(np.linspace(0, 200 * (step + 1), 4000)), sample_rate=8000, caption=MARKUP),
            "frames": jt.Video(np.full((3, 3, 8, 8), step * 60, dtype=np.uint8), format="gif", fps=3),
            "page": jt.Html(f"<h1>step {step}</h1><script>alert(1)</script>"),
            "loss": 1.0 / (step + 1),
        })
    run.log({"clip": jt.Video(str(clip), caption="clip"),
             "predictions": jt.Table(columns=["id", "label", "picture"],
                                     data=[[i, MARKUP if i == 0 else f"c{i}", jt.Image(np.full((4, 4, 3), i, dtype=np.uint8))]
                                           for i in range(3)]),
             "mixed": jt.Table(columns=["v"], data=[[1], ["two"], [None]])})
    run.finish()
    return run


def test_audio_video_html_and_tables_per_key_and_step(store_root: Path, tmp_path: Path) -> None:
    run = _media_run(tmp_path)
    backend = LocalBackend(store_root)
    media = run_views.run_media(backend, "p", run.id)["media"]
    json.dumps(media, allow_nan=False)
    assert {key: media[key]["kind"] for key in media} == {
        "speech": "audio", "frames": "video", "page": "html", "clip": "video", "predictions": "table", "mixed": "table"}
    speech = media["speech"]
    assert speech["logged"] == 4 and [entry["step"] for entry in speech["steps"]] == [0, 1, 2, 3]
    [clip_entry] = speech["steps"][0]["files"]
    assert clip_entry["file"].startswith("media/audio/") and clip_entry["file"].endswith(".wav")
    assert clip_entry["caption"] == MARKUP and clip_entry["sample_rate"] == 8000 and clip_entry["duration"] == 0.5
    assert media["frames"]["steps"][0]["files"][0]["format"] == "gif"
    assert media["clip"]["steps"][0]["files"][0]["format"] == "webm"
    table = media["predictions"]["steps"][0]["files"][0]
    assert table["columns"] == ["id", "label", "picture"] and table["nrows"] == 3

    files = {item["name"] for item in run_views.run_files(backend, "p", run.id)["files"]}
    for key in media:
        for entry in media[key]["steps"]:
            assert all(item["file"] in files for item in entry["files"]), "every file shown is one the run lists"
    assert run_views.inline_type(clip_entry["file"]) == "audio/wav"
    assert run_views.inline_type("media/videos/x.webm") == "video/webm"
    assert run_views.inline_type(media["page"]["steps"][0]["files"][0]["file"]) is None, "HTML is never inline"

    page = run_file_path(backend, "p", run.id, media["page"]["steps"][2]["files"][0]["file"], tmp_path)
    assert "<h1>step 2</h1>" in page.read_text(encoding="utf-8") and "<script" not in page.read_text(encoding="utf-8")


def test_a_logged_table_gives_its_first_rows(store_root: Path, tmp_path: Path) -> None:
    run = _media_run(tmp_path)
    backend = LocalBackend(store_root)
    media = run_views.run_media(backend, "p", run.id)["media"]
    name = media["predictions"]["steps"][0]["files"][0]["file"]
    rows = run_views.table_rows(run_file_path(backend, "p", run.id, name, tmp_path), name)
    json.dumps(rows, allow_nan=False)
    assert rows["columns"] == ["id", "label", "picture"] and rows["nrows"] == 3
    assert [row[:2] for row in rows["rows"]] == [[0, MARKUP], [1, "c1"], [2, "c2"]]
    picture = rows["rows"][1][2]
    assert picture["_type"] == "image-file" and picture["path"] in {
        item["name"] for item in run_views.run_files(backend, "p", run.id)["files"]}
    assert len(run_views.table_rows(run_file_path(backend, "p", run.id, name, tmp_path), name, limit=2)["rows"]) == 2

    mixed = media["mixed"]["steps"][0]["files"][0]["file"]
    assert mixed.endswith(".jsonl"), "a column of mixed types is kept as JSON lines"
    assert run_views.table_rows(run_file_path(backend, "p", run.id, mixed, tmp_path), mixed) == {
        "columns": ["v"], "rows": [[1], ["two"], [None]], "nrows": 3}
    with pytest.raises(ValueError, match="not a logged Table"):
        run_views.table_rows(run_file_path(backend, "p", run.id, media["page"]["steps"][0]["files"][0]["file"], tmp_path),
                             "page.html")


def test_records_missing_between_frames_are_said_as_not_written(store_root: Path) -> None:
    from jupyter_tracker.store import records

    run = jt.init(project="p", mode="offline", settings={"console": "off"})
    for step in range(3):
        run.log({"loss": float(step)})
        run.flush()  # one frame per step
    run.finish()
    backend = LocalBackend(store_root)
    assert run_views.run_page(backend, "p", run.id)["warnings"] == [], "a whole log has nothing missing"
    log = Path(backend.get_run(None, "p", run.id)["dir"]) / RUN_LOG_NAME
    data = log.read_bytes()
    frames, offset = [], len(records.MAGIC)
    while offset < len(data):
        length, _ = records.FRAME_HEADER.unpack_from(data, offset)
        frames.append((offset, offset + records.FRAME_HEADER.size + length))
        offset = frames[-1][1]
    assert len(frames) >= 3
    start, end = frames[1]  # as a writer facing a full disk drops its oldest waiting frame
    log.write_bytes(data[:start] + data[end:])
    [warning] = run_views.run_page(backend, "p", run.id)["warnings"]
    assert warning["kind"] == "unwritten_records" and warning["title"] == "records not written"
    assert "records are missing from the run log (in one place): they could not be written" in warning["message"]


def test_a_run_whose_process_died_says_its_log_has_no_finish(store_root: Path) -> None:
    import os
    import subprocess
    import sys

    crashing = ("import os, jupyter_tracker as jt\n"
                "run = jt.init(project='p', mode='offline', settings={'console': 'off'})\n"
                "run.log({'loss': 1.0}); run.flush(); print(run.id, flush=True); os._exit(1)\n")
    done = subprocess.run([sys.executable, "-c", crashing], env=dict(os.environ, WANDB_DIR=str(store_root.parent)),
                          cwd=store_root.parent, capture_output=True, text=True, timeout=120, check=False)
    run_id = done.stdout.split()[-1]
    backend = LocalBackend(store_root)
    assert backend.get_run(None, "p", run_id)["state"] == "crashed"
    [warning] = run_views.run_page(backend, "p", run_id)["warnings"]
    assert warning["kind"] == "run_log" and "ends before the run's finish record" in warning["message"]
