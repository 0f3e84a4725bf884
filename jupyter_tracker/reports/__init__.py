"""Reports: markdown and panel grids over run sets, built in the notebook, saved, shared and exported.

Use it as wandb's reports API (``wandb_workspaces.reports.v2``): names and keywords match where
they overlap.

>>> import jupyter_tracker.reports as wr
>>> report = wr.Report(project="mnist", title="Sweep", blocks=[
...     wr.H1("Learning rate"),
...     wr.PanelGrid(runsets=[wr.Runset(project="mnist", filters="Config('lr') < 0.1")],
...                  panels=[wr.LinePlot(x="Step", y=["loss"], smoothing_factor=0.8),
...                          wr.ScatterPlot(x="config.lr", y="summary.acc")]),
... ])
>>> report.blocks[1].panels[0].y
['loss']
"""

from __future__ import annotations

from jupyter_tracker.reports.model import (
    FORMAT_VERSION,
    H1,
    H2,
    H3,
    BarPlot,
    Block,
    BlockQuote,
    CodeBlock,
    CodeComparer,
    HorizontalRule,
    Image,
    LinePlot,
    MarkdownBlock,
    MarkdownPanel,
    MediaBrowser,
    OrderedList,
    P,
    Panel,
    PanelGrid,
    ParallelCoordinatesPlot,
    ParameterImportancePlot,
    Report,
    ReportFormatError,
    RunComparer,
    Runset,
    ScalarChart,
    ScatterPlot,
    TableOfContents,
    UnorderedList,
)
from jupyter_tracker.reports.runset_filter import Config, Metric, OrderBy, SummaryMetric

__all__ = [
    "FORMAT_VERSION", "H1", "H2", "H3", "BarPlot", "Block", "BlockQuote", "CodeBlock", "CodeComparer", "Config",
    "HorizontalRule", "Image", "LinePlot", "MarkdownBlock", "MarkdownPanel", "MediaBrowser", "Metric",
    "OrderBy", "OrderedList", "P", "Panel", "PanelGrid", "ParallelCoordinatesPlot", "ParameterImportancePlot", "Report",
    "ReportFormatError", "RunComparer", "Runset", "ScalarChart", "ScatterPlot", "SummaryMetric",
    "TableOfContents", "UnorderedList",
]
