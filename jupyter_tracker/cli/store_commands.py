"""``jupyter-tracker ls | export | offline | online``: the local run store from the command line."""

from __future__ import annotations

import datetime as _datetime
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

_DIR_HELP = "Store to read: a directory holding jupyter_tracker/ (or that folder itself). Default: $WANDB_DIR or ./jupyter_tracker."


def _local_api(directory: Path | None) -> Any:
    """An ``Api`` over the local store, whatever server is configured: these commands read the disk."""
    from jupyter_tracker.api import Api
    from jupyter_tracker.api.local import LocalBackend
    from jupyter_tracker.settings import resolve

    overrides = {"dir": str(directory)} if directory is not None else None
    root = resolve(overrides).root
    return Api(overrides=overrides, backend=LocalBackend(root))


def _format_runtime(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "-"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _format_created(created: Any) -> str:
    if not isinstance(created, (int, float)):
        return "-"
    return _datetime.datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M")


def _format_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = str(value)
        return text if len(text) <= 16 else text[:15] + "…"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _summary_text(summary: Mapping[str, Any], width: int = 48) -> str:
    """The first few scalar summary entries, ``loss=0.0123 acc=0.98``, within ``width`` characters."""
    parts: list[str] = []
    used = 0
    for key, value in summary.items():
        if key.startswith("_") or not isinstance(value, (int, float, str)) or isinstance(value, bool):
            continue
        part = f"{key}={_format_value(value)}"
        if used + len(part) > width and parts:
            parts.append("…")
            break
        parts.append(part)
        used += len(part) + 1
    return " ".join(parts) or "-"


def _shorten(text: Any, width: int) -> str:
    text = "-" if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _json_safe(value: Any) -> Any:
    """Strict JSON: non-finite floats as the strings NaN/Infinity/-Infinity, arrays as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if hasattr(value, "tolist"):
        return _json_safe(value.tolist())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(header), *(len(row[index]) for row in rows)) for index, header in enumerate(headers)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


@click.command("ls")
@click.option("--project", "-p", default=None, help="Only runs of this project (default: every project).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None, help=_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list (config and summary included).")
@click.option("--filter", "filter_text", default=None, metavar="JSON",
              help='wandb-style filter, e.g. \'{"state": "finished", "config.lr": {"$lt": 0.01}}\'.')
@click.option("--order", default="-created_at", show_default=True,
              help="Sort field with + (ascending) or - (descending): created_at, summary.<key>, config.<key>.")
@click.option("--limit", "-n", type=click.IntRange(min=0), default=0, help="Show at most N runs (0: all).")
def ls(project: str | None, directory: Path | None, as_json: bool, filter_text: str | None, order: str, limit: int) -> None:
    """List the runs in the local store, newest first.

    One line per run: id, name, project, state, when it started, how long it ran, and its first
    summary values. Runs whose process died without finishing show as "crashed". Use an id or
    project/id with `jupyter-tracker export`, or `jupyter_tracker.Api().run(...)` in Python.

    \b
    Examples:
      jupyter-tracker ls --project mnist
      jupyter-tracker ls --filter '{"group": "exp-42"}' --order -summary.acc --limit 10
      jupyter-tracker ls --json > runs.json
    """
    from jupyter_tracker.api import ApiError

    filters = None
    if filter_text:
        try:
            filters = json.loads(filter_text)
        except json.JSONDecodeError as error:
            raise click.BadParameter(f"not JSON: {error}", param_hint="--filter") from None
    api = _local_api(directory)
    try:
        runs = api.runs(project, filters=filters, order=order, per_page=1000)
        total = len(runs)
        shown = runs[:limit] if limit else list(runs)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    except ApiError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps([_json_safe(_run_json(run)) for run in shown], indent=2, allow_nan=False))
        return
    root = api.backend.root
    if not shown:
        where = f"in project {project!r} " if project else ""
        hint = "" if filters else " Start one with `jupyter-tracker demo` or jupyter_tracker.init()."
        click.echo(f"No runs {where}in {root}.{hint}")
        return
    rows = [
        [
            run.id,
            _shorten(run.name, 28),
            _shorten(run.project, 20),
            run.state,
            _format_created(run.created),
            _format_runtime(run.runtime),
            _summary_text(run.summary.to_dict()),
        ]
        for run in shown
    ]
    click.echo(_table(rows, ["ID", "NAME", "PROJECT", "STATE", "CREATED", "RUNTIME", "SUMMARY"]))
    more = f" (showing {len(shown):,})" if len(shown) < total else ""
    click.echo(f"{total:,} run{'s' if total != 1 else ''} in {root}{more}")


def _run_json(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "entity": run.entity,
        "state": run.state,
        "group": run.group,
        "job_type": run.job_type,
        "tags": run.tags,
        "notes": run.notes,
        "created_at": run.created_at,
        "runtime": run.runtime,
        "exit_code": run.exit_code,
        "dir": run.dir,
        "config": dict(run.config),
        "summary": dict(run.summary),
    }


@click.command()
@click.argument("run")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None,
              help="Output format (default: from --output's suffix, else csv).")
@click.option("--output", "-o", default=None, metavar="PATH",
              help="File to write (default: <run id>.csv or .parquet here); '-' writes CSV to stdout.")
@click.option("--keys", "-k", multiple=True, metavar="KEY[,KEY...]",
              help="Only these metrics (repeat or comma-separate); keeps the rows that hold any of them.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None, help=_DIR_HELP)
def export(run: str, fmt: str | None, output: str | None, keys: tuple[str, ...], directory: Path | None) -> None:
    """Write the full history of RUN (every step, not sampled) to CSV or Parquet.

    RUN is a run id, project/id, entity/project/id, or a run directory. Columns: _step, the
    logged metrics, _runtime and _timestamp; lists, arrays and media references are written as
    JSON text.

    \b
    Examples:
      jupyter-tracker export 1a2b3c4d
      jupyter-tracker export mnist/1a2b3c4d --format parquet --output runs/best.parquet
      jupyter-tracker export ./jupyter_tracker/run-20260101_120000-1a2b3c4d -k loss,val/acc -o -
    """
    from jupyter_tracker.api import ApiError
    from jupyter_tracker.api.export import ExportError, export_history

    selected = [key.strip() for option in keys for key in option.split(",") if key.strip()] or None
    api = _local_api(directory)
    target = Path(run)
    try:
        if target.is_dir():
            if not (target / "run.jtlog").is_file():
                raise click.BadParameter(f"{run} is a directory but not a run directory (no run.jtlog)", param_hint="RUN")
            found = api.run(str(target.resolve()))
        else:
            found = api.run(run)
        written, frame = export_history(found, output, fmt, selected)
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    except LookupError as error:
        raise click.ClickException(f"{error}. `jupyter-tracker ls` lists the runs.") from None
    except (ApiError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    rows, columns = frame.shape
    click.echo(
        f"Wrote {rows:,} rows x {columns} columns of run {found.name} ({found.id}) to {written}",
        err=written == "-",
    )


def _mode_file_note(mode: str) -> str:
    from jupyter_tracker.settings import environment_value

    current = environment_value("WANDB_MODE")
    if current and current.strip().lower() != mode:
        return f"\n  note: WANDB_MODE={current} is set in this environment and takes precedence over this file"
    return ""


@click.command()
def offline() -> None:
    """Keep runs started from this directory on local disk only (like `wandb off`).

    Writes mode=offline to ./jupyter_tracker/settings. Runs are still recorded in full; nothing
    is sent to a tracking server. Undo with `jupyter-tracker online`. An explicit
    init(mode=...) or the WANDB_MODE variable still wins over this file.
    """
    from jupyter_tracker.settings import write_settings_file

    path = write_settings_file({"mode": "offline"})
    click.echo(
        f"Offline: runs started from {Path.cwd()} stay on local disk; nothing is sent to a server.\n"
        f"  wrote mode=offline to {path}\n"
        "  undo with `jupyter-tracker online`" + _mode_file_note("offline")
    )


@click.command()
def online() -> None:
    """Sync runs started from this directory to the tracking server again (like `wandb on`).

    Writes mode=online to ./jupyter_tracker/settings. Runs are always written to local disk
    first; in online mode they are also sent to the server set by WANDB_BASE_URL (or `login`).
    An explicit init(mode=...) or the WANDB_MODE variable still wins over this file.
    """
    from jupyter_tracker.settings import resolve, write_settings_file

    path = write_settings_file({"mode": "online"})
    message = (
        f"Online: runs started from {Path.cwd()} are synced to the tracking server.\n"
        f"  wrote mode=online to {path}\n"
        "  undo with `jupyter-tracker offline`"
    )
    try:
        server = resolve().base_url
    except ValueError:
        server = None
    if not server:
        message += "\n  no tracking server is configured yet (WANDB_BASE_URL): until one is, runs stay local"
    click.echo(message + _mode_file_note("online"))


COMMANDS = [ls, export, offline, online]
