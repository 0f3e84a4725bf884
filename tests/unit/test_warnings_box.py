"""The inline warning boxes: limit boxes once, step and config boxes counted per cell, everything escaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_tracker import sdk
from jupyter_tracker.limits import LimitWarning
from jupyter_tracker.notebook.extension import NotebookHooks
from jupyter_tracker.notebook.warnings_box import ALWAYS_UPDATED, WarningsBox
from jupyter_tracker.run_config import ConfigWarning
from jupyter_tracker.tracked_run import StepWarning


class Page:
    """What a notebook page would hold: one-off boxes, and counted boxes by display id (updated in place)."""

    def __init__(self) -> None:
        self.boxes: list[dict[str, str]] = []
        self.counted: dict[str, dict[str, str]] = {}
        self.updates = 0
        self.cell = 1
        self.now = 0.0
        self.owed: list[Any] = []

    def show_counted(self, bundle: dict[str, str], display_id: str, update: bool) -> None:
        assert update == (display_id in self.counted), "an update must target a box already shown"
        self.updates += update
        self.counted[display_id] = bundle

    def box(self) -> WarningsBox:
        return WarningsBox(is_notebook=lambda: True, show=self.boxes.append, show_counted=self.show_counted,
                           current_cell=lambda: self.cell, clock=lambda: self.now,
                           later=lambda delay, action: self.owed.append(action))


@pytest.fixture
def page(store_root: Path) -> Iterator[Page]:
    shown = Page()
    hooks = NotebookHooks(show_panel=lambda run: None, is_notebook=lambda: True, warnings_box=shown.box())
    hooks.install()
    yield shown
    hooks.uninstall()


def test_a_dropped_step_shows_one_box_per_cell_that_counts(page: Page) -> None:
    run = sdk.init(project="p", mode="offline")
    run.log({"loss": 1.0}, step=10)
    run.log({"loss": 2.0}, step=3)
    (box,) = page.counted.values()
    assert 'class="jt-step-warning"' in box["text/html"] and "step 3 is lower than the run&#x27;s current step 10" in box["text/html"]
    assert "define_metric" in box["text/html"] and "in this cell" not in box["text/html"]
    for step in range(4, 8):
        run.log({"loss": 2.0}, step=step)
    (box,) = page.counted.values()
    assert "(5 rows dropped in this cell; the latest below)" in box["text/html"]
    assert "step 7 is lower" in box["text/html"] and "step 3 is lower" not in box["text/html"]  # the latest three
    assert page.updates == 4 and page.boxes == []
    page.cell = 2  # the next cell gets its own box
    run.log({"loss": 2.0}, step=1)
    assert len(page.counted) == 2
    assert len([warning for warning in run.warnings if isinstance(warning, StepWarning)]) == 6  # all kept on the run


def test_a_loop_of_dropped_steps_redraws_its_box_at_most_twice_a_second(page: Page) -> None:
    run = sdk.init(project="p", mode="offline")
    run.log({"loss": 1.0}, step=1_000)
    for step in range(500):
        page.now = step * 0.01  # 5 seconds of a loop that warns on every step
        run.log({"loss": 1.0}, step=step)
    (box,) = page.counted.values()
    assert ALWAYS_UPDATED - 1 <= page.updates <= ALWAYS_UPDATED + 5 * 2 + 1
    assert box["text/html"].count("<li>") == 3
    assert len(page.owed) <= 5 * 2 + 1  # at most one redraw owed at a time
    page.owed[-1]()  # the owed redraw, half a second after the loop: the final count
    (box,) = page.counted.values()
    assert "(500 rows dropped in this cell" in box["text/html"] and "step 499 is lower" in box["text/html"]


def test_config_warnings_show_a_box_with_escaped_keys(page: Page) -> None:
    run = sdk.init(project="p", mode="offline", config={"<lr>": 0.1})
    run.config["<lr>"] = 0.2
    (box,) = page.counted.values()
    assert 'class="jt-config-warning"' in box["text/html"]
    assert "config key &#x27;&lt;lr&gt;&#x27; changed from 0.1 to 0.2" in box["text/html"] and "<lr>" not in box["text/html"]
    assert "allow_val_change=True" in box["text/html"]
    assert [type(warning) for warning in run.warnings] == [ConfigWarning]


def test_ten_thousand_metrics_show_the_limit_box_once(page: Page) -> None:
    run = sdk.init(project="p", mode="offline")
    for step in range(3):
        run.log({f"metric_{index}": float(step) for index in range(10_050)})
    (box,) = page.boxes
    assert "distinct metric names in a run" in box["text/html"] and "10,050" in box["text/html"]
    assert page.counted == {}
    run.finish(quiet=True)
    page.cell = 2  # the same figures from another run in a later cell show again
    again = sdk.init(project="p", mode="offline")
    again.log({f"metric_{index}": 0.0 for index in range(10_050)})
    assert len(page.boxes) == 2


def test_the_box_declines_outside_a_notebook_and_other_warnings() -> None:
    seen: list[Any] = []
    outside = WarningsBox(is_notebook=lambda: False, show=seen.append, show_counted=lambda *args: seen.append(args))
    inside = WarningsBox(is_notebook=lambda: True, show=seen.append, show_counted=lambda *args: seen.append(args))
    assert outside(StepWarning("step 1 is lower")) is False
    assert outside(LimitWarning("value_size", 1_000_000, 2_000_000, "x")) is False
    assert inside(UserWarning("not ours")) is False
    assert seen == []
