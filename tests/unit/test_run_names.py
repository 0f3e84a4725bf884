"""Entity, project and run names: init refuses at once what the server would refuse at sync."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker import run_names
from jupyter_tracker.run_names import EmptyProjectWarning, InvalidNameError

BAD_NAMES = ["../x", "a/b", "p/r1/files", "a\\b", "a\x00b", "x" * 10_000, "x" * 129, ".", "..", "tab\there"]
GOOD_NAMES = ["mnist", "My Project", "x" * 128, "a.b", "ümlaut", "run_1-2"]


@pytest.fixture
def root(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    return store_root


@pytest.mark.parametrize("what", ["project", "entity", "id"])
@pytest.mark.parametrize("bad", BAD_NAMES, ids=lambda name: repr(name[:12]))
def test_init_refuses_a_name_the_server_would_refuse_naming_it_and_starts_nothing(root, what, bad):
    label = "run id" if what == "id" else what
    with pytest.raises(InvalidNameError, match=label):
        jt.init(**{what: bad})
    assert jt.run is None
    assert not root.exists() or list(root.glob("run-*")) == []


@pytest.mark.parametrize("good", GOOD_NAMES)
def test_init_accepts_the_names_the_server_accepts(root, good):
    run = jt.init(project=good, entity=good)
    assert (run.project, run.entity) == (good, good)


def test_an_empty_project_goes_to_uncategorized_and_says_so(root):
    with pytest.warns(EmptyProjectWarning, match="uncategorized"):
        run = jt.init(project="")
    assert run.project == "uncategorized"
    run.finish()
    assert [found.id for found in jt.Api().runs("uncategorized")] == [run.id]


def test_the_disabled_mode_accepts_any_name(root):
    run = jt.init(project="a/b", mode="disabled")
    run.log({"a": 1.0})


@pytest.mark.parametrize("name", BAD_NAMES + GOOD_NAMES + ["", 5], ids=lambda name: repr(name)[:14])
def test_the_client_and_the_server_apply_the_same_rules(name):
    from jupyter_tracker.server.storage import BadRequest, check_name

    try:
        check_name(name, "project")
        server_accepts = True
    except BadRequest:
        server_accepts = False
    assert (run_names.name_problem(name, "project") is None) == server_accepts
