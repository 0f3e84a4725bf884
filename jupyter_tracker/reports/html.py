"""A report drawn as HTML: blocks, panel grids and panels, and the one self-contained document.

Text goes through :mod:`.markdown_text`; every run name, tag, config key and value is escaped
here with :func:`html.escape` (attributes quoted); chart data travels as JSON inside
``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, so no value can close
the tag. Line plots are drawn in the browser with the vendored uPlot and the shared smoothing
module (``notebook/static``); the other panels are SVG and tables drawn here.
"""

from __future__ import annotations

import base64
import difflib
import html
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_tracker.reports import model
from jupyter_tracker.reports.markdown_text import render_inline, render_markdown, safe_url

if TYPE_CHECKING:
    from jupyter_tracker.api.public import Api

STATIC_DIR = Path(__file__).parent / "static"
SHARED_STATIC_DIR = Path(__file__).parent.parent / "notebook" / "static"
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".webp": "image/webp", ".svg": "image/svg+xml"}


def escape(value: Any) -> str:
    """Any value as HTML text (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element (``</script>`` and ``<!--`` cannot occur)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace(
        "\u2028", "\\u2028").replace("\u2029", "\\u2029")


# assets ------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def charts_script() -> str:
    """uPlot, the shared smoothing module (exports made plain) and the report's chart code, as one script."""
    uplot = (SHARED_STATIC_DIR / "uPlot.iife.min.js").read_text(encoding="utf-8")
    smoothing = (SHARED_STATIC_DIR / "smoothing.js").read_text(encoding="utf-8")
    smoothing = re.sub(r"^export function ", "function ", smoothing, flags=re.MULTILINE)
    charts = (STATIC_DIR / "report_charts.js").read_text(encoding="utf-8")
    return f"{uplot}\n{smoothing}\n{charts}"


@lru_cache(maxsize=1)
def report_css() -> str:
    uplot = (SHARED_STATIC_DIR / "uPlot.min.css").read_text(encoding="utf-8")
    return uplot + "\n" + (STATIC_DIR / "report.css").read_text(encoding="utf-8")


# rendering ---------------------------------------------------------------------------------------
@dataclass
class RenderContext:
    """What rendering needs beside the report: where runs are read, and how images are resolved."""

    api: Api | None
    project: str
    entity: str = ""
    base_dir: Path | None = None
    #: whether an Image may read a file by path (never on the server, which must not serve its own files)
    local_files: bool = True
    #: the notebook widget: filter boxes, panel move/remove buttons and markdown editing
    editable: bool = False
    #: no script at all: line plots as SVG (what a saved notebook shows without its kernel)
    static: bool = False
    #: finished runs' series, kept across renders (the widget passes one dict to every render)
    series_cache: dict[Any, Any] = field(default_factory=dict)
    #: run sets' listings, kept across renders until the run index changes (the widget passes one dict)
    listing_cache: dict[Any, Any] | None = None
    errors: list[str] = field(default_factory=list)


def render_body(report: model.Report, api: Api | None, base_dir: Path | None = None, local_files: bool = True,
                editable: bool = False, static: bool = False, series_cache: dict[Any, Any] | None = None,
                listing_cache: dict[Any, Any] | None = None) -> str:
    """The report's blocks as HTML (no ``<html>`` shell); panels read runs through ``api``.

    ``editable`` adds the widget's controls (filter boxes, panel buttons, markdown editing).
    ``series_cache`` and ``listing_cache`` are kept by a caller that renders again (the widget):
    finished runs' histories, and each run set's listing until the run index changes.
    """
    context = RenderContext(api, report.project, report.entity, base_dir, local_files, editable, static,
                            series_cache if series_cache is not None else {}, listing_cache)
    headings: list[tuple[int, model.Block]] = [
        (index, block) for index, block in enumerate(report.blocks) if isinstance(block, (model.H1, model.H2, model.H3))
    ]
    parts = [f'<header class="jt-report-header"><h1 class="jt-report-title">{escape(report.title)}</h1>']
    if report.description:
        parts.append(f'<div class="jt-report-description">{render_markdown(report.description)}</div>')
    parts.append("</header>")
    for index, block in enumerate(report.blocks):
        parts.append(f'<section class="jt-block" data-block="{index}" data-kind="{escape(block.kind)}">')
        if editable and isinstance(block, (model.MarkdownBlock, model.P)):
            parts.append(f'<button class="jt-edit-markdown" title="Edit this text" data-text="{escape(block.text)}">'
                         "Edit</button>")
        parts.append(render_block(block, index, context, headings))
        parts.append("</section>")
    return "\n".join(parts)


