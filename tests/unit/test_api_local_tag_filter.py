"""A tag filter over the local store keeps exactly the runs holding that tag.

The store pre-screens rows by the tag's JSON text in the index's tags column; these runs have tags
that contain the wanted one as a substring, quotes and non-ASCII text, so a pre-screen that dropped
or kept a run wrongly would show here.
"""

from __future__ import annotations

from pathlib import Path

import jupyter_tracker
from jupyter_tracker.api import Api

TAGS = [["report"], ["reports"], ["pre-report", "x"], ["re\"port"], ["rapport-é"], [], ["a", "report"]]


def test_tag_filter_keeps_exactly_the_runs_with_the_tag(store_root: Path) -> None:
    for number, tags in enumerate(TAGS):
        run = jupyter_tracker.init(project="tags", mode="offline", name=f"run-{number}", tags=tags,
                                   settings={"console": "off"})
        run.log({"loss": 1.0})
        jupyter_tracker.finish(quiet=True)
    api = Api()
    for wanted in ["report", "re\"port", "rapport-é", "x", "repo"]:
        found = sorted(run.name for run in api.runs("tags", {"tags": wanted}))
        expected = sorted(f"run-{number}" for number, tags in enumerate(TAGS) if wanted in tags)
        assert found == expected, wanted
