"""The report model: plain dataclasses for blocks, run sets and panels, and their versioned JSON.

Names and keywords follow wandb's reports API (``wandb_workspaces.reports.v2``) where they
overlap, so report code ports by changing the import. Everything here is plain data: nothing
reads runs or draws; :mod:`.panel_data` computes what a panel shows and :mod:`.html` draws it.

>>> import jupyter_tracker.reports as wr
>>> report = wr.Report("mnist", title="Learning rates", blocks=[
...     wr.H1("Results"),
...     wr.PanelGrid(runsets=[wr.Runset("mnist", filters="config.lr < 0.1")],
...                  panels=[wr.LinePlot(y=["loss"], smoothing_factor=0.6)]),
... ])
>>> wr.Report.from_json(report.to_json()) == report
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

#: the JSON format's version; a newer file is refused with a clear error
FORMAT_VERSION = 1
FORMAT_NAME = "jupyter_tracker.report"

SMOOTHING_TYPES = ("exponential", "gaussian", "average", "none")
AGGREGATIONS = ("mean", "median", "min", "max", "sum", "count", "first", "last")
RANGE_FUNCTIONS = ("minmax", "stddev", "stderr", "none")
#: an axis range ``(min, max)``; None leaves that end to the data (wandb's ``Range``)
Range = tuple[float | None, float | None]


class ReportFormatError(ValueError):
    """A report document that cannot be read; the message names the part at fault."""


# blocks ------------------------------------------------------------------------------------------
@dataclass
class Block:
    """Base of every report block (text, lists, images, panel grids)."""

    kind: ClassVar[str] = "Block"


@dataclass
class H1(Block):
    """A top-level heading."""

    text: str = ""
    kind: ClassVar[str] = "H1"


@dataclass
class H2(Block):
    """A second-level heading."""

    text: str = ""
    kind: ClassVar[str] = "H2"


@dataclass
class H3(Block):
    """A third-level heading."""

    text: str = ""
    kind: ClassVar[str] = "H3"


@dataclass
class P(Block):
    """A paragraph of markdown text (inline markdown: emphasis, links, code)."""

    text: str = ""
    kind: ClassVar[str] = "P"


@dataclass
class MarkdownBlock(Block):
    """Markdown text, rendered without raw HTML and with only safe link schemes."""

    text: str = ""
    kind: ClassVar[str] = "MarkdownBlock"


@dataclass
class CodeBlock(Block):
    """Source code shown verbatim."""

    code: str = ""
    language: str = "python"
    kind: ClassVar[str] = "CodeBlock"


@dataclass
class BlockQuote(Block):
    """A quotation."""

    text: str = ""
    kind: ClassVar[str] = "BlockQuote"


@dataclass
class UnorderedList(Block):
    """A bulleted list; each item is inline markdown."""

    items: list[str] = field(default_factory=list)
    kind: ClassVar[str] = "UnorderedList"


@dataclass
class OrderedList(Block):
    """A numbered list; each item is inline markdown."""

    items: list[str] = field(default_factory=list)
    kind: ClassVar[str] = "OrderedList"


@dataclass
class HorizontalRule(Block):
    """A divider."""

    kind: ClassVar[str] = "HorizontalRule"


@dataclass
class Image(Block):
    """An image: a local file path, a run's media file (``"run_id:media/images/x.png"``) or a URL.

    Local and run files are embedded when the report is exported; only ``http(s)`` URLs are
    linked (and so need a network to show).
    """

    url: str = ""
    caption: str = ""
    kind: ClassVar[str] = "Image"


@dataclass
class TableOfContents(Block):
    """A list of the report's headings, linked."""

    kind: ClassVar[str] = "TableOfContents"


# run sets ----------------------------------------------------------------------------------------
@dataclass
class Runset:
    """Which runs a panel grid shows: a project, a filter expression, grouping and order.

    ``filters`` is the runs table's expression language (``config.lr < 0.1 and state ==
    "finished"``) or wandb's form (``Config('lr') < 0.1 and Metric('State') == 'finished'``).
    ``order`` holds fields with ``+``/``-`` (``"-summary.acc"``), newest runs first when empty.

    >>> Runset("mnist", filters="Config('lr') < 0.1", groupby=["config.optimizer"]).name
    'Run set'
    """

    project: str = ""
    entity: str = ""
    name: str = "Run set"
    filters: str = ""
    groupby: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    query: str = ""