def render_block(block: model.Block, index: int, context: RenderContext,
                 headings: list[tuple[int, model.Block]] | None = None) -> str:
    """One block as HTML."""
    if isinstance(block, (model.H1, model.H2, model.H3)):
        level = block.kind[1]
        return f'<h{level} id="block-{index}">{render_inline(block.text)}</h{level}>'
    if isinstance(block, model.P):
        return f"<p>{render_inline(block.text)}</p>"
    if isinstance(block, model.MarkdownBlock):
        return f'<div class="jt-markdown">{render_markdown(block.text)}</div>'
    if isinstance(block, model.CodeBlock):
        return f'<pre class="jt-code"><code data-language="{escape(block.language)}">{escape(block.code)}</code></pre>'
    if isinstance(block, model.BlockQuote):
        return f"<blockquote>{render_markdown(block.text)}</blockquote>"
    if isinstance(block, (model.UnorderedList, model.OrderedList)):
        tag = "ul" if isinstance(block, model.UnorderedList) else "ol"
        items = "".join(f"<li>{render_inline(item)}</li>" for item in block.items)
        return f"<{tag}>{items}</{tag}>"
    if isinstance(block, model.HorizontalRule):
        return "<hr>"
    if isinstance(block, model.Image):
        return _image(block, context)
    if isinstance(block, model.TableOfContents):
        entries = "".join(
            f'<li class="jt-toc-{escape(heading.kind.lower())}"><a href="#block-{position}">'
            f"{escape(getattr(heading, 'text', ''))}</a></li>"
            for position, heading in headings or []
        )
        return f'<nav class="jt-toc"><ul>{entries}</ul></nav>'
    if isinstance(block, model.PanelGrid):
        return render_panel_grid(block, context)
    return ""


def _image(block: model.Image, context: RenderContext) -> str:
    source = image_source(block.url, context)
    caption = f"<figcaption>{render_inline(block.caption)}</figcaption>" if block.caption else ""
    if source is None:
        return f'<figure class="jt-image jt-missing">image not found: {escape(block.url)}{caption}</figure>'
    return f'<figure class="jt-image"><img src="{escape(source)}" alt="{escape(block.caption)}">{caption}</figure>'


