"""How a ``Run`` displays in a notebook: a compact card with its identity, state, values and warnings.

Everything a user typed (name, tags, notes, config keys and values, metric names) is HTML-escaped,
so a run named ``<img src=x onerror=alert(1)>`` shows as that text. The styles use translucent
colours and ``inherit`` so the card reads well on light and dark themes.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: entries of config and summary shown before "… and N more"
TOP_ENTRIES = 10
_TEXT_LIMIT = 80
#: hex digits of a commit shown, as ``git log --oneline`` does
SHORT_SHA = 7

_CSS = """
.jt-card{font:13px/1.4 var(--jp-ui-font-family,system-ui,-apple-system,sans-serif);color:inherit;
 border:1px solid rgba(127,127,127,.35);border-radius:8px;padding:10px 12px;margin:4px 0;max-width:760px;
 background:rgba(127,127,127,.05)}
.jt-card .jt-head{display:flex;align-items:baseline;gap:8px;flex-wrap:wrap}
.jt-card .jt-name{font-size:15px;font-weight:600;word-break:break-all}
.jt-card .jt-muted{opacity:.7}
.jt-card .jt-badge{border-radius:10px;padding:1px 8px;font-size:11px;font-weight:600;color:#fff}
.jt-card .jt-meta{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin-top:6px}
.jt-card .jt-meta dt{opacity:.7;white-space:nowrap}.jt-card .jt-meta dd{margin:0;word-break:break-all}
.jt-card .jt-cols{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start;margin-top:8px}
.jt-card table.jt-kv{border-collapse:collapse;font-size:12px;min-width:200px;margin:0;table-layout:auto;border:none}
.jt-card table.jt-kv tr,.jt-card table.jt-kv tr:nth-child(odd),.jt-card table.jt-kv tr:hover{background:transparent}
.jt-card table.jt-kv th{text-align:left;font-weight:600;padding:2px 0;border:none;
 border-bottom:1px solid rgba(127,127,127,.35)}
.jt-card table.jt-kv td{text-align:left;padding:1px 10px 1px 0;vertical-align:top;word-break:break-all;border:none;
 line-height:1.4}
.jt-card table.jt-kv td.jt-v{font-family:var(--jp-code-font-family,monospace);text-align:right;padding-right:0}
.jt-card .jt-dirty{color:#d97706}
.jt-card ul.jt-warn{margin:6px 0 0;padding-left:18px;color:#d97706}
.jt-card code{font-family:var(--jp-code-font-family,monospace);font-size:12px}
"""
_STATE_COLOURS = {
    "running": "#2563eb",
    "finished": "#16a34a",
    "failed": "#dc2626",
    "crashed": "#dc2626",
    "killed": "#ea580c",
}


def _escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _short(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_value(value: Any) -> str:
    """A value as short plain text (not yet escaped): numbers compact, media as their kind."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _short(value)
    if isinstance(value, Mapping) and "_type" in value:
        return f"<{value['_type']}>"
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return _short(text)


def format_duration(seconds: float | None) -> str:
    """``42.0s``, ``3m 05s``, ``2h 07m``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def run_duration(run: Any, now: float | None = None) -> float | None:
    """Seconds the run ran (or has been running)."""
    runtime = getattr(run, "runtime", None)
    if runtime is not None and run.state != "running":
        return float(runtime)
    start = getattr(run, "_t0", None) or getattr(run, "start_time", None)
    return (now if now is not None else time.time()) - start if start is not None else None


def sync_state(run: Any) -> str:
    """Where the run's data is: only local, offline (sync later), or how far the upload got."""
    if run.disabled:
        return "disabled: nothing is saved"
    custom = getattr(run, "sync_status", None)
    if callable(custom):
        custom = custom()
    if isinstance(custom, str) and custom:
        return custom
    if run.offline:
        return f"offline: sync later with jupyter-tracker sync {run.dir}"
    if not run.settings.base_url:
        return "local only (no server configured)"
    marker = Path(run.dir) / "sync.json" if run.dir else None  # what the sync thread records (sync/sync_state.py)
    if marker is not None and marker.is_file():
        try:
            state = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if isinstance(state, dict) and state.get("complete"):
            return f"synced to {run.settings.base_url}"
        if isinstance(state, dict) and state.get("applied_seq"):
            return f"syncing to {run.settings.base_url}: up to record {state['applied_seq']:,} acknowledged"
    return f"syncing to {run.settings.base_url}"


def _entries_table(title: str, values: Mapping[str, Any]) -> str:
    items = [(key, value) for key, value in values.items() if not str(key).startswith("_")]
    if not items:
        return ""
    rows = "".join(
        f'<tr><td>{_escape(_short(str(key), 40))}</td><td class="jt-v">{_escape(format_value(value))}</td></tr>'
        for key, value in items[:TOP_ENTRIES]
    )
    more = len(items) - TOP_ENTRIES
    if more > 0:
        rows += f'<tr><td class="jt-muted" colspan="2">… and {more:,} more</td></tr>'
    return f'<table class="jt-kv"><thead><tr><th colspan="2">{_escape(title)}</th></tr></thead><tbody>{rows}</tbody></table>'


def _as_dict(values: Any) -> Mapping[str, Any]:
    if values is None:
        return {}
    if hasattr(values, "as_dict"):
        return values.as_dict()
    return dict(values)


def _meta_rows(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<dt>{_escape(label)}</dt><dd>{text}</dd>" for label, text in pairs if text)


def git_summary(git: Any) -> str:
    """The card's git line as HTML: short commit, branch (or detached) and whether the tree was dirty.

    ``git`` is what ``code.capture`` keeps on the run (``run.git``, also the ``("run", {"git": ...})``
    record); every part is escaped. Empty when the run has no git state.
    """
    if not isinstance(git, Mapping):
        return ""
    commit = git.get("commit")
    parts = [f"<code>{_escape(str(commit)[:SHORT_SHA])}</code>" if commit else "no commit yet"]
    branch = git.get("branch")
    parts.append(f"on {_escape(_short(str(branch), 60))}" if branch else "detached")
    if git.get("dirty"):
        parts.append('<span class="jt-dirty">dirty (uncommitted changes)</span>')
    else:
        parts.append("clean")
    return " · ".join(parts)


def group_warnings(warnings: Iterable[Warning]) -> list[tuple[str, int]]:
    """Warnings as (latest text, count) per kind, in order of first appearance.

    A loop that logs lower steps raises one StepWarning per dropped row; the card lists them as
    one line with a count. Other warnings group by their text, so distinct config keys stay apart.
    """
    from jupyter_tracker.tracked_run import StepWarning  # here: tracked_run imports this module

    groups: dict[str, list[Any]] = {}
    for warning in warnings:
        key = "step" if isinstance(warning, StepWarning) else f"{type(warning).__name__}:{warning}"
        if key in groups:
            groups[key][0] = str(warning)
            groups[key][1] += 1
        else:
            groups[key] = [str(warning), 1]
    return [(text, count) for text, count in groups.values()]


def render_run_card(run: Any, now: float | None = None) -> str:
    """The card's HTML (a ``<style>`` block scoped to ``.jt-card`` plus the card itself)."""
    state = str(run.state)
    colour = _STATE_COLOURS.get(state, "#6b7280")
    tags = "".join(f"<code>{_escape(tag)}</code> " for tag in run.tags)
    meta = _meta_rows([
        ("id", f"<code>{_escape(run.id)}</code>"),
        ("project", _escape(run.project) + (f" · group {_escape(run.group)}" if run.group else "")),
        ("duration", _escape(format_duration(run_duration(run, now)))),
        ("tags", tags.strip()),
        ("notes", _escape(_short(run.notes or "", 200))),
        ("git", git_summary(getattr(run, "git", None))),
        ("local dir", f"<code>{_escape(run.dir)}</code>" if run.dir else ""),
        ("sync", _escape(sync_state(run))),
    ])
    config = _entries_table("config", _as_dict(run.config))
    summary = _entries_table("summary", _as_dict(run.summary))
    grouped = group_warnings(getattr(run, "warnings", []) or [])
    warning_list = ""
    if grouped:
        items = "".join(
            f"<li>{_escape(_short(text, 300))}" + (f' <span class="jt-muted">(×{count:,})</span>' if count > 1 else "") + "</li>"
            for text, count in grouped[:5]
        )
        if len(grouped) > 5:
            items += f"<li>… and {len(grouped) - 5} more</li>"
        warning_list = f'<ul class="jt-warn">{items}</ul>'
    return (
        f"<style>{_CSS}</style>"
        f'<div class="jt-card"><div class="jt-head"><span class="jt-name">{_escape(run.name)}</span>'
        f'<span class="jt-badge" style="background:{colour}">{_escape(state)}</span></div>'
        f'<dl class="jt-meta">{meta}</dl>'
        f'<div class="jt-cols">{config}{summary}</div>{warning_list}</div>'
    )


def render_run_text(run: Any, now: float | None = None) -> str:
    """The plain-text fallback of the card (terminals, text-only renderers)."""
    lines = [f"Run {run.name} ({run.id}) in {run.project}: {run.state}, {format_duration(run_duration(run, now))}"]
    summary = {key: value for key, value in _as_dict(run.summary).items() if not str(key).startswith("_")}
    if summary:
        lines.append("summary: " + ", ".join(f"{key}={format_value(value)}" for key, value in list(summary.items())[:TOP_ENTRIES]))
    if run.warnings:
        lines.append(f"{len(run.warnings)} warning(s)")
    if run.dir:
        lines.append(f"dir: {run.dir}")
    return "\n".join(lines)


def run_card_mimebundle(run: Any) -> dict[str, str]:
    """What ``Run._repr_mimebundle_`` returns: the card as HTML plus a plain-text fallback."""
    now = time.time()
    return {"text/html": render_run_card(run, now), "text/plain": render_run_text(run, now)}
