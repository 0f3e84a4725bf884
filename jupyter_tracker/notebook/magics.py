"""The ``%tracker`` line magic and the ``%%tracker`` cell magic: thin parsers over the public API.

Arguments are parsed with IPython's ``magic_arguments``; a bad argument raises IPython's
``UsageError`` (shown as a one-line error with the usage, no traceback) before anything starts.
"""

from __future__ import annotations

import argparse
import ast
import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_tracker import console, sdk
from jupyter_tracker import settings as settings_module

_MODES = ("online", "offline", "dryrun", "disabled")
_RUN_OPTIONS = (
    argument("--project", "-p", help="project the run belongs to"),
    argument("--name", "-n", help="display name of the run"),
    argument("--group", "-g", help="group of related runs"),
    argument("--tags", "-t", nargs="+", action="extend", metavar="TAG",
             help="tags (space or comma separated)"),
    argument("--config", "-c", nargs="+", action="extend", metavar="KEY=VALUE",
             help="config entries; values are Python literals where they parse (0.1, 32, True, [1, 2]), strings otherwise"),
    argument("--mode", "-m", choices=_MODES, help="online, offline, dryrun or disabled"),
    argument("--notes", help="a longer description of the run"),
    argument("--job-type", dest="job_type", help="job type (train, eval, ...)"),
    argument("--id", dest="run_id", help="run id (to resume a run, with --resume)"),
    argument("--resume", nargs="?", const="allow", choices=("allow", "must", "never"),
             help="continue the run given by --id (allow if no value)"),
    argument("--dir", help="directory under which run directories go"),
)


def _run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_RUN_OPTIONS):
        func = option(func)
    return func


@magic_arguments(name="tracker init")
@_run_options
def _init_parser() -> None:
    """Starts a run, as ``jupyter_tracker.init``; the live panel appears under this cell."""


@magic_arguments(name="%tracker")
@_run_options
def _cell_parser() -> None:
    """Runs the whole cell as one run: finished when the cell ends, failed (and re-raised) if it raises."""


@magic_arguments(name="tracker finish")
@argument("--exit-code", dest="exit_code", type=int, help="exit code to record (non-zero marks the run failed)")
@argument("--quiet", "-q", action="store_true", help="no closing message")
def _finish_parser() -> None:
    """Finishes the current run."""


@magic_arguments(name="tracker status")
def _status_parser() -> None:
    """Shows the current run as a card."""


@magic_arguments(name="tracker live")
@argument("--mode", choices=("auto", "widget", "static"), default=None, help="widget, static plotly figures, or auto")
def _live_parser() -> None:
    """Shows the live panel of the current run (also when silent)."""


@magic_arguments(name="tracker runs")
@argument("--project", "-p", help="project to list (default: the current run's, else WANDB_PROJECT)")
@argument("--page-size", dest="page_size", type=int, default=25, help="rows per page")
def _runs_parser() -> None:
    """Shows the runs of a project as an interactive table."""


@magic_arguments(name="tracker silent")
@argument("state", choices=("on", "off"), help="on silences every message (sets WANDB_SILENT)")
def _silent_parser() -> None:
    """Silences (or restores) every message of the library, like ``%env WANDB_SILENT true``."""


@magic_arguments(name="tracker as-wandb")
@argument("--silent", "-s", action="store_true", help="no message when an installed wandb is set aside")
def _as_wandb_parser() -> None:
    """Makes ``import wandb`` give jupyter_tracker in this kernel (and processes it starts), for framework integrations."""


@magic_arguments(name="tracker report")
@argument("action", choices=("new", "show", "save", "export", "list"), help="what to do")
@argument("target", nargs="?", default=None,
          help="the report's variable (default: report) or a saved report's id; with new, the variable to bind")
@argument("--project", "-p", help="project of a new report, or whose reports to list")
@argument("--title", "-t", help="title of a new report")
@argument("--format", "-f", choices=("html", "ipynb", "md"), default="html", help="export format")
@argument("--output", "-o", help="export file (default: the report id and the format's extension)")
def _report_parser() -> None:
    """Reports: new (bound to a variable), show, save, export (html/ipynb/md) and list the saved ones."""


