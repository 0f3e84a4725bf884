"""The module-level API (``init``, ``log``, ``finish``...) and the process's current run.

This is where a run is assembled: settings resolved, a run directory created or resumed, the
writer started, and the front ends (notebook, sync, system metrics) told through start hooks.
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from jupyter_tracker import console, names, run_names
from jupyter_tracker import settings as settings_module
from jupyter_tracker.settings import Settings
from jupyter_tracker.store import run_dir as layout
from jupyter_tracker.store.index import RunIndex, index_values
from jupyter_tracker.store.reader import RunLogWarning, RunState, read_run
from jupyter_tracker.store.writer import RunLogWriter
from jupyter_tracker.tracked_run import DisabledRun, Run
from jupyter_tracker.values import MediaValue

if __name__ != "jupyter_tracker.sdk":
    # jupyter_tracker aliased as another package (``sys.modules["wandb"] = jupyter_tracker``) and a
    # submodule imported through the alias: a second copy would hold a second current run
    raise ImportError(f"jupyter_tracker.sdk cannot be imported a second time as {__name__!r}; "
                      "for `import wandb` use jupyter_tracker.as_wandb()", name=__name__)


class UsageError(RuntimeError):
    """The API was called in an order it cannot serve (e.g. ``log`` before ``init``)."""


class RunExistsError(UsageError):
    """A run id is taken and ``resume`` does not allow continuing it."""


_lock = threading.RLock()
_current: Run | None = None
_crash: dict[str, Any] = {}
_hooks_installed = False
#: callables run with each new run (the notebook's live panel, the sync thread, system metrics)
start_hooks: list[Callable[[Run], None]] = []


def current_run() -> Run | None:
    return _current


def add_start_hook(hook: Callable[[Run], None]) -> None:
    """Lets a part (notebook, sync, system metrics) attach itself to every new run."""
    if hook not in start_hooks:
        start_hooks.append(hook)


def remove_start_hook(hook: Callable[[Run], None]) -> None:
    if hook in start_hooks:
        start_hooks.remove(hook)


def _capture_code_hook(run: Run) -> None:
    """Git state, diff and notebook/script source of each run (code/, imported when a run starts)."""
    from jupyter_tracker.code.capture import capture_code

    capture_code(run)


def _system_metrics_hook(run: Run) -> None:
    """The system-metrics sampler of each run (system/, imported when a run starts)."""
    from jupyter_tracker.system import start_system_metrics

    start_system_metrics(run)


def _sync_hook(run: Run) -> None:
    """The background upload of an online run with a server configured (sync/, imported only then)."""
    if run.disabled or run.settings.mode != "online" or not run.settings.base_url:
        return
    from jupyter_tracker.sync.online import start_for_run

    start_for_run(run)


add_start_hook(_capture_code_hook)
add_start_hook(_system_metrics_hook)
add_start_hook(_sync_hook)


def _sweep_hook(run: Run) -> None:
    """A run started by a sweep agent gets the trial's suggested config (sweeps/, imported only then)."""
    if not run.settings.sweep_param_path:
        return
    from jupyter_tracker.sweeps.trial_run import attach

    attach(run)


add_start_hook(_sweep_hook)


def _tensorboard_hook(run: Run) -> None:
    """``init(sync_tensorboard=True)``: TensorBoard writers also log to the run (tensorboard/, imported only then)."""
    if not run.settings.extra.get("sync_tensorboard") or run.disabled:
        return
    from jupyter_tracker.tensorboard import patch

    patch()


add_start_hook(_tensorboard_hook)


def _settings_arguments(settings: Any) -> dict[str, Any]:
    if settings is None:
        return {}
    if isinstance(settings, Mapping):
        return dict(settings)
    if isinstance(settings, Settings):
        # only what the caller set: a default here must not hide the environment or the settings file
        defaults = Settings()
        return {key: value for key, value in vars(settings).items()
                if key != "extra" and value != getattr(defaults, key)} | dict(settings.extra)
    return {key: value for key, value in vars(settings).items() if not key.startswith("_")}


