"""A report written out: one self-contained HTML file, a notebook that rebuilds it, or markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_tracker.reports import model


def _api(api: Any) -> Any:
    if api is not None:
        return api
    from jupyter_tracker.api import Api

    return Api()


def to_html(report: model.Report, path: str | Path | None = None, api: Any = None) -> str:
    """The report as one HTML document (uPlot, data and images inline); written to ``path`` when given."""
    from jupyter_tracker.reports.html import render_document

    target = Path(path) if path is not None else None
    document = render_document(report, _api(api), base_dir=Path.cwd())
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document, encoding="utf-8")
    return document


def to_notebook(report: model.Report, path: str | Path) -> Path:
    """A notebook whose code cell rebuilds the report from its JSON and displays it."""
    import nbformat

    document = report.to_json(indent=1)
    cells = [
        nbformat.v4.new_markdown_cell(f"# {report.title}\n\nRebuilt from its saved JSON; edit the blocks and run again."),
        nbformat.v4.new_code_cell(
            "import jupyter_tracker.reports as wr\n\n"
            f"report = wr.Report.from_json({json.dumps(document)})\nreport"
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))
    return target


def to_markdown(report: model.Report) -> str:
    """The report's text as markdown; a panel grid is listed by its run sets and panels."""
    lines = [f"# {report.title}", ""]
    if report.description:
        lines += [report.description, ""]
    for block in report.blocks:
        if isinstance(block, model.H1):
            lines.append(f"# {block.text}")
        elif isinstance(block, model.H2):
            lines.append(f"## {block.text}")
        elif isinstance(block, model.H3):
            lines.append(f"### {block.text}")
        elif isinstance(block, (model.P, model.MarkdownBlock)):
            lines.append(block.text)
        elif isinstance(block, model.CodeBlock):
            lines += [f"```{block.language}", block.code, "```"]
        elif isinstance(block, model.BlockQuote):
            lines += [f"> {line}" for line in block.text.splitlines() or [""]]
        elif isinstance(block, model.UnorderedList):
            lines += [f"- {item}" for item in block.items]
        elif isinstance(block, model.OrderedList):
            lines += [f"{index}. {item}" for index, item in enumerate(block.items, 1)]
        elif isinstance(block, model.HorizontalRule):
            lines.append("---")
        elif isinstance(block, model.Image):
            lines.append(f"![{block.caption}]({block.url})")
        elif isinstance(block, model.TableOfContents):
            lines += [f"- {heading.text}" for heading in report.blocks
                      if isinstance(heading, (model.H1, model.H2, model.H3))]
        elif isinstance(block, model.PanelGrid):
            for runset in block.runsets:
                lines.append(f"*{runset.name}*" + (f": `{runset.filters}`" if runset.filters else ""))
            lines += [f"- {panel.kind}: {getattr(panel, 'title', '') or ''}".rstrip(": ") for panel in block.panels]
        lines.append("")
    return "\n".join(lines)
