"""``run.url``: the server's run page for a synced run, None for a run that has none (offline, local-only)."""

from __future__ import annotations

from pathlib import Path

import jupyter_tracker as jt
from jupyter_tracker.settings import Settings
from jupyter_tracker.tracked_run import Run


def test_an_offline_a_local_only_and_a_disabled_run_have_no_url(store_root: Path) -> None:
    offline = jt.init(project="u", mode="offline", settings={"base_url": "http://127.0.0.1:9", "api_key": "k"})
    assert offline.url is None
    offline.finish()
    local_only = jt.init(project="u", settings={"console": "off"})  # online, but no server configured
    assert local_only.url is None
    local_only.finish()
    disabled = jt.init(project="u", mode="disabled")
    assert disabled.url is None
    disabled.finish()


def online_run(tmp_path: Path, **values: object) -> Run:
    """A run object of an online run with a server configured, without starting any sync."""
    settings = Settings(project="mnist", mode="online", api_key="jt_key", **values)  # type: ignore[arg-type]
    return Run(settings, "abc123", "a-run-1", tmp_path, writer=None)


def test_a_synced_run_points_to_its_page_on_the_server(tmp_path: Path) -> None:
    run = online_run(tmp_path, base_url="https://user:secret@tracker.example/base/", entity="team")
    assert run.url == "https://tracker.example/base/team/mnist/runs/abc123", "credentials never reach the url"


def test_the_entity_comes_from_the_sync_once_the_server_named_it(tmp_path: Path) -> None:
    run = online_run(tmp_path, base_url="http://tracker.example")
    assert run.url is None, "no entity known yet"
    (tmp_path / "sync.json").write_text('{"entity": "alice", "applied_seq": 3}')
    assert run.url == "http://tracker.example/alice/mnist/runs/abc123"
    (tmp_path / "sync.json").write_text("{not json")
    assert online_run(tmp_path, base_url="http://tracker.example", username="bob").url == \
        "http://tracker.example/bob/mnist/runs/abc123"