_PARSERS: dict[str, Callable[..., Any]] = {
    "init": _init_parser,
    "finish": _finish_parser,
    "status": _status_parser,
    "live": _live_parser,
    "runs": _runs_parser,
    "silent": _silent_parser,
    "as-wandb": _as_wandb_parser,
    "report": _report_parser,
}


def _usage(parser_holder: Callable[..., Any]) -> str:
    return parser_holder.parser.format_usage().replace("::\n\n  ", "").strip()  # type: ignore[attr-defined]


def parse(parser_holder: Callable[..., Any], line: str) -> argparse.Namespace:
    """Parses ``line`` with one of the parsers above; any problem becomes a UsageError with the usage."""
    try:
        # split as a POSIX shell does, so --notes 'first try' gives the text without its quotes
        return parser_holder.parser.parse_args(shlex.split(line))  # type: ignore[attr-defined]
    except (UsageError, ValueError) as error:  # ValueError: shlex found an unclosed quotation
        raise UsageError(f"{error}\nusage: {_usage(parser_holder)}") from None


def parse_value(text: str) -> Any:
    """A config value: a Python literal where it parses (``0.1``, ``True``, ``[1, 2]``), else the string.

    >>> parse_value("0.1"), parse_value("adam"), parse_value("[1, 2]")
    (0.1, 'adam', [1, 2])
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_config(items: list[str] | None) -> dict[str, Any] | None:
    """``["lr=0.1", "opt=adam"]`` -> ``{"lr": 0.1, "opt": "adam"}``; an item without ``=`` is a usage error."""
    if not items:
        return None
    config: dict[str, Any] = {}
    for item in items:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise UsageError(f"--config expects KEY=VALUE items, got {item!r}\nusage: {_usage(_init_parser)}")
        config[key] = parse_value(value)
    return config


def init_arguments(options: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``jupyter_tracker.init`` for parsed run options."""
    tags = None
    if options.tags:
        tags = [part.strip() for tag in options.tags for part in tag.split(",") if part.strip()]
    arguments = {
        "project": options.project,
        "name": options.name,
        "group": options.group,
        "tags": tags,
        "config": parse_config(options.config),
        "mode": options.mode,
        "notes": options.notes,
        "job_type": options.job_type,
        "id": options.run_id,
        "resume": options.resume,
        "dir": options.dir,
    }
    return {key: value for key, value in arguments.items() if value is not None}


def start_run(arguments: dict[str, Any]) -> Any:
    """Calls ``init``; settings it cannot use become a usage error rather than a traceback."""
    try:
        return sdk.init(**arguments)
    except (settings_module.SettingsError, sdk.UsageError) as error:
        raise UsageError(str(error)) from None


