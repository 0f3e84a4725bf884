"""Saved reports: a stable id and a version history, in the local store or on the tracking server.

On disk (the local store's ``reports/`` folder, and the server's data directory, which uses the
same class) a report is ``<project>/<id>/v<version>.json``, one file per version, never rewritten.
Saving content equal to the latest version adds no version. With a server configured, ``save``
posts the document to the server's report routes instead, and the report's ``url`` is its page.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyter_tracker.reports import model

LOCAL_SCHEME = "jupyter-tracker"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID = re.compile(r"^[a-z0-9]{8,32}$")
_NAME = re.compile(r"^[A-Za-z0-9_.\- ]{1,128}$")
_VERSION_FILE = re.compile(r"^v(\d{6})\.json$")


class ReportNotFoundError(LookupError):
    """No saved report with that id (or version)."""


@dataclass(frozen=True)
class SavedReport:
    """One saved report as a listing shows it."""

    id: str
    project: str
    title: str
    version: int
    updated: float


def new_report_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def check_name(value: str, what: str) -> str:
    if not _NAME.match(value) or value.strip(".") == "" or value != value.strip():
        raise ValueError(f"{what} {value!r} is not a valid name (letters, digits, _ . - and spaces)")
    return value


def check_report_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"report id {value!r} is not valid (8-32 lowercase letters and digits)")
    return value


def _content(document: dict[str, Any]) -> dict[str, Any]:
    report = dict(document["report"])
    report.pop("id", None)
    report.pop("version", None)
    return report


class ReportFolder:
    """Reports under one folder, by project: ``<project>/<id>/v000001.json``...

    >>> folder = ReportFolder(Path(tempfile.mkdtemp()))
    >>> report = model.Report("mnist", title="t")
    >>> folder.save(report).version
    1
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _folder(self, project: str, report_id: str) -> Path:
        return self.root / check_name(project, "project") / check_report_id(report_id)

    def versions(self, project: str, report_id: str) -> list[int]:
        folder = self._folder(project, report_id)
        if not folder.is_dir():
            return []
        return sorted(int(match.group(1)) for name in os.listdir(folder) if (match := _VERSION_FILE.match(name)))

    def save(self, report: model.Report) -> model.Report:
        """Stores ``report`` as a new version (a new id when it has none); sets its ``id`` and ``version``."""
        project = check_name(report.project or "uncategorized", "project")
        report_id = report.id or new_report_id()
        document = report.to_dict()
        versions = self.versions(project, report_id)
        if versions:
            latest = self.read_document(project, report_id, versions[-1])
            if _content(latest) == _content(document):
                report.id, report.version = report_id, versions[-1]
                return report
        version = (versions[-1] if versions else 0) + 1
        report.id, report.version = report_id, version
        folder = self._folder(project, report_id)
        folder.mkdir(parents=True, exist_ok=True)
        text = report.to_json(indent=1)
        # write then rename: a reader never sees half a version, and an existing version is never replaced
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        target = folder / f"v{version:06d}.json"
        try:
            os.link(temporary, target)
        except FileExistsError:
            os.unlink(temporary)
            return self.save(report)  # another writer took this version number: take the next
        os.unlink(temporary)
        return report

    def read_document(self, project: str, report_id: str, version: int | None = None) -> dict[str, Any]:
        versions = self.versions(project, report_id)
        if not versions:
            raise ReportNotFoundError(f"no saved report {report_id!r} in project {project!r}")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise ReportNotFoundError(f"report {report_id!r} has no version {chosen} (versions 1..{versions[-1]})")
        path = self._folder(project, report_id) / f"v{chosen:06d}.json"
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def load(self, project: str | None, report_id: str, version: int | None = None) -> model.Report:
        """A saved report (its latest version unless ``version``); any project when ``project`` is None."""
        check_report_id(report_id)
        if project is None:
            found = [path.parent.name for path in self.root.glob(f"*/{report_id}")] if self.root.is_dir() else []
            if not found:
                raise ReportNotFoundError(f"no saved report {report_id!r} under {self.root}")
            project = found[0]
        return model.Report.from_dict(self.read_document(project, report_id, version))

    def list(self, project: str | None = None) -> list[SavedReport]:
        """The saved reports (of ``project``, or all), newest change first."""
        if not self.root.is_dir():
            return []
        projects = [check_name(project, "project")] if project else sorted(p.name for p in self.root.iterdir() if p.is_dir())
        found = []
        for name in projects:
            folder = self.root / name
            if not folder.is_dir():
                continue
            for report_folder in folder.iterdir():
                if not _ID.match(report_folder.name):
                    continue
                versions = self.versions(name, report_folder.name)
                if not versions:
                    continue
                path = report_folder / f"v{versions[-1]:06d}.json"
                document = json.loads(path.read_text(encoding="utf-8"))
                found.append(SavedReport(report_folder.name, name, str(document["report"].get("title", "")),
                                         versions[-1], path.stat().st_mtime))
        return sorted(found, key=lambda saved: -saved.updated)


