"""The tracking server's web pages: sign-in, projects, a project's runs table and a run page.

``/`` lists the projects the signed-in user may read, ``/<entity>/<project>`` is the runs table
and ``/<entity>/<project>/runs/<id>`` the run page (the URL ``run.url`` gives). Pages are small
HTML shells whose only script is the bundled views of ``labextension/`` (``web_static/pages.js``,
built by ``npm run build:web``), which read JSON from ``/_pages/api/...``.

Signing in posts an API key once; the browser then holds only a random session id in a cookie
(HttpOnly, SameSite=Strict, Secure over TLS), never the key; the session lives in the database
(:mod:`jupyter_tracker.server.web_sessions`), so signing out, expiry, idling and revoking or rotating
the key end it even in a copied cookie. Sign-in is checked against a double-submit CSRF token, the
signed-in pages' forms against a token bound to the session, and both, when the browser sends one,
against the Origin. Pages carry a
strict Content-Security-Policy (scripts and styles from this server only, no inline script,
``frame-ancestors 'none'``).
"""

from __future__ import annotations

import hmac
import html
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from jupyter_tracker.server import schema as t
from jupyter_tracker.server.config import ServerConfig
from jupyter_tracker.server.file_store import FileStore
from jupyter_tracker.server.runs_table_json import RunsTableBodies, accepts_gzip
from jupyter_tracker.server.storage import NotFound, Principal, Storage
from jupyter_tracker.server.web_sessions import SESSION_COOKIE, SESSION_SECONDS, WebSessions, csrf_matches, csrf_token
from jupyter_tracker.server.web_sessions import SIGN_IN_CSRF_COOKIE as CSRF_COOKIE

STATIC_DIR = Path(__file__).with_name("web_static")
STATIC_FILES = {"pages.js": "text/javascript", "pages.css": "text/css"}
#: what JavaScript's encodeURIComponent leaves as it is besides letters and digits
URI_COMPONENT_SAFE = "-_.!~*'()"
#: first path segments that are never an entity's pages
RESERVED = {"api", "_pages", "reports", "sign-in", "favicon.ico"}
# media-src: a run's logged audio and video play from this server's authenticated file route
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def session_principal(request: Request, storage: Storage, config: ServerConfig) -> Principal | None:
    """Who the request's session signs in as, or None (no cookie, signed out, expired, idle, or the key ended)."""
    return WebSessions(storage).principal(request.cookies.get(SESSION_COOKIE))


def _page(title: str, body_data: dict[str, str], csrf: str, principal: Principal | None,
          preload: str | None = None) -> HTMLResponse:
    data = " ".join(f'data-{name}="{html.escape(value)}"' for name, value in body_data.items())
    user = ""
    if principal is not None:
        user = (f'<form class="jt-sign-out" method="post" action="/_pages/sign-out">'
                f'<span class="jt-user">{html.escape(principal.username)}</span>'
                f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
                f'<button type="submit">Sign out</button></form>')
    document = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<link rel="stylesheet" href="/_pages/static/pages.css">{_preload_link(preload)}</head>'
                f'<body {data}><header class="jt-web-header"><a href="/">jupyter_tracker</a>{user}</header>'
                f'<main id="jt-main"></main><script type="module" src="/_pages/static/pages.js"></script></body></html>')
    return HTMLResponse(document, headers=SECURITY_HEADERS)


def _preload_link(path: str | None) -> str:
    """A ``<link rel=preload>`` that has the browser fetch ``path`` while the page's script loads.

    The script's own ``fetch`` of the same URL (same-origin credentials, CORS mode: what
    ``crossorigin="anonymous"`` asks for) then takes this response instead of asking again.
    """
    if path is None:
        return ""
    return f'<link rel="preload" href="{html.escape(path)}" as="fetch" crossorigin="anonymous">'


def _runs_json_path(entity: str, project: str) -> str:
    """The runs JSON URL exactly as the page's script spells it (``encodeURIComponent`` of each part)."""
    return f"/_pages/api/runs/{quote(entity, safe=URI_COMPONENT_SAFE)}/{quote(project, safe=URI_COMPONENT_SAFE)}"


def _with_csrf(request: Request, response: Response) -> str:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/")
    return token


