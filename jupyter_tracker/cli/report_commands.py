"""``jupyter-tracker report``: list saved reports and export one (thin commands over :mod:`jupyter_tracker.reports`)."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

FORMATS = {"html": ".html", "ipynb": ".ipynb", "md": ".md"}


@click.group()
def report() -> None:
    """Saved reports: list them, export one to HTML, a notebook or markdown."""


@report.command("list")
@click.argument("project", required=False)
def list_reports(project: str | None) -> None:
    """The saved reports (of PROJECT, "entity/project" on a server), newest change first."""
    from jupyter_tracker.api import Api

    for saved in Api().reports(project):
        when = datetime.datetime.fromtimestamp(saved.updated).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{saved.id}  v{saved.version:<3} {when}  {saved.project}  {saved.title}")


@report.command("export")
@click.argument("report_id")
@click.option("--format", "format_", type=click.Choice(sorted(FORMATS)), default="html", show_default=True,
              help="html: one self-contained file; ipynb: a notebook that rebuilds it; md: its text.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: the report's title, in the current folder).")
@click.option("--version", "version", type=int, default=None, help="A saved version (default: the latest).")
def export(report_id: str, format_: str, output: Path | None, version: int | None) -> None:
    """Writes the saved report REPORT_ID ("id", "project/id" or "entity/project/id").

        jupyter-tracker report export 3k9x0c2mz1qa --format html -o results.html
    """
    from jupyter_tracker.api import Api
    from jupyter_tracker.reports.storage import ReportNotFoundError

    api = Api()
    try:
        saved = api.report(report_id, version=version)
    except (ReportNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    stem = "".join(character if character.isalnum() or character in "-_" else "_" for character in saved.title)
    target = output or Path(f"{stem.strip('_') or saved.id}{FORMATS[format_]}")
    if format_ == "html":
        saved.to_html(target, api=api)
    elif format_ == "ipynb":
        saved.to_notebook(target)
    else:
        target.write_text(saved.to_markdown(), encoding="utf-8")
    click.echo(f"wrote {target}")


COMMANDS = [report]