# the client's side: local store or server --------------------------------------------------------------
def _api(api: Any) -> Any:
    if api is not None:
        return api
    from jupyter_tracker.api import Api

    return Api()


def local_folder(api: Any) -> ReportFolder:
    return ReportFolder(Path(api.backend.root) / "reports")


def _is_remote(api: Any) -> bool:
    return getattr(api.backend, "kind", "") == "remote"


def _entity(api: Any, report: model.Report | None = None) -> str:
    entity = (report.entity if report is not None else "") or api.default_entity
    if not entity:
        entity = api.backend.client.viewer().get("default_entity") or ""
    return str(entity)


def save_report(report: model.Report, api: Any = None) -> model.Report:
    """Saves to the server when ``api`` reads from one, else to the local store."""
    api = _api(api)
    if not report.project:
        raise ValueError("a report needs a project to be saved: Report(project='...')")
    if _is_remote(api):
        entity = _entity(api, report)
        report.entity = entity
        answer = api.backend.client.request(
            "POST", f"/reports/{entity}/{report.project}", json=report.to_dict()
        ).json()
        report.id, report.version = answer["id"], answer["version"]
        report.__dict__["_url"] = f"{api.backend.base_url.rstrip('/')}/reports/{entity}/{report.project}/{report.id}"
        return report
    local_folder(api).save(report)
    report.__dict__["_url"] = f"{LOCAL_SCHEME}://reports/{report.project}/{report.id}"
    return report


def report_url(report: model.Report) -> str:
    """The address :meth:`Report.from_url` reads back ("" before the first save)."""
    saved = report.__dict__.get("_url")
    if saved:
        return str(saved)
    if report.id:
        return f"{LOCAL_SCHEME}://reports/{report.project or 'uncategorized'}/{report.id}"
    return ""


def load_report(path: str, api: Any = None, version: int | None = None) -> model.Report:
    """``"id"``, ``"project/id"`` or ``"entity/project/id"``, from the server or the local store."""
    api = _api(api)
    parts = [part for part in path.strip("/").split("/") if part]
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"report path {path!r}: use 'id', 'project/id' or 'entity/project/id'")
    report_id = parts[-1]
    project = parts[-2] if len(parts) >= 2 else None
    if _is_remote(api):
        from jupyter_tracker.sync.transport import RefusedError

        if project is None:
            raise ValueError(f"report path {path!r}: the server needs 'project/id' or 'entity/project/id'")
        entity = parts[0] if len(parts) == 3 else _entity(api)
        query = f"?version={version}" if version is not None else ""
        try:
            document = api.backend.client.request("GET", f"/reports/{entity}/{project}/{report_id}{query}").json()
        except RefusedError as error:
            raise ReportNotFoundError(str(error)) from None
        report = model.Report.from_dict(document)
        report.__dict__["_url"] = f"{api.backend.base_url.rstrip('/')}/reports/{entity}/{project}/{report_id}"
        return report
    report = local_folder(api).load(project, report_id, version)
    report.__dict__["_url"] = f"{LOCAL_SCHEME}://reports/{report.project}/{report.id}"
    return report


def list_reports(project: str | None, api: Any = None) -> list[SavedReport]:
    """The saved reports of ``project`` ("entity/project" on a server)."""
    api = _api(api)
    if _is_remote(api):
        if not project:
            raise ValueError("the server lists the reports of one project: reports('project')")
        parts = project.split("/")
        entity, name = (parts[0], parts[1]) if len(parts) == 2 else (_entity(api), parts[0])
        rows = api.backend.client.request("GET", f"/reports/{entity}/{name}").json()["reports"]
        return [SavedReport(row["id"], row["project"], row["title"], row["version"], row["updated"]) for row in rows]
    return local_folder(api).list(project)


def load_report_url(url: str, api: Any = None) -> model.Report:
    """The report at an address :func:`report_url` gave (a server page, ``jupyter-tracker://``) or a bare id."""
    parsed = urlparse(url)
    if parsed.scheme == LOCAL_SCHEME:
        return load_report(parsed.path.strip("/") if parsed.netloc == "reports" else url, _local_api(api))
    if parsed.scheme in ("http", "https"):
        match = re.search(r"/reports/([^/]+)/([^/]+)/([^/?#]+)$", parsed.path)
        if not match:
            raise ValueError(f"{url!r} is not a report page address (…/reports/<entity>/<project>/<id>)")
        if api is None:
            from jupyter_tracker.api import Api

            api = Api({"base_url": f"{parsed.scheme}://{parsed.netloc}"})
        return load_report("/".join(match.groups()), api)
    return load_report(url, api)


def _local_api(api: Any) -> Any:
    if api is not None:
        return api
    from jupyter_tracker.api import Api

    return Api({"mode": "offline"})
