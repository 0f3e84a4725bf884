"""``%tracker report new|show|save|export|list``: the report subcommand behind the magic (thin)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from jupyter_tracker import console
from jupyter_tracker.reports import model

#: the notebook variable ``new`` binds unless ``--name`` says otherwise
DEFAULT_VARIABLE = "report"
ACTIONS = ("new", "show", "save", "export", "list")


def _report(shell: Any, target: str | None) -> model.Report:
    """The report a subcommand acts on: a notebook variable (default ``report``) or a saved id."""
    from IPython.core.error import UsageError

    name = target or DEFAULT_VARIABLE
    value = shell.user_ns.get(name)
    if isinstance(value, model.Report):
        return value
    if target:
        from jupyter_tracker.api import Api

        return Api().report(target)  # type: ignore[no-any-return]
    raise UsageError(f"no report in the variable {name!r}: start one with %tracker report new --project P")


def run_report_command(shell: Any, options: argparse.Namespace, default_project: str | None) -> Any:
    """Carries out one ``%tracker report`` action; returns what the cell should display."""
    from IPython.core.error import UsageError
    from IPython.display import display

    action = options.action
    if action == "new":
        project = options.project or default_project
        if not project:
            raise UsageError("%tracker report new needs --project (or a current run, or WANDB_PROJECT)")
        report = model.Report(project=project, title=options.title or "Untitled Report")
        name = options.target or DEFAULT_VARIABLE
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not a Python variable name")
        shell.user_ns[name] = report
        console.info(f"new report in the variable {name!r}: add blocks to {name}.blocks, then %tracker report save {name}")
        display(report)
        return None
    if action == "list":
        from jupyter_tracker.api import Api

        project = options.project or default_project
        for saved in Api().reports(project):
            console.info(f"{saved.id}  v{saved.version}  {saved.project}  {saved.title}")
        return None
    report = _report(shell, options.target)
    if action == "show":
        display(report)
    elif action == "save":
        report.save()
        console.info(f"saved report {report.id} version {report.version}: {report.url}")
    elif action == "export":
        suffix = {"html": ".html", "ipynb": ".ipynb", "md": ".md"}[options.format]
        target = Path(options.output or f"{report.id or 'report'}{suffix}")
        if options.format == "html":
            report.to_html(target)
        elif options.format == "ipynb":
            report.to_notebook(target)
        else:
            target.write_text(report.to_markdown(), encoding="utf-8")
        console.info(f"wrote {target}")
    return None