def image_source(url: str, context: RenderContext) -> str | None:
    """A data URI for a local file or a run's media file (``run_id:path``), or a safe http(s) URL."""
    text = url.strip()
    if re.match(r"^https?://", text, re.IGNORECASE):
        return text
    if text.lower().startswith("data:"):
        return text if safe_url(text, image=True) else None
    run_file = re.match(r"^([A-Za-z0-9_-]+):(?!//)(.+)$", text)
    if run_file and context.api is not None and not (context.local_files and Path(text).exists()):
        from jupyter_tracker.reports.panel_data import _run_file

        try:
            record = context.api.backend.get_run(context.entity or None, context.project or None, run_file.group(1))
        except Exception:  # noqa: BLE001 - a missing run shows as a missing image
            return None
        return _run_file(context.api, dict(record), run_file.group(2))
    if not context.local_files:
        return None
    path = Path(text)
    if not path.is_absolute() and context.base_dir is not None:
        path = context.base_dir / path
    mime = _IMAGE_TYPES.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return None
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_panel_grid(grid: model.PanelGrid, context: RenderContext) -> str:
    """Each run set's panels (a grid per run set, titled with the run set's name and filter)."""
    from jupyter_tracker.reports.panel_data import panel_data, select_runs, want_series

    runsets = grid.runsets or [model.Runset(project=context.project, entity=context.entity)]
    parts = ['<div class="jt-panel-grid">']
    for runset_index, runset in enumerate(runsets):
        parts.append(f'<div class="jt-runset" data-runset="{runset_index}">')
        heading = escape(runset.name)
        if context.editable:
            heading += (f' <input class="jt-filter-input" type="text" value="{escape(runset.filters)}" '
                        'placeholder="filter, e.g. config.lr &lt; 0.01" spellcheck="false">')
        elif runset.filters:
            heading += f' <code class="jt-filter">{escape(runset.filters)}</code>'
        if context.api is None:
            parts.append(f'<div class="jt-runset-name">{heading}</div><div class="jt-note">no run store</div></div>')
            continue
        try:
            selection = select_runs(context.api, runset, context.project, context.entity, cache=context.listing_cache)
        except ValueError as error:
            parts.append(f'<div class="jt-runset-name">{heading}</div><div class="jt-error">{escape(error)}</div></div>')
            continue
        want_series(selection, grid.panels)
        selection.finished_series = context.series_cache
        parts.append(f'<div class="jt-runset-name">{heading} <span class="jt-count">'
                     f"{len(selection.frame)} of {selection.total} runs</span></div>")
        parts.append('<div class="jt-panels">')
        for panel_index, panel in enumerate(grid.panels):
            title = escape(getattr(panel, "title", "") or _default_title(panel))
            controls = ""
            if context.editable:
                controls = ('<span class="jt-panel-controls"><button class="jt-panel-move" data-step="-1" title="Move left">'
                            '&#8592;</button><button class="jt-panel-move" data-step="1" title="Move right">&#8594;</button>'
                            '<button class="jt-panel-remove" title="Remove panel">&#10005;</button></span>')
            parts.append(f'<div class="jt-panel jt-{escape(panel.kind)}" data-panel="{panel_index}">'
                         f'<div class="jt-panel-title">{title}{controls}</div>')
            if isinstance(panel, model.MarkdownPanel):
                parts.append(f'<div class="jt-markdown">{render_markdown(panel.markdown)}</div>')
            else:
                try:
                    data = panel_data(context.api, selection, panel)
                    renderer = render_line_plot_svg if context.static and panel.kind == "LinePlot" \
                        else PANEL_RENDERERS[panel.kind]
                    parts.append(renderer(data))
                except (ValueError, KeyError, ImportError) as error:
                    parts.append(f'<div class="jt-error">{escape(error)}</div>')
            parts.append("</div>")
        parts.append("</div></div>")
    parts.append("</div>")
    return "".join(parts)


def _default_title(panel: model.Panel) -> str:
    if isinstance(panel, model.LinePlot):
        return ", ".join(panel.y)
    if isinstance(panel, model.ScatterPlot):
        return f"{panel.y} vs {panel.x}"
    if isinstance(panel, model.ScalarChart):
        return f"{panel.aggregation} of {panel.metric}"
    if isinstance(panel, model.ParameterImportancePlot):
        return f"Parameter importance for {panel.with_respect_to}"
    if isinstance(panel, model.BarPlot):
        return ", ".join(panel.metrics)
    return {"RunComparer": "Run comparer", "ParallelCoordinatesPlot": "Parallel coordinates",
            "MediaBrowser": "Media", "CodeComparer": "Code comparer"}.get(panel.kind, "")


# panels --------------------------------------------------------------------------------------------
WIDTH, HEIGHT, MARGIN = 420, 260, 44


def _format(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_format(item) for item in value)
    return "" if value is None else str(value)


def _scale(low: float, high: float, start: float, end: float, log: bool = False) -> Callable[[float], float]:
    if log:
        low, high = math.log10(max(low, 1e-300)), math.log10(max(high, 1e-300))
    span = (high - low) or 1.0

    def scale(value: float) -> float:
        value = math.log10(max(value, 1e-300)) if log else value
        return start + (value - low) / span * (end - start)

    return scale