def init(
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    id: str | None = None,  # noqa: A002 - wandb's name
    config: Mapping[str, Any] | Any | None = None,
    group: str | None = None,
    job_type: str | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    dir: str | Path | None = None,  # noqa: A002 - wandb's name
    mode: str | None = None,
    resume: bool | str | None = None,
    reinit: bool | None = None,
    save_code: bool | None = None,
    settings: Mapping[str, Any] | Any | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    **extra: Any,
) -> Run:
    """Starts a run (or returns the current one with ``reinit=False``).

    >>> run = jupyter_tracker.init(project="mnist", config={"lr": 0.1})  # doctest: +SKIP
    """
    with _lock:
        if _current is not None:
            if reinit is False:
                return _current
            finish()
        arguments = _settings_arguments(settings)
        arguments.update(extra)
        named = {
            "project": project, "entity": entity, "name": name, "run_id": id, "group": group,
            "job_type": job_type, "tags": tags, "notes": notes, "dir": dir, "mode": mode,
            "resume": resume, "save_code": save_code,
        }
        # an argument left out keeps what ``settings=`` says about it
        arguments.update({key: value for key, value in named.items() if value is not None})
        resolved = settings_module.resolve(arguments)
        if not resolved.disabled:
            resolved = _checked_names(resolved)
        initial_config = _filter_config(config, config_exclude_keys, config_include_keys) if config is not None else None
        run = _disabled_run(resolved, initial_config) if resolved.disabled else _start_run(resolved, initial_config)
        _make_current(run)
        run.on_finish(_forget_run)
        _install_process_hooks()
        _attach_notebook()
        for hook in list(start_hooks):
            try:
                hook(run)
            except Exception as error:
                console.warn_once(f"start-hook-{getattr(hook, '__name__', hook)}",
                                  f"a start hook failed ({type(error).__name__}: {error}); logging goes on")
        return run


def _checked_names(resolved: Settings) -> Settings:
    """Refuses, before anything starts, an entity, project or run id the server would refuse at sync."""
    if resolved.project == "":
        console.warning(run_names.EmptyProjectWarning(
            f"project is empty; the run goes to project {run_names.DEFAULT_PROJECT!r}"), stacklevel=4)
        resolved = dataclasses.replace(resolved, project=run_names.DEFAULT_PROJECT)
    if resolved.entity == "":
        resolved = dataclasses.replace(resolved, entity=None)
    run_names.check_name(resolved.project, "project")
    if resolved.entity is not None:
        run_names.check_name(resolved.entity, "entity")
    if resolved.run_id is not None:
        names.check_run_id(run_names.check_name(resolved.run_id, "run id"))
    return resolved


def _filter_config(config: Any, exclude: Sequence[str] | None, include: Sequence[str] | None) -> Any:
    if not exclude and not include:
        return config
    values = dict(config) if isinstance(config, Mapping) else dict(vars(config))
    if include:
        values = {key: value for key, value in values.items() if key in include}
    for key in exclude or ():
        values.pop(key, None)
    return values


def _disabled_run(resolved: Settings, initial_config: Any = None) -> Run:
    run_id = resolved.run_id or names.random_run_id()
    run = DisabledRun(resolved, run_id, resolved.name or names.random_run_name(), None, None)
    if initial_config is not None:
        run.config.update(initial_config)
    return run


def _encode_media(run_dir: Path) -> Callable[[Any], Any]:
    def encode(value: Any) -> Any:
        if isinstance(value, MediaValue):
            try:
                return value.encode(run_dir)
            except Exception as error:  # a media file that cannot be written must not cost the row its other values
                _report_writer_error(f"could not write a {value.media_kind} file; the row keeps an error note", error)
                return {"_type": "media-error", "media_kind": value.media_kind, "error": f"{type(error).__name__}: {error}"}
        return value

    return encode