def _safe_next(target: str) -> str:
    """Only a path on this server (no scheme, no host, no ``//``) is followed after signing in."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


async def _checked_form(request: Request, bound_to_session: bool = False) -> dict[str, str] | None:
    """The posted form when any Origin is this server and its CSRF token is right; else None.

    Right means: the session's own token with ``bound_to_session`` (forms of signed-in pages), the
    sign-in form's double-submit cookie otherwise.
    """
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return None
    body = await request.body()
    if len(body) > 16_384:
        return None
    form = {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}
    if bound_to_session:
        return form if csrf_matches(request.cookies.get(SESSION_COOKIE), form.get("csrf")) else None
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        return None
    return form


def _sign_in_page(request: Request, message: str = "", status: int = 200, target: str = "/") -> HTMLResponse:
    response = HTMLResponse("", status_code=status, headers=SECURITY_HEADERS)
    token = _with_csrf(request, response)
    note = f'<p class="jt-sign-in-error" role="alert">{html.escape(message)}</p>' if message else ""
    response.body = response.render(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in · jupyter_tracker</title>'
        '<link rel="stylesheet" href="/_pages/static/pages.css"></head><body class="jt-sign-in-page">'
        '<main class="jt-sign-in"><h1>jupyter_tracker</h1>'
        f'{note}<form method="post" action="/_pages/sign-in">'
        '<label>API key <input type="password" name="api_key" autocomplete="current-password" required autofocus></label>'
        f'<input type="hidden" name="csrf" value="{html.escape(token)}">'
        f'<input type="hidden" name="next" value="{html.escape(_safe_next(target))}">'
        '<button type="submit">Sign in</button></form>'
        '<p>Create a key with <code>jupyter-tracker keys create --user NAME</code>; it is checked once and '
        'never kept by the browser, which holds only a session cookie.</p></main></body></html>')
    response.headers["Content-Length"] = str(len(response.body))
    return response


def _projects(storage: Storage, entities: list[str]) -> list[dict[str, Any]]:
    query = (
        sa.select(t.entities.c.name, t.projects.c.name, sa.func.count(t.runs.c.pk),
                  sa.func.sum(sa.case((t.runs.c.state == "running", 1), else_=0)))
        .join(t.projects, t.projects.c.entity_id == t.entities.c.id)
        .outerjoin(t.runs, t.runs.c.project_id == t.projects.c.id)
        .where(t.entities.c.name.in_(entities))
        .group_by(t.entities.c.name, t.projects.c.name)
        .order_by(t.entities.c.name, t.projects.c.name)
    )
    with storage.engine.connect() as connection:
        return [{"entity": entity, "name": name, "runs": int(runs or 0), "running": int(running or 0)}
                for entity, name, runs, running in connection.execute(query)]


def web_router(config: ServerConfig, storage: Storage, authenticate: Callable[..., Principal]) -> APIRouter:
    """The pages and their JSON; include it after every API router (its paths are catch-alls)."""
    from jupyter_tracker.api.backend import RunNotFoundError
    from jupyter_tracker.lab import run_views
    from jupyter_tracker.server.report_routes import StorageRuns

    router = APIRouter(include_in_schema=False)
    sessions = WebSessions(storage)
    runs_bodies = RunsTableBodies(storage)
    files = FileStore(config.data_dir, config.max_file_bytes)

    def signed_in(request: Request) -> Principal | None:
        return session_principal(request, storage, config)

    def page_or_sign_in(request: Request, title: str, data: dict[str, str]) -> Response:
        principal = signed_in(request)
        if principal is None:
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303,
                                    headers=SECURITY_HEADERS)
        if "entity" in data and data["entity"] not in principal.entities:
            response: Response = HTMLResponse("<!DOCTYPE html><title>Not allowed</title>"
                                              "<p>You have no access to this project.</p>", status_code=403,
                                              headers=SECURITY_HEADERS)
            return response
        runs_table = data.get("view") == "runs" and "compare" not in request.query_params
        preload = _runs_json_path(data["entity"], data["project"]) if runs_table else None
        return _page(title, data, csrf_token(request.cookies[SESSION_COOKIE]), principal, preload)

    def json_for(request: Request, entity: str | None, action: Callable[[], Any]) -> Response:
        """``action()``'s data as JSON (or its own Response) for a signed-in reader of ``entity``."""
        principal = signed_in(request)
        if principal is None:
            return JSONResponse({"error": "not signed in"}, status_code=401, headers=SECURITY_HEADERS)
        if entity is not None and entity not in principal.entities:
            return JSONResponse({"error": f"no access to entity {entity!r}"}, status_code=403,
                                headers=SECURITY_HEADERS)
        try:
            result = action()
        except (NotFound, RunNotFoundError) as error:
            return JSONResponse({"error": str(getattr(error, "message", error))}, status_code=404,
                                headers=SECURITY_HEADERS)
        if isinstance(result, Response):
            result.headers.update(SECURITY_HEADERS)
            return result
        return JSONResponse(result, headers=SECURITY_HEADERS)

    @router.get("/sign-in")
    def sign_in_page(request: Request, next: str = "/") -> Response:
        return _sign_in_page(request, target=next)

    @router.post("/_pages/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await _checked_form(request)
        if form is None:
            return _sign_in_page(request, "Sign-in refused: the form's CSRF token is missing or wrong, or it came "
                                 "from another site (the form may have expired); try again.", 403)
        key = form.get("api_key", "").strip()
        scope = {"type": "http", "headers": [(b"authorization", f"Bearer {key}".encode("utf-8", "replace"))],
                 "client": request.scope.get("client")}
        try:
            principal = await run_in_threadpool(authenticate, Request(scope))
        except Exception as error:  # ApiError: its message never holds the key
            return _sign_in_page(request, str(getattr(error, "message", "invalid API key")), 401,
                                 form.get("next", "/"))
        await run_in_threadpool(sessions.end, request.cookies.get(SESSION_COOKIE))  # one session per browser
        session_id = await run_in_threadpool(sessions.start, principal.key_id)
        response = RedirectResponse(_safe_next(form.get("next", "/")), status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(SESSION_COOKIE, session_id, max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
        return response

    @router.post("/_pages/sign-out")
    async def sign_out(request: Request) -> Response:
        if await run_in_threadpool(sessions.find, request.cookies.get(SESSION_COOKIE)) is None:
            response = RedirectResponse("/sign-in", status_code=303, headers=SECURITY_HEADERS)  # nothing to end
            response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
            return response
        if await _checked_form(request, bound_to_session=True) is None:
            return HTMLResponse("<!DOCTYPE html><title>Refused</title><p>Sign-out refused: the form's CSRF token "
                                "is missing or does not belong to this session, or the form came from another "
                                "site.</p>", status_code=403, headers=SECURITY_HEADERS)
        await run_in_threadpool(sessions.end, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/sign-in", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/_pages/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name],
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    @router.get("/_pages/api/projects")
    def projects_json(request: Request) -> Response:
        principal = signed_in(request)
        entities = principal.entities if principal else []
        return json_for(request, None, lambda: {"projects": _projects(storage, entities)})

    @router.get("/_pages/api/runs/{entity}/{project}")
    def runs_json(request: Request, entity: str, project: str) -> Response:
        def body() -> Response:
            runs = runs_bodies.body(entity, project)
            if accepts_gzip(request.headers.get("accept-encoding", "")):
                return Response(runs.gzip(), media_type="application/json",
                                headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
            return Response(runs.json, media_type="application/json", headers={"Vary": "Accept-Encoding"})

        return json_for(request, entity, body)

    @router.get("/_pages/api/run/{entity}/{project}/{run_id}")
    def run_json(request: Request, entity: str, project: str, run_id: str) -> Response:
        return json_for(request, entity, lambda: run_views.run_page(StorageRuns(storage, files, entity), project,
                                                                    run_id, entity))

    @router.get("/")
    def home(request: Request) -> Response:
        return page_or_sign_in(request, "Projects · jupyter_tracker", {"view": "projects"})

    @router.get("/{entity}/{project}")
    def project_page(request: Request, entity: str, project: str) -> Response:
        if entity in RESERVED:
            return JSONResponse({"error": "not found"}, status_code=404)
        return page_or_sign_in(request, f"{project} · jupyter_tracker",
                               {"view": "runs", "entity": entity, "project": project})

    @router.get("/{entity}/{project}/runs/{run_id}")
    def run_page(request: Request, entity: str, project: str, run_id: str) -> Response:
        if entity in RESERVED:
            return JSONResponse({"error": "not found"}, status_code=404)
        return page_or_sign_in(request, f"{run_id} · {project} · jupyter_tracker",
                               {"view": "run", "entity": entity, "project": project, "run": run_id})

    return router
