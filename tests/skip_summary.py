"""A pytest plugin for CI (``-p tests.skip_summary``): one line saying how many tests did not run, and why.

A skip is easy to miss among 1,600 dots; CI's log ends with what was skipped, counted by reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

#: a reason longer than this is cut (the line stays readable)
REASON_CHARACTERS = 160


def _reason(report: Any) -> str:
    """The skip reason of a test or module report (``pytest.skip(...)``, a skip mark or importorskip)."""
    if isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
    else:
        reason = str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    return reason if len(reason) <= REASON_CHARACTERS else reason[: REASON_CHARACTERS - 1] + "…"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        terminalreporter.write_line("skipped: none")
        return
    reasons = Counter(_reason(report) for report in skipped)
    listed = "; ".join(f"{count} × {reason}" for reason, count in reasons.most_common())
    terminalreporter.write_line(f"skipped: {len(skipped)} ({listed})")