def _report_writer_error(what: str, error: BaseException | None) -> None:
    detail = f" ({type(error).__name__}: {error})" if error is not None else ""
    console.warn_once(f"writer-{what}", f"{what}{detail}")


def _start_run(resolved: Settings, initial_config: Any = None) -> Run:
    root = resolved.root
    index = RunIndex(root)
    run_id = names.check_run_id(resolved.run_id) if resolved.run_id else names.random_run_id()
    previous_dir = layout.find_run_dir(root, run_id) if resolved.run_id else None
    state: RunState | None = None
    if previous_dir is not None:
        if resolved.resume in (None, "never"):
            raise RunExistsError(
                f"run id {run_id!r} already exists in {root}; pass resume='allow' (or 'must') to continue it"
            )
        state, _ = read_run(previous_dir)
        run_dir = previous_dir
        if state.damaged:
            _keep_damaged_log(run_id, previous_dir, state)
        if not resolved.offline and resolved.base_url and resolved.api_key:
            from jupyter_tracker.sync.online import catch_up_with_server

            catch_up_with_server(resolved, run_id, state)
    else:
        started = time.time()
        run_dir = root / layout.run_dir_name(run_id, started)
        if resolved.run_id and resolved.resume in ("allow", "must", "auto"):
            state = _resume_from_server(resolved, run_id, run_dir)
        if state is None and resolved.resume == "must":
            where = f" or on {resolved.base_url}" if resolved.base_url and not resolved.offline else ""
            raise RunExistsError(f"resume='must' but no run with id {run_id!r} exists in {root}{where}")
    layout.files_dir(run_dir).mkdir(parents=True, exist_ok=True)
    writer = RunLogWriter(
        layout.run_log_path(run_dir),
        first_seq=(state.last_seq + 1) if state else 1,
        flush_interval=resolved.flush_interval,
        encode_default=_encode_media(run_dir),
        on_error=_report_writer_error,
        truncate_at=state.valid_end if state else None,
        repair_header=state.damaged if state else False,
    )
    project = resolved.project
    runs_in_project = index.count(project) + (0 if state else 1)
    name = resolved.name or (state.metadata.get("name") if state else None) or names.random_run_name(runs_in_project)
    run = Run(resolved, run_id, name, run_dir, writer, resumed_from=state)
    if state is not None:
        from jupyter_tracker.store import records

        run._append((records.RESUME, {"time": time.time(), "step": run.step}))
        for key in ("group", "job_type", "notes", "entity"):
            if getattr(run, key) is None and state.metadata.get(key) is not None:
                setattr(run, key, state.metadata.get(key))
        if not run.tags and state.metadata.get("tags"):
            run.tags = tuple(state.metadata["tags"])
    from jupyter_tracker.store import records

    run._append((records.RUN, run.metadata()))
    try:
        if initial_config is not None:
            run.config.update(initial_config)
    except BaseException:
        # a config init cannot take leaves nothing behind: no run directory, no index row, no capture
        writer.discard()
        if previous_dir is None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    writer.start()
    _index_run(index, run)
    run.on_finish(lambda finished: _index_run(index, finished))
    found = run._limits.check_runs(runs_in_project)
    if found:
        run._emit_limit_warnings(found)
    if resolved.console == "wrap":
        _capture_output(run, run_dir)
    verb = "resumed" if state is not None else "started"
    mode_note = " (offline)" if resolved.offline else ""
    console.info(f"run {run.name} ({run.id}) {verb}{mode_note}, logging to {run_dir}")
    return run


