"""``%tracker report new|show|save|export|list`` on IPython's test shell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp

import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api


@pytest.fixture
def ip(store_root: Path) -> Iterator[Any]:
    globalipapp.start_ipython()  # once per process; later calls return None
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "jupyter_tracker")
    try:
        yield shell
    finally:
        if "tracker" in shell.magics_manager.magics["line"]:
            shell.run_line_magic("unload_ext", "jupyter_tracker")
        shell.user_ns.pop("report", None)
        shell.user_ns.pop("results", None)


def test_new_save_export_list_and_show(ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("tracker", "report new results --project magic --title 'From the magic'")
    report = ip.user_ns["results"]
    assert isinstance(report, wr.Report) and report.title == "From the magic" and report.project == "magic"
    report.blocks.append(wr.H1("Hello"))
    ip.run_line_magic("tracker", "report save results")
    assert report.version == 1 and Api().report(report.id) == report
    target = tmp_path / "out.md"
    ip.run_line_magic("tracker", f"report export results --format md --output {target}")
    assert target.read_text(encoding="utf-8").startswith("# From the magic")
    ip.run_line_magic("tracker", f"report export {report.id} -f html -o {tmp_path / 'out.html'}")
    assert (tmp_path / "out.html").is_file()
    ip.run_line_magic("tracker", "report list --project magic")
    assert report.id in capsys.readouterr().out
    ip.run_line_magic("tracker", "report show results")


def test_report_magic_errors_say_what_to_do(ip: Any) -> None:
    with pytest.raises(UsageError, match="no report in the variable 'report'"):
        ip.run_line_magic("tracker", "report save")
    with pytest.raises(UsageError, match="invalid choice"):
        ip.run_line_magic("tracker", "report publish")
