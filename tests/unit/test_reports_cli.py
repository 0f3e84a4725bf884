"""``jupyter-tracker report list|export``: a saved report written as HTML, a notebook and markdown."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import jupyter_tracker as jt
import jupyter_tracker.reports as wr
from jupyter_tracker.cli import main


def test_export_in_every_format_and_list(store_root: Path, tmp_path: Path) -> None:
    run = jt.init(project="cli", mode="offline", name="one", config={"lr": 0.1})
    run.log({"loss": 1.0})
    run.finish(quiet=True)
    report = wr.Report("cli", title="CLI report", blocks=[
        wr.H2("Numbers"), wr.PanelGrid(panels=[wr.LinePlot(y=["loss"]), wr.ScalarChart(metric="loss")]),
    ]).save()
    runner = CliRunner()
    listed = runner.invoke(main, ["report", "list", "cli"])
    assert listed.exit_code == 0 and report.id in listed.output and "CLI report" in listed.output
    for format_ in ("html", "ipynb", "md"):
        target = tmp_path / f"out.{format_}"
        result = runner.invoke(main, ["report", "export", report.id, "--format", format_, "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert f"wrote {target}" in result.output
    assert "jtReportCharts.renderAll" in (tmp_path / "out.html").read_text(encoding="utf-8")
    notebook = json.loads((tmp_path / "out.ipynb").read_text(encoding="utf-8"))
    source = "".join(notebook["cells"][1]["source"])
    assert "wr.Report.from_json(" in source
    assert (tmp_path / "out.md").read_text(encoding="utf-8").startswith("# CLI report\n")
    missing = runner.invoke(main, ["report", "export", "abcdefgh1234"])
    assert missing.exit_code == 1 and "no saved report 'abcdefgh1234'" in missing.output
