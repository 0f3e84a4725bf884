"""The report model: every block and panel survives the versioned JSON exactly; bad documents are named."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jupyter_tracker.reports as wr
from jupyter_tracker.notebook.runs_filter import FilterError
from jupyter_tracker.reports import model
from jupyter_tracker.reports.runset_filter import field_name, to_expression

TEXT = st.text(max_size=20)
FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _strategy(hint: typing.Any) -> st.SearchStrategy[typing.Any]:
    if hint is str:
        return TEXT
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**40), 2**40)
    if hint is float:
        return FLOATS
    if typing.get_origin(hint) is list:
        (element,) = typing.get_args(hint)
        return st.lists(_strategy(element), max_size=3)
    if typing.get_origin(hint) is tuple:  # an axis range: (min, max), either end None
        end = st.none() | FLOATS
        return st.tuples(end, end).map(lambda pair: pair if None in pair else tuple(sorted(pair)))
    if hint is model.Panel:
        return st.one_of(*[instances(kind) for kind in model.PANEL_TYPES.values()])
    if hint is model.Runset:
        return instances(model.Runset)
    raise AssertionError(f"no strategy for {hint}")


def instances(cls: type) -> st.SearchStrategy[typing.Any]:
    hints = typing.get_type_hints(cls, globalns=vars(model))
    return st.builds(cls, **{item.name: _strategy(hints[item.name]) for item in dataclasses.fields(cls)})


BLOCKS = st.one_of(*[instances(kind) for kind in model.BLOCK_TYPES.values()])
REPORTS = st.builds(
    wr.Report, project=TEXT, entity=TEXT, title=TEXT, description=TEXT, width=TEXT,
    blocks=st.lists(BLOCKS, max_size=4), id=TEXT, version=st.integers(0, 1000),
)


@settings(max_examples=150, deadline=None)
@given(REPORTS)
def test_every_block_and_panel_round_trips_through_json(report: wr.Report) -> None:
    text = report.to_json()
    again = wr.Report.from_json(text)
    assert again == report
    assert again.to_json() == text
    assert json.loads(text)["version"] == wr.FORMAT_VERSION


@pytest.mark.parametrize("kind", sorted(model.PANEL_TYPES))
def test_each_panel_kind_round_trips_inside_a_grid(kind: str) -> None:
    panel = model.PANEL_TYPES[kind]()
    report = wr.Report("p", blocks=[wr.PanelGrid(runsets=[wr.Runset("p", filters="lr < 1")], panels=[panel])])
    assert wr.Report.from_json(report.to_json()) == report
    assert json.loads(report.to_json())["report"]["blocks"][0]["panels"][0]["type"] == kind


def test_wandb_names_and_keywords_build_a_report() -> None:
    report = wr.Report(project="mnist", title="Sweep", description="lr search", blocks=[
        wr.H1(text="Results"), wr.P(text="text"), wr.TableOfContents(), wr.HorizontalRule(),
        wr.CodeBlock(code="print(1)", language="python"), wr.UnorderedList(items=["a"]), wr.OrderedList(items=["b"]),
        wr.BlockQuote(text="q"), wr.MarkdownBlock(text="*m*"), wr.Image(url="x.png", caption="c"),
        wr.PanelGrid(
            runsets=[wr.Runset(project="mnist", entity="me", name="low lr", filters="Config('lr') < 0.1",
                               groupby=["config.opt"], order=["-summary.acc"])],
            panels=[wr.LinePlot(x="Step", y=["loss"], smoothing_factor=0.8, smoothing_type="gaussian", log_y=True,
                                groupby="config.opt"),
                    wr.ScatterPlot(x=wr.Config("lr"), y=wr.SummaryMetric("acc"), z="config.batch"),
                    wr.ParallelCoordinatesPlot(columns=["config.lr", "summary.acc"]),
                    wr.BarPlot(metrics=["summary.acc"], groupby="config.opt"), wr.ScalarChart(metric="acc", aggregation="max"),
                    wr.RunComparer(diff_only=True), wr.MediaBrowser(media_keys=["examples"]), wr.MarkdownPanel("m"),
                    wr.CodeComparer(), wr.ParameterImportancePlot(with_respect_to="summary.acc")],
        ),
    ])
    assert wr.Report.from_json(report.to_json(indent=2)) == report
    assert report.blocks[-1].panels[1].x == "config.lr"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{", "cannot be parsed"),
        ('{"format": "other"}', "not a report document"),
        ('{"format": "jupyter_tracker.report", "version": 99, "report": {}}', "newer"),
        ('{"format": "jupyter_tracker.report", "version": 1, "report": {"blocks": [{"type": "Nope"}]}}',
         "report.blocks[0]: unknown block type 'Nope'"),
        ('{"format": "jupyter_tracker.report", "version": 1, "report": {"blocks": [{"type": "H1", "text": 3}]}}',
         "report.blocks[0].text: expected str"),
        ('{"format": "jupyter_tracker.report", "version": 1, "report": {"title": "t", "colour": 1}}',
         "Report has no field 'colour'"),
    ],
)
def test_bad_documents_are_refused_with_the_part_named(document: str, message: str) -> None:
    with pytest.raises(wr.ReportFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        wr.Report.from_json(document)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("config.lr < 0.1", "config.lr < 0.1"),
        ("Config('lr') < 0.1 and Metric('State') == 'finished'", "`config.lr` < 0.1 and `state` == 'finished'"),
        ("SummaryMetric('val/acc') >= 0.9", "`summary.val/acc` >= 0.9"),
        ("Metric('Tags') == 'x' or Metric('Name') == 'y'", "`tags` == 'x' or `name` == 'y'"),
    ],
)
def test_wandb_filter_form_becomes_the_runs_table_language(text: str, expected: str) -> None:
    assert to_expression(text) == expected


@pytest.mark.parametrize("text", ["__import__('os').system('x')", "Config(1) < 2", "open('f')"])
def test_filters_with_other_calls_are_refused(text: str) -> None:
    with pytest.raises(FilterError):
        to_expression(text)


def test_field_names_in_wandb_spellings() -> None:
    assert field_name("c::lr") == "config.lr"
    assert field_name("s::acc") == "summary.acc"
    assert field_name("SummaryMetric('acc')") == "summary.acc"
    assert field_name("loss") == "loss"


def test_line_plot_axis_ranges_and_titles_round_trip_and_bad_ranges_are_named() -> None:
    plot = wr.LinePlot(y=["loss"], range_x=[0, 100], range_y=(None, 2.5), title_x="step", title_y=None)
    assert plot.range_x == (0.0, 100.0) and plot.range_y == (None, 2.5) and plot.title_y == ""
    report = wr.Report("p", blocks=[wr.PanelGrid(panels=[plot])])
    document = json.loads(report.to_json())
    assert document["report"]["blocks"][0]["panels"][0]["range_x"] == [0.0, 100.0]
    assert wr.Report.from_json(report.to_json()) == report
    with pytest.raises(ValueError, match="range_y has its min 3.0 above its max 1.0"):
        wr.LinePlot(range_y=(3, 1))
    with pytest.raises(ValueError, match="range_x must be a pair"):
        wr.LinePlot(range_x="0-1")
    document["report"]["blocks"][0]["panels"][0]["range_y"] = [0, "high"]
    with pytest.raises(model.ReportFormatError, match=r"report\.blocks\[0\]\.panels\[0\]\.range_y ends must be"):
        wr.Report.from_dict(document)