# panels ------------------------------------------------------------------------------------------
@dataclass
class Panel:
    """Base of every panel in a panel grid."""

    kind: ClassVar[str] = "Panel"


@dataclass
class LinePlot(Panel):
    """Metrics over a step axis, one line per run (or per group, with a min/max or deviation band).

    ``x``: ``"Step"`` (``_step``), ``"_runtime"``, ``"_timestamp"`` or any logged step metric.
    ``smoothing_type``: ``exponential`` (TensorBoard's debiased EMA, weight ``smoothing_factor``
    in [0, 1)), ``gaussian``/``average`` (window ``smoothing_factor`` × 100 points wide), ``none``.
    ``range_x``/``range_y``: the axis limits ``(min, max)``, either one None to fit the data;
    ``title_x``/``title_y``: the axis titles (empty: the x field's name, and no y title).

    >>> LinePlot(y=["loss"], range_y=[0, None]).range_y
    (0.0, None)
    """

    title: str = ""
    x: str = "Step"
    y: list[str] = field(default_factory=list)
    smoothing_factor: float = 0.0
    smoothing_type: str = "exponential"
    smoothing_show_original: bool = True
    log_x: bool = False
    log_y: bool = False
    groupby: str = ""
    groupby_aggfunc: str = "mean"
    groupby_rangefunc: str = "minmax"
    max_runs_to_show: int = 20
    range_x: Range = (None, None)
    range_y: Range = (None, None)
    title_x: str = ""
    title_y: str = ""
    kind: ClassVar[str] = "LinePlot"

    def __post_init__(self) -> None:
        self.range_x = axis_range(self.range_x, "range_x")
        self.range_y = axis_range(self.range_y, "range_y")
        self.title_x = "" if self.title_x is None else str(self.title_x)
        self.title_y = "" if self.title_y is None else str(self.title_y)


def axis_range(value: Any, name: str = "range") -> Range:
    """``(min, max)`` of an axis from wandb's ``range_x``/``range_y`` (a pair; None or a missing end fits the data).

    >>> axis_range([1, None])
    (1.0, None)
    """
    if value is None:
        return (None, None)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ReportFormatError(f"{name} must be a pair (min, max) with None for a free end, got {value!r}")
    ends: list[float | None] = []
    for end in value:
        if end is None:
            ends.append(None)
            continue
        if isinstance(end, bool) or not isinstance(end, (int, float)) or not math.isfinite(end):
            raise ReportFormatError(f"{name} ends must be finite numbers or None, got {end!r}")
        ends.append(float(end))
    low, high = ends
    if low is not None and high is not None and low > high:
        raise ReportFormatError(f"{name} has its min {low} above its max {high}")
    return (low, high)


@dataclass
class ScatterPlot(Panel):
    """One point per run: ``x`` and ``y`` (config or summary fields), colour from ``z``."""

    title: str = ""
    x: str = ""
    y: str = ""
    z: str = ""
    log_x: bool = False
    log_y: bool = False
    kind: ClassVar[str] = "ScatterPlot"


@dataclass
class ParallelCoordinatesPlot(Panel):
    """One line per run through an axis per column (config or summary fields)."""

    title: str = ""
    columns: list[str] = field(default_factory=list)
    kind: ClassVar[str] = "ParallelCoordinatesPlot"


@dataclass
class BarPlot(Panel):
    """A bar per run (or per group, aggregated) for each of ``metrics``."""

    title: str = ""
    metrics: list[str] = field(default_factory=list)
    groupby: str = ""
    groupby_aggfunc: str = "mean"
    orientation: str = "h"
    kind: ClassVar[str] = "BarPlot"