def _resume_from_server(resolved: Settings, run_id: str, run_dir: Path) -> RunState | None:
    """The state of a run to resume that the local store lacks, from the server when one is configured.

    Without a server to ask (offline, or none configured), the user is told that the run is
    resumed locally only. A server that cannot be asked stops ``init``: starting afresh would
    reuse sequence numbers the server has already applied, and the new records would be lost.
    """
    if resolved.offline or not resolved.base_url or not resolved.api_key:
        reason = ("offline" if resolved.offline else "no tracking server is configured" if not resolved.base_url
                  else f"there is no API key for {resolved.base_url}")
        console.info(f"run {run_id!r} is not in {resolved.root} and {reason}: it is resumed locally only, "
                     "starting at step 0 (a server's copy of it is not consulted)")
        return None
    from jupyter_tracker.sync.online import remote_resume_state

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        state = remote_resume_state(resolved, run_id, run_dir)
    except Exception as error:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise RunExistsError(f"could not ask {resolved.base_url} for run {run_id!r} to resume it ({error}); "
                             "nothing was started: try again, or pass mode='offline' to resume it locally only") from error
    if state is None:
        shutil.rmtree(run_dir, ignore_errors=True)  # made only to receive the run's output.log
    else:
        console.info(f"run {run_id!r} resumed from {resolved.base_url} at step {state.next_step:,}")
    return state


def _keep_damaged_log(run_id: str, run_dir: Path, state: RunState) -> None:
    """Resuming never destroys what a damaged log holds: a copy is kept, and the user is told where."""
    try:
        kept = layout.keep_damaged_copy(run_dir)
    except OSError as error:
        raise RunExistsError(f"run {run_id!r}: its run log is damaged ({state.problems[0]}) and no copy of it "
                             f"could be kept ({error}); not resuming, so that nothing is lost") from error
    console.warning(RunLogWarning(
        f"run {run_id!r}: its run log was damaged ({state.problems[0]}); a copy of it is kept at {kept}, "
        f"and the run resumes after its {state.rows:,} intact rows"), stacklevel=5)


def _index_run(index: RunIndex, run: Run) -> None:
    try:
        index.upsert(index_values(run.metadata(), run.state, run.config.as_dict(), run.summary.as_dict(),
                                  getattr(run, "runtime", None), run.exit_code, Path(run.dir)))
    except Exception as error:  # the index is a cache; the run log stays the truth
        console.warn_once("index", f"could not update the run index ({type(error).__name__}: {error})")


def _capture_output(run: Run, run_dir: Path) -> None:
    from jupyter_tracker.output_capture import OutputCapture

    capture = OutputCapture(run_dir / layout.OUTPUT_LOG_NAME)
    try:
        capture.start()
    except OSError as error:
        console.warn_once("output-capture", f"could not capture console output ({error})")
        return
    run.on_finish(lambda _run: capture.stop())


def _forget_run(run: Run) -> None:
    """``run.finish()`` called on the run itself also clears ``jupyter_tracker.run``, as in wandb."""
    with _lock:
        if _current is run:
            _make_current(None)


def _make_current(run: Run | None) -> None:
    """Makes ``run`` the current run; ``jupyter_tracker.log`` becomes its own ``log`` meanwhile.

    As ``wandb.log`` is ``run.log`` after ``wandb.init``: a training loop calling
    ``jupyter_tracker.log`` (or ``wandb.log``, when jupyter_tracker serves ``import wandb``) then
    makes one call, not the two that the forwarding :func:`log` below costs (a tenth of a call that
    takes under a microsecond). Without a run the name holds :func:`log` again, which explains that
    ``init`` comes first. A module's ``log`` is replaced only while it is one of ours (an installed
    wandb is never touched).
    """
    global _current
    _current = run
    for name in ("jupyter_tracker", "wandb"):
        module = sys.modules.get(name)
        held = getattr(module, "log", None)
        if held is log or isinstance(getattr(held, "__self__", None), Run):
            module.log = run.log if run is not None else log  # type: ignore[union-attr]