def _axes(x_label: str, y_label: str, x_range: tuple[float, float], y_range: tuple[float, float]) -> str:
    bottom, right = HEIGHT - MARGIN, WIDTH - 10
    return (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{right}" y2="{bottom}" class="jt-axis"/>'
        f'<line x1="{MARGIN}" y1="10" x2="{MARGIN}" y2="{bottom}" class="jt-axis"/>'
        f'<text x="{(MARGIN + right) / 2}" y="{HEIGHT - 8}" class="jt-axis-label" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{(10 + bottom) / 2}" class="jt-axis-label" text-anchor="middle" '
        f'transform="rotate(-90 12 {(10 + bottom) / 2})">{escape(y_label)}</text>'
        f'<text x="{MARGIN}" y="{bottom + 14}" class="jt-tick">{escape(_format(x_range[0]))}</text>'
        f'<text x="{right}" y="{bottom + 14}" class="jt-tick" text-anchor="end">{escape(_format(x_range[1]))}</text>'
        f'<text x="{MARGIN - 4}" y="{bottom}" class="jt-tick" text-anchor="end">{escape(_format(y_range[0]))}</text>'
        f'<text x="{MARGIN - 4}" y="16" class="jt-tick" text-anchor="end">{escape(_format(y_range[1]))}</text>'
    )


def render_line_plot(data: dict[str, Any]) -> str:
    """A placeholder the chart script fills with uPlot, with its data as JSON; a note when empty."""
    if not data["lines"]:
        return '<div class="jt-note">no runs have these metrics</div>'
    slider = ""
    if data["smoothing_type"] == "exponential":
        slider = ('<label class="jt-smoothing">Smoothing <input type="range" min="0" max="0.999" step="0.001" '
                  f'value="{data["smoothing_factor"]}"><output>{data["smoothing_factor"]}</output></label>')
    if data["smoothing_type"] == "exponential":
        # a whole line is smoothed in the browser from its points: its smoothed copy need not travel
        data = {**data, "lines": [line if "summary" in line else {k: v for k, v in line.items() if k != "smooth"}
                                  for line in data["lines"]]}
    return (f'<div class="jt-line-plot">{slider}<div class="jt-chart"></div>'
            f'<script type="application/json" class="jt-data">{script_json(data)}</script></div>')


#: points per line in a static (SVG) line plot
STATIC_POINTS = 300


def render_line_plot_svg(data: dict[str, Any]) -> str:
    """A line plot without script: each line's smoothed values as an SVG polyline (thinned)."""
    lines = data["lines"]
    values = [(x, y) for line in lines for x, y in zip(line["x"], line["smooth"], strict=True)
              if x is not None and y is not None]
    if not values:
        return '<div class="jt-note">no runs have these metrics</div>'
    x_range = _axis_limits(data.get("range_x"), [x for x, _ in values])
    y_range = _axis_limits(data.get("range_y"), [y for _, y in values])
    log_x = data["log_x"] and x_range[0] > 0
    log_y = data["log_y"] and y_range[0] > 0
    sx = _scale(*x_range, MARGIN + 2, WIDTH - 12, log_x)
    sy = _scale(*y_range, HEIGHT - MARGIN - 2, 12, log_y)
    marks = []
    for line in lines:
        # a set range cuts what lies outside it: x beyond it is dropped, y held at its edge
        pairs = [(x, min(max(y, y_range[0]), y_range[1])) for x, y in zip(line["x"], line["smooth"], strict=True)
                 if x is not None and y is not None and x_range[0] <= x <= x_range[1]]
        if not pairs:
            continue
        stride = max(1, len(pairs) // STATIC_POINTS)
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pairs[::stride] + pairs[-1:])
        marks.append(f'<polyline points="{points}" fill="none" stroke="{escape(line["color"])}" stroke-width="1.5">'
                     f'<title>{escape(line["label"])}</title></polyline>')
    y_label = data.get("title_y") or ", ".join(dict.fromkeys(line["metric"] for line in lines))
    x_label = data.get("title_x") or data["x_label"]
    return (f'<svg class="jt-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(y_label)}">'
            f'{_axes(x_label, y_label, x_range, y_range)}{"".join(marks)}</svg>')


def _axis_limits(range_: Any, values: list[float]) -> tuple[float, float]:
    """An axis's ``(min, max)``: the plot's set ends (``range_x``/``range_y``), the data's for the free ones."""
    low, high = (list(range_) + [None, None])[:2] if isinstance(range_, (list, tuple)) else (None, None)
    low = min(values) if low is None else float(low)
    high = max(values) if high is None else float(high)
    if high < low:  # one set end beyond all the data: the other end follows it
        low, high = (low, low + 1.0) if range_ and range_[1] is None else (high - 1.0, high)
    return low, high