@dataclass
class ScalarChart(Panel):
    """One number: ``metric`` over the run set, aggregated (``mean``, ``max``, ``count``...)."""

    title: str = ""
    metric: str = ""
    aggregation: str = "mean"
    kind: ClassVar[str] = "ScalarChart"


@dataclass
class RunComparer(Panel):
    """Config and summary of the runs side by side; ``diff_only`` keeps the rows that differ."""

    diff_only: bool = False
    kind: ClassVar[str] = "RunComparer"


@dataclass
class MediaBrowser(Panel):
    """The last logged image of each of ``media_keys``, per run."""

    title: str = ""
    media_keys: list[str] = field(default_factory=list)
    num_columns: int = 4
    kind: ClassVar[str] = "MediaBrowser"


@dataclass
class MarkdownPanel(Panel):
    """Markdown text inside a panel grid."""

    markdown: str = ""
    kind: ClassVar[str] = "MarkdownPanel"


@dataclass
class CodeComparer(Panel):
    """The difference between the code saved with the first two runs of the run set."""

    diff: str = "split"
    kind: ClassVar[str] = "CodeComparer"


@dataclass
class ParameterImportancePlot(Panel):
    """How much each numeric config value matters for ``with_respect_to``: correlation and random forest."""

    with_respect_to: str = ""
    kind: ClassVar[str] = "ParameterImportancePlot"


@dataclass
class PanelGrid(Block):
    """Panels over one or more run sets (each run set drawn with its own runs)."""

    runsets: list[Runset] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    kind: ClassVar[str] = "PanelGrid"


# the report --------------------------------------------------------------------------------------
@dataclass
class Report:
    """A report: a title, a description and blocks, kept with a stable ``id`` once saved.

    >>> Report("mnist", title="Sweep results").title
    'Sweep results'
    """

    project: str = ""
    entity: str = ""
    title: str = "Untitled Report"
    description: str = ""
    width: str = "readable"
    blocks: list[Block] = field(default_factory=list)
    id: str = ""
    version: int = 0

    # output --------------------------------------------------------------------------------------
    def to_html(self, path: str | Path | None = None, api: Any = None) -> str:
        """One self-contained HTML file (charts, data and images inline; works offline).

        Panels read runs through ``api`` (default ``Api()``: the local store, or the server when
        logged in). Writes ``path`` when given; returns the HTML either way.
        """
        from jupyter_tracker.reports.export import to_html

        return to_html(self, path, api)

    def to_notebook(self, path: str | Path) -> Path:
        """A notebook whose cells rebuild this report (and display it)."""
        from jupyter_tracker.reports.export import to_notebook

        return to_notebook(self, path)

    def to_markdown(self) -> str:
        """The report's text blocks as markdown (panel grids as a line naming their panels)."""
        from jupyter_tracker.reports.export import to_markdown

        return to_markdown(self)

    def save(self, draft: bool = False, clone: bool = False, api: Any = None) -> Report:
        """Stores this report: a new version under its stable ``id`` (given on the first save).

        Saved to the tracking server when ``api`` (default ``Api()``) reads from one, else to the
        local store. Saving unchanged content adds no version. ``clone=True`` saves a copy under a
        new id and returns it (wandb's keywords; ``draft`` is accepted and changes nothing: every
        version is kept). Returns the saved report.
        """
        from jupyter_tracker.reports.storage import save_report

        if clone:
            copy = Report.from_dict(self.to_dict())
            copy.id, copy.version = "", 0
            return save_report(copy, api)
        return save_report(self, api)

    @property
    def url(self) -> str:
        """Where the saved report is read: the server's page, or a ``jupyter-tracker://`` local address."""
        from jupyter_tracker.reports.storage import report_url

        return report_url(self)

    @classmethod
    def from_url(cls, url: str, api: Any = None) -> Report:
        """The saved report at ``url`` (as :attr:`url` gives it), or by its bare id."""
        from jupyter_tracker.reports.storage import load_report_url

        return load_report_url(url, api)

    def widget(self, api: Any = None) -> Any:
        """The report as an interactive notebook widget (what displaying the report shows)."""
        from jupyter_tracker.reports.widget import ReportWidget

        return ReportWidget(self, api=api)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)

    # JSON ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The versioned document (``{"format", "version", "report"}``) as plain data."""
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "report": _encode(self)}

    def to_json(self, indent: int | None = None) -> str:
        """The versioned JSON document; :meth:`from_json` reads it back equal."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=True)

    @classmethod
    def from_dict(cls, document: Any) -> Report:
        """Reads a document written by :meth:`to_dict`; a clear error names what is wrong."""
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise ReportFormatError(f"not a report document (expected format {FORMAT_NAME!r})")
        version = document.get("version")
        if not isinstance(version, int) or version < 1:
            raise ReportFormatError(f"report document has no valid version (got {version!r})")
        if version > FORMAT_VERSION:
            raise ReportFormatError(
                f"report document version {version} is newer than this jupyter_tracker reads ({FORMAT_VERSION})"
            )
        report = _decode(Report, document.get("report"), "report")
        assert isinstance(report, Report)
        return report

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        """Reads :meth:`to_json`'s text."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ReportFormatError(f"report JSON cannot be parsed: {error}") from None
        return cls.from_dict(document)