@magics_class
class TrackerMagics(Magics):
    """``%tracker`` and ``%%tracker``."""

    @line_cell_magic
    def tracker(self, line: str = "", cell: str | None = None) -> Any:
        """Tracks runs from a notebook.

        Line magic, one subcommand::

          %tracker init [--project P] [--name N] [--group G] [--tags T ...] [--config k=v ...]
                        [--mode online|offline|dryrun|disabled] [--notes TEXT] [--job-type J]
                        [--id ID] [--resume [allow|must|never]] [--dir DIR]
          %tracker finish [--exit-code N] [--quiet]
          %tracker status                 the current run as a card
          %tracker live [--mode widget|static]   the live panel, also when silent
          %tracker runs [--project P]     an interactive runs table
          %tracker silent on|off          sets WANDB_SILENT
          %tracker as-wandb [--silent]    `import wandb` gives jupyter_tracker (framework integrations)
          %tracker report new|show|save|export|list [VARIABLE|ID] [--project P] [--title T]
                        [--format html|ipynb|md] [--output PATH]   build, save and export reports

        Cell magic, the whole cell as one run (same options as ``init``)::

          %%tracker --project mnist --name sweep-lr-0.01 --config lr=0.01
          train()

        The run is finished when the cell ends, and marked failed (the error re-raised) if it raises.
        Config values are Python literals where they parse (``lr=0.1``, ``layers=[64, 64]``), strings
        otherwise (``optimizer=adam``).
        """
        if cell is not None:
            return self._run_cell(line, cell)
        command, _, rest = line.strip().partition(" ")
        if not command:
            raise UsageError("%tracker needs a subcommand: " + ", ".join(_PARSERS) + " (see %tracker?)")
        if command not in _PARSERS:
            raise UsageError(
                f"unknown %tracker subcommand {command!r}; expected one of: {', '.join(_PARSERS)} (see %tracker?)"
            )
        options = parse(_PARSERS[command], rest)
        return getattr(self, f"_command_{command.replace('-', '_')}")(options)

    # subcommands ---------------------------------------------------------------------------------
    def _command_init(self, options: argparse.Namespace) -> None:
        start_run(init_arguments(options))

    def _command_finish(self, options: argparse.Namespace) -> None:
        if sdk.current_run() is None:
            console.info("no run to finish")
            return
        sdk.finish(exit_code=options.exit_code, quiet=options.quiet or None)

    def _command_status(self, options: argparse.Namespace) -> None:
        run = sdk.current_run()
        if run is None:
            console.info("no run is active; start one with %tracker init")
            return
        from IPython.display import display

        display(run)

    def _command_live(self, options: argparse.Namespace) -> None:
        run = sdk.current_run()
        if run is None:
            raise UsageError("no run is active; start one with %tracker init")
        from jupyter_tracker.notebook.live_panel import show_live_panel

        # asked for by name, so shown even when the run's setting (or silence) keeps it off at start
        mode = options.mode or (run.settings.live if run.settings.live != "off" else "auto")
        show_live_panel(run, mode=mode)

    def _command_runs(self, options: argparse.Namespace) -> None:
        from IPython.display import display

        from jupyter_tracker.notebook.runs_table import runs_table

        project = options.project
        if project is None:
            run = sdk.current_run()
            project = run.project if run is not None else settings_module.resolve({}).project
        if options.page_size < 1:
            raise UsageError("--page-size must be at least 1")
        display(runs_table(project, page_size=options.page_size))

    def _command_silent(self, options: argparse.Namespace) -> None:
        settings_module.set_silent(options.state == "on")

    def _command_report(self, options: argparse.Namespace) -> None:
        from jupyter_tracker.reports.magic_command import run_report_command

        run = sdk.current_run()
        project = run.project if run is not None else settings_module.resolve({}).project
        run_report_command(self._shell(), options, project)

    def _command_as_wandb(self, options: argparse.Namespace) -> None:
        from jupyter_tracker.compat import as_wandb

        as_wandb(silent=options.silent)

    # the cell magic --------------------------------------------------------------------------------
    def _run_cell(self, line: str, cell: str) -> Any:
        arguments = init_arguments(parse(_cell_parser, line))
        code, last_expression = self._compile(cell)
        run = start_run(arguments)
        try:
            namespace = self._shell().user_ns
            exec(code, namespace)
            value = eval(last_expression, namespace) if last_expression is not None else None
        except BaseException as error:
            interrupted = isinstance(error, KeyboardInterrupt)
            run.state = "killed" if interrupted else "failed"
            self._finish(run, 130 if interrupted else 1)
            raise
        self._finish(run, 0)
        return value

    def _compile(self, cell: str) -> tuple[Any, Any]:
        """Compiles the cell as IPython would (magics, ``!`` lines), keeping its last expression's value."""
        shell = self._shell()
        tree = shell.transform_ast(shell.compile.ast_parse(shell.transform_cell(cell)))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not cell.rstrip().endswith(";"):
            last = shell.compile(ast.Expression(tree.body.pop().value), "<%%tracker cell>", "eval")
        return shell.compile(tree, "<%%tracker cell>", "exec"), last

    def _shell(self) -> Any:
        if self.shell is None:  # a Magics registered with a shell always has one
            raise UsageError("%%tracker needs an IPython shell")
        return self.shell

    @staticmethod
    def _finish(run: Any, exit_code: int) -> None:
        if sdk.current_run() is run:
            sdk.finish(exit_code=exit_code)
        else:  # the cell started another run itself; ours was finished by that init
            run.finish(exit_code=exit_code)