def _require_run(what: str) -> Run:
    run = _current
    if run is None:
        raise UsageError(f"call jupyter_tracker.init() before {what}")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Logs a dict of metrics to the current run (see :meth:`Run.log`)."""
    run = _current
    if run is None:
        raise UsageError("call jupyter_tracker.init() before jupyter_tracker.log()")
    run.log(data, step, commit)  # positional: keyword passing costs a measurable share of a 1 us call


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finishes the current run, if any."""
    with _lock:
        run = _current
        _make_current(None)
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


def define_metric(name: str, step_metric: str | None = None, **options: Any) -> Any:
    """Defines the x-axis and summary of a metric of the current run (see :meth:`Run.define_metric`)."""
    return _require_run("define_metric()").define_metric(name, step_metric=step_metric, **options)


def save(glob_str: str | None = None, base_path: str | None = None, policy: str = "live") -> Any:
    """Saves files with the current run (see :meth:`Run.save`)."""
    return _require_run("save()").save(glob_str, base_path=base_path, policy=policy)


def log_artifact(artifact_or_path: Any, name: str | None = None, type: str | None = None,  # noqa: A002
                 aliases: Sequence[str] | None = None, tags: Sequence[str] | None = None) -> Any:
    """Logs an artifact with the current run (see :meth:`Run.log_artifact`)."""
    return _require_run("log_artifact()").log_artifact(artifact_or_path, name=name, type=type,
                                                         aliases=list(aliases) if aliases else None,
                                                         tags=list(tags) if tags else None)


def use_artifact(artifact_or_name: Any, type: str | None = None,  # noqa: A002
                 aliases: Sequence[str] | None = None, use_as: str | None = None) -> Any:
    """Marks an artifact as the current run's input (see :meth:`Run.use_artifact`)."""
    return _require_run("use_artifact()").use_artifact(artifact_or_name, type=type, use_as=use_as)


_notebook_checked = False


def _attach_notebook() -> None:
    """In a Jupyter kernel, lets the notebook part (live panel, inline warnings) attach itself, once."""
    global _notebook_checked
    if _notebook_checked:
        return
    _notebook_checked = True
    ipython = sys.modules.get("IPython")  # never imported here: only looked at when already loaded
    try:
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None and getattr(shell, "kernel", None) is not None:
            from jupyter_tracker.notebook.extension import ensure_notebook_hooks

            ensure_notebook_hooks()
    except Exception as error:  # the notebook view is optional; the run goes on without it
        console.warn_once("notebook-hooks", f"could not attach the notebook view ({type(error).__name__}: {error})")


# process hooks: crashes mark the run failed; exit finishes runs nobody finished ---------------
def _install_process_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        _crash["exit_code"] = 130 if issubclass(kind, KeyboardInterrupt) else 1
        _crash["state"] = "killed" if issubclass(kind, KeyboardInterrupt) else "failed"
        run = _current
        if run is not None:
            run.state = _crash["state"]
        previous_hook(kind, error, trace)

    sys.excepthook = excepthook
    if "ipykernel" not in sys.modules:
        # a kernel catches SystemExit per cell; a script's sys.exit(n) is how it reports failure
        _record_exit_status()
    atexit.register(_finish_at_exit)


def _record_exit_status() -> None:
    """Wraps ``sys.exit`` (as wandb does) so a run left open learns the script's exit status."""
    original_exit = sys.exit

    def exit_recording_status(status: str | int | None = None) -> NoReturn:
        code = status if isinstance(status, int) and not isinstance(status, bool) else (0 if status is None else 1)
        if code != 0:
            _crash["exit_code"] = code
            _crash["state"] = "failed"
            run = _current
            if run is not None and run.state == "running":
                run.state = "failed"
        original_exit(status)

    sys.exit = exit_recording_status


def _finish_at_exit() -> None:
    try:
        finish(exit_code=_crash.get("exit_code"))
    except Exception as error:  # at exit there is no loop left to protect, only data
        console.error(f"could not finish the run at exit ({type(error).__name__}: {error})")