# (de)serialisation ----------------------------------------------------------------------------------
def _by_kind(*kinds: type[Any]) -> dict[str, type[Any]]:
    """The classes a document names in its ``"type"`` field, by that name."""
    return {kind.kind: kind for kind in kinds}


BLOCK_TYPES: dict[str, type[Block]] = _by_kind(
    H1, H2, H3, P, MarkdownBlock, CodeBlock, BlockQuote, UnorderedList, OrderedList, HorizontalRule, Image,
    TableOfContents, PanelGrid)
PANEL_TYPES: dict[str, type[Panel]] = _by_kind(
    LinePlot, ScatterPlot, ParallelCoordinatesPlot, BarPlot, ScalarChart, RunComparer, MediaBrowser, MarkdownPanel,
    CodeComparer, ParameterImportancePlot)
#: the bases whose subclasses a document stores with a ``"type"`` field, and their subclasses by that name
TYPED: dict[type, dict[str, Any]] = {Block: BLOCK_TYPES, Panel: PANEL_TYPES}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded: dict[str, Any] = {}
        if isinstance(value, tuple(TYPED)):
            encoded["type"] = typing.cast("Block | Panel", value).kind
        for item in dataclasses.fields(value):
            encoded[item.name] = _encode(getattr(value, item.name))
        return encoded
    if isinstance(value, (list, tuple)):
        return [_encode(element) for element in value]
    return value


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, globalns=globals())


def _decode(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ReportFormatError(f"{where}: expected an object, got {type(data).__name__}")
    registry = TYPED.get(cls)
    if registry is not None:
        name = data.get("type")
        if name not in registry:
            raise ReportFormatError(f"{where}: unknown {cls.__name__.lower()} type {name!r}")
        cls = registry[name]
    hints = _hints(cls)
    arguments: dict[str, Any] = {}
    known = {item.name for item in dataclasses.fields(cls)}
    for key in data:
        if key != "type" and key not in known:
            raise ReportFormatError(f"{where}: {cls.__name__} has no field {key!r}")
    for item in dataclasses.fields(cls):
        if item.name in data:
            arguments[item.name] = _decode_value(hints[item.name], data[item.name], f"{where}.{item.name}")
    return cls(**arguments)


def _decode_value(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (element,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ReportFormatError(f"{where}: expected a list, got {type(value).__name__}")
        return [_decode_value(element, item, f"{where}[{index}]") for index, item in enumerate(value)]
    if origin is tuple:
        return axis_range(value, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        return value
    expected = {str: (str,), bool: (bool,), int: (int,), float: (int, float)}.get(hint)
    if expected is not None:
        if not isinstance(value, expected) or (hint is not bool and isinstance(value, bool)):
            raise ReportFormatError(f"{where}: expected {hint.__name__}, got {value!r}")
        return float(typing.cast(float, value)) if hint is float else value
    return value
