"""The run card: what it shows, and that everything a user typed is escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.notebook.run_card import TOP_ENTRIES, format_duration, format_value, render_run_card

HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_hostile_run_renders_as_text(store_root: Path) -> None:
    run = jt.init(project="<b>proj", name=HOSTILE, group="<i>g</i>", tags=["<script>t</script>"],
                  notes='"><svg onload=alert(2)>', mode="offline",
                  config={"<k onclick=x>": "<v onclick=y>", "lr": 0.1})
    run.log({"<metric>": 1.5})
    run.summary["<best>"] = "<u>u</u>"
    bundle = run._repr_mimebundle_()
    page = bundle["text/html"]
    for raw in (HOSTILE, "<b>proj", "<i>g</i>", "<script>", "<svg", "<k onclick", "<v onclick", "<metric>", "<best>", "<u>"):
        assert raw not in page, raw
    for escaped in ("&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;proj", "&lt;i&gt;g&lt;/i&gt;",
                    "&lt;script&gt;t&lt;/script&gt;", "&quot;&gt;&lt;svg onload=alert(2)&gt;",
                    "&lt;k onclick=x&gt;", "&lt;v onclick=y&gt;", "&lt;metric&gt;", "&lt;u&gt;u&lt;/u&gt;"):
        assert escaped in page, escaped
    # the only tags in the card are the card's own
    assert set(re.findall(r"<([a-z]+)", page)) <= {"style", "div", "span", "dl", "dt", "dd", "code", "table",
                                                   "thead", "tbody", "tr", "th", "td", "ul", "li"}
    assert HOSTILE not in run._repr_html_() and HOSTILE in bundle["text/plain"]  # plain text needs no escaping


def test_the_card_shows_identity_state_values_dir_and_sync(store_root: Path) -> None:
    run = jt.init(project="mnist", name="baseline", mode="offline", config={"lr": 0.1, "batch_size": 32})
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)})
    run.finish(quiet=True)
    page = run._repr_html_()
    for text in ("baseline", run.id, "mnist", "finished", "lr", "0.1", "batch_size", "32", "loss", "0.333333",
                 run.dir, "offline: sync later with jupyter-tracker sync"):
        assert text in page, text
    plain = run._repr_mimebundle_()["text/plain"]
    assert plain.startswith(f"Run baseline ({run.id}) in mnist: finished")


def test_long_config_shows_the_top_entries(store_root: Path) -> None:
    run = jt.init(project="p", mode="offline", config={f"key_{index:02d}": index for index in range(25)})
    page = render_run_card(run)
    assert f"key_{TOP_ENTRIES - 1:02d}" in page and f"key_{TOP_ENTRIES:02d}" not in page
    assert f"… and {25 - TOP_ENTRIES} more" in page


def test_warnings_are_listed_and_escaped(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    monkeypatch.setenv("WANDB_SILENT", "true")  # the warning is kept on the run, not raised
    run = jt.init(project="p", mode="offline")
    run.log({"<huge>": np.zeros(200_000)})
    page = render_run_card(run)
    assert 'class="jt-warn"' in page and "one logged value" in page and "(&lt;huge&gt;)" in page


def test_disabled_and_running_runs_render(store_root: Path) -> None:
    disabled = jt.init(project="p", mode="disabled")
    assert "disabled: nothing is saved" in render_run_card(disabled)
    jt.finish()
    running = jt.init(project="p", mode="offline")
    page = render_run_card(running, now=running.start_time + 125)
    assert "running" in page and "2m 05s" in page


@pytest.mark.parametrize(("seconds", "text"), [(None, "–"), (4.25, "4.2s"), (65, "1m 05s"), (7322, "2h 02m")])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.123456789, "0.123457"), (float("nan"), "nan"), (3, "3"), (True, "True"), (None, "None"),
    ({"_type": "image-file", "path": "x.png"}, "<image-file>"), ([1, 2], "[1, 2]"), ("x" * 100, "x" * 79 + "…"),
])
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


def test_sync_state_follows_the_sync_record(store_root: Path) -> None:
    import dataclasses
    import json

    from jupyter_tracker.notebook.run_card import sync_state

    run = jt.init(project="p", mode="offline", settings={"base_url": "http://127.0.0.1:9"})
    assert sync_state(run).startswith("offline: sync later with jupyter-tracker sync")
    jt.finish()
    online = jt.init(project="p", mode="offline")  # made online below, so no sync thread starts
    online.settings = dataclasses.replace(online.settings, mode="online")
    assert sync_state(online) == "local only (no server configured)"
    online.settings = dataclasses.replace(online.settings, base_url="http://127.0.0.1:9")
    assert sync_state(online) == "syncing to http://127.0.0.1:9"
    (Path(online.dir) / "sync.json").write_text(json.dumps({"applied_seq": 1234, "complete": False}))
    assert sync_state(online) == "syncing to http://127.0.0.1:9: up to record 1,234 acknowledged"
    (Path(online.dir) / "sync.json").write_text(json.dumps({"applied_seq": 2000, "complete": True}))
    assert sync_state(online) == "synced to http://127.0.0.1:9"


def test_the_card_shows_the_git_commit_branch_and_dirty_state(store_root: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    branch = "feat/<b>x</b>"

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=T", *args], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q", "-b", branch)
    (repo / "train.py").write_text("x = 1\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    sha = git("rev-parse", "HEAD")
    monkeypatch.chdir(repo)
    clean = jt.init(project="p", mode="offline")
    page = render_run_card(clean)
    assert f"<code>{sha[:7]}</code>" in page and sha not in page
    assert "on feat/&lt;b&gt;x&lt;/b&gt; · clean" in page and "<b>x</b>" not in page
    clean.finish(quiet=True)
    (repo / "train.py").write_text("x = 2\n")
    dirty = jt.init(project="p", mode="offline")
    assert "dirty (uncommitted changes)" in render_run_card(dirty)
    dirty.finish(quiet=True)
    git("checkout", "-q", "--detach")
    detached = jt.init(project="p", mode="offline")
    assert "· detached · <span class=\"jt-dirty\">dirty" in render_run_card(detached)
    detached.finish(quiet=True)


def test_the_card_has_no_git_line_without_git_state(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_tracker.notebook.run_card import git_summary

    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    run = jt.init(project="p", mode="offline")
    assert "<dt>git</dt>" not in render_run_card(run)
    assert git_summary(None) == ""
    assert git_summary({"commit": None, "branch": "main", "dirty": False}) == "no commit yet · on main · clean"


def test_repeated_step_warnings_are_one_line_with_a_count(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_SILENT", "true")  # the warnings are kept on the run, not raised
    run = jt.init(project="p", mode="offline", config={"lr": 0.1, "seed": 1})
    run.log({"loss": 1.0}, step=100)
    for step in range(40):
        run.log({"loss": 1.0}, step=step)
    run.config.lr = 0.2
    run.config.seed = 2
    page = render_run_card(run)
    items = re.findall(r"<li>(.*?)</li>", page)
    assert len(items) == 3, items
    assert items[0].startswith("step 39 is lower than the run&#x27;s current step 100") and "(×40)" in items[0]
    assert "&#x27;lr&#x27; changed" in items[1] and "×" not in items[1]
    assert "&#x27;seed&#x27; changed" in items[2]