def render_scatter(data: dict[str, Any]) -> str:
    points = data["points"]
    if not points:
        return '<div class="jt-note">no runs have both values</div>'
    xs, ys = [point["x"] for point in points], [point["y"] for point in points]
    log_x = data["log_x"] and min(xs) > 0
    log_y = data["log_y"] and min(ys) > 0
    sx = _scale(min(xs), max(xs), MARGIN + 6, WIDTH - 16, log_x)
    sy = _scale(min(ys), max(ys), HEIGHT - MARGIN - 6, 16, log_y)
    marks = []
    for point in points:
        label = f"{point['name']}: {data['x_label']}={_format(point['x'])}, {data['y_label']}={_format(point['y'])}"
        if data["z_label"]:
            label += f", {data['z_label']}={_format(point['z'])}"
        marks.append(f'<circle cx="{sx(point["x"]):.1f}" cy="{sy(point["y"]):.1f}" r="4" fill="{escape(point["color"])}" '
                     f'data-run="{escape(point["run"])}"><title>{escape(label)}</title></circle>')
    return (f'<svg class="jt-svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
            f'{_axes(data["x_label"], data["y_label"], (min(xs), max(xs)), (min(ys), max(ys)))}{"".join(marks)}</svg>')


def render_parallel_coordinates(data: dict[str, Any]) -> str:
    axes, lines = data["axes"], data["lines"]
    if not axes or not lines:
        return '<div class="jt-note">no columns or no runs</div>'
    width = max(WIDTH, 120 * len(axes))
    step = (width - 2 * MARGIN) / max(1, len(axes) - 1)
    top, bottom = 24, HEIGHT - 30
    parts = []
    positions = []
    for index, axis in enumerate(axes):
        x = MARGIN + index * step if len(axes) > 1 else width / 2
        positions.append(x)
        if axis["kind"] == "number":
            low_label, high_label = _format(axis["min"]), _format(axis["max"])
        else:
            low_label, high_label = (axis["categories"][0], axis["categories"][-1]) if axis["categories"] else ("", "")
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="jt-axis"/>'
                     f'<text x="{x:.1f}" y="14" class="jt-axis-label" text-anchor="middle">{escape(axis["name"])}</text>'
                     f'<text x="{x:.1f}" y="{bottom + 14}" class="jt-tick" text-anchor="middle">{escape(low_label)}</text>'
                     f'<text x="{x:.1f}" y="{top - 2}" class="jt-tick" text-anchor="middle">{escape(high_label)}</text>')

    def position(axis: dict[str, Any], value: float) -> float:
        if axis["kind"] == "number":
            span = (axis["max"] - axis["min"]) or 1.0
            share = (value - axis["min"]) / span if axis["max"] != axis["min"] else 0.5
        else:
            count = len(axis["categories"])
            share = value / (count - 1) if count > 1 else 0.5
        return bottom - share * (bottom - top)

    for line in lines:
        points = [f"{positions[index]:.1f},{position(axes[index], value):.1f}"
                  for index, value in enumerate(line["values"]) if value is not None]
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{escape(line["color"])}" '
                     f'stroke-width="1.5" data-run="{escape(line["run"])}"><title>{escape(line["name"])}</title></polyline>')
    return f'<svg class="jt-svg" viewBox="0 0 {width:.0f} {HEIGHT}" role="img">{"".join(parts)}</svg>'


def render_bar_plot(data: dict[str, Any]) -> str:
    parts = []
    for chart in data["charts"]:
        bars = chart["bars"]
        values = [bar["value"] for bar in bars if bar["value"] is not None]
        top = max([abs(value) for value in values] or [1.0]) or 1.0
        rows = "".join(
            f'<div class="jt-bar-row"><span class="jt-bar-label">{escape(bar["label"])}</span>'
            f'<span class="jt-bar" style="width:{(abs(bar["value"] or 0) / top * 100):.1f}%;background:{escape(bar["color"])}"></span>'
            f'<span class="jt-bar-value">{escape(_format(bar["value"]))}</span></div>'
            for bar in bars
        )
        parts.append(f'<div class="jt-bar-chart"><div class="jt-bar-metric">{escape(chart["metric"])}</div>{rows or "no values"}</div>')
    return "".join(parts)


