"""Reports saved in the local store: a stable id, a version per change, loaded back by id, path and URL."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api
from jupyter_tracker.reports.storage import ReportNotFoundError


def test_save_keeps_a_stable_id_and_a_version_per_change(store_root: Path) -> None:
    report = wr.Report("mnist", title="First", blocks=[wr.H1("a")])
    assert report.url == ""
    report.save()
    report_id = report.id
    assert report.version == 1 and report.url == f"jupyter-tracker://reports/mnist/{report_id}"
    report.save()
    assert (report.id, report.version) == (report_id, 1)
    report.blocks.append(wr.P("more"))
    report.save()
    assert (report.id, report.version) == (report_id, 2)
    api = Api()
    assert api.report(report_id) == report
    assert api.report(f"mnist/{report_id}", version=1).blocks == [wr.H1("a")]
    assert wr.Report.from_url(report.url) == report
    listed = api.reports("mnist")
    assert [(saved.id, saved.title, saved.version) for saved in listed] == [(report_id, "First", 2)]
    assert (store_root / "reports" / "mnist" / report_id / "v000001.json").is_file()


def test_missing_reports_and_bad_names_are_clear_errors(store_root: Path) -> None:
    with pytest.raises(ReportNotFoundError, match="no saved report 'abcdefgh1234'"):
        Api().report("abcdefgh1234")
    with pytest.raises(ValueError, match="report id"):
        Api().report("../../etc")
    with pytest.raises(ValueError, match="needs a project"):
        wr.Report(title="no project").save()
    with pytest.raises(ValueError, match="project '../x'"):
        wr.Report("../x").save()


def test_clone_saves_a_copy_under_a_new_id(store_root: Path) -> None:
    report = wr.Report("mnist", title="Original").save(draft=True)
    copy = report.save(clone=True)
    assert copy.id != report.id and copy.version == 1 and copy.title == "Original"
    assert sorted(saved.id for saved in Api().reports("mnist")) == sorted([report.id, copy.id])


def test_order_by_in_wandb_form_orders_run_sets() -> None:
    assert wr.OrderBy("summary.acc") == "-summary.acc"
    assert wr.OrderBy("c::lr", ascending=True) == "+config.lr"