def render_scalar(data: dict[str, Any]) -> str:
    return (f'<div class="jt-scalar"><span class="jt-scalar-value">{escape(_format(data["value"]))}</span>'
            f'<span class="jt-scalar-note">{escape(data["aggregation"])} of {escape(data["metric"])} over '
            f'{data["runs"]} runs</span></div>')


def render_run_comparer(data: dict[str, Any]) -> str:
    head = "".join(f'<th style="border-top:3px solid {escape(run["color"])}">{escape(run["name"])}</th>' for run in data["runs"])
    rows = "".join(
        f'<tr><th>{escape(row["key"])}</th>{"".join(f"<td>{escape(_format(value))}</td>" for value in row["values"])}</tr>'
        for row in data["rows"]
    )
    return f'<div class="jt-scroll"><table class="jt-table"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def render_importance(data: dict[str, Any]) -> str:
    if not data["parameters"]:
        return f'<div class="jt-note">not enough runs with {escape(data["with_respect_to"])} and varying config values</div>'
    rows = []
    for row in data["parameters"]:
        correlation = row["correlation"]
        importance = row["importance"]
        color = "#2ca02c" if (correlation or 0) >= 0 else "#d62728"
        rows.append(
            f'<tr><th>{escape(row["parameter"])}</th>'
            f'<td><span class="jt-bar" style="width:{(importance or 0) * 100:.1f}%"></span> {escape(_format(importance))}</td>'
            f'<td><span class="jt-bar" style="width:{abs(correlation or 0) * 100:.1f}%;background:{color}"></span> '
            f"{escape(_format(correlation))}</td></tr>"
        )
    return ('<table class="jt-table jt-importance"><thead><tr><th>config</th><th>importance</th><th>correlation</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table><div class="jt-note">{data["runs"]} runs</div>')


def render_media(data: dict[str, Any]) -> str:
    if not data["items"]:
        return '<div class="jt-note">no images</div>'
    cells = "".join(
        f'<figure><img src="{escape(item["image"])}" alt="{escape(item["key"])}">'
        f'<figcaption>{escape(item["name"])} · {escape(item["key"])}</figcaption></figure>'
        for item in data["items"] if safe_url(item["image"], image=True)
    )
    return f'<div class="jt-media" style="grid-template-columns:repeat({int(data["columns"])},1fr)">{cells}</div>'


def render_code_comparer(data: dict[str, Any]) -> str:
    runs = data["runs"]
    if len(runs) < 2:
        return '<div class="jt-note">needs two runs</div>'
    left, right = runs[0]["code"].splitlines(), runs[1]["code"].splitlines()
    table = difflib.HtmlDiff(wrapcolumn=60).make_table(left, right, escape(runs[0]["name"]), escape(runs[1]["name"]),
                                                       context=True, numlines=2)
    return f'<div class="jt-scroll jt-diff">{table}</div>'


PANEL_RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "LinePlot": render_line_plot,
    "ScatterPlot": render_scatter,
    "ParallelCoordinatesPlot": render_parallel_coordinates,
    "BarPlot": render_bar_plot,
    "ScalarChart": render_scalar,
    "RunComparer": render_run_comparer,
    "ParameterImportancePlot": render_importance,
    "MediaBrowser": render_media,
    "CodeComparer": render_code_comparer,
}


def render_document(report: model.Report, api: Api | None, base_dir: Path | None = None, nonce: str = "",
                    local_files: bool = True) -> str:
    """One self-contained HTML page: styles, chart code and data inline; nothing is fetched.

    ``nonce`` marks the page's own script and style for a Content-Security-Policy (server pages).
    """
    body = render_body(report, api, base_dir, local_files)
    marker = f' nonce="{escape(nonce)}"' if nonce else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(report.title)}</title><style{marker}>{report_css()}</style></head>"
        f'<body><main class="jt-report jt-width-{escape(report.width)}">{body}</main>'
        f"<script{marker}>{charts_script()}\njtReportCharts.renderAll(document);</script></body></html>\n"
    )
