"""The OpenAPI document of the server, made true to what it answers.

FastAPI derives most of the schema from the routes; this module adds what it cannot see:
the error answers (``{"error": message}`` with 400, 401, 403, 404, 409, 413, 415, 429 and 503,
never FastAPI's 422, which the server turns into 400), the raw request bodies (JSON run
metadata, msgpack records, file bytes), the file content types, ``Retry-After`` on 429 and
503, and the bearer-key security scheme. ``tests/integration/test_openapi_conformance.py``
holds the server to it with schemathesis.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

API = "/api/v1"
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_DESCRIPTIONS = {
    400: "Bad request: the message names the field or parameter at fault.",
    401: "No API key, or an invalid or revoked one.",
    403: "The key has no access to this entity.",
    404: "No such run, file or object.",
    409: "Sequence gap or conflict: the body carries `applied_seq` (and `received` for parts).",
    413: "The body is over the server's size limit.",
    415: "Wrong Content-Type for this endpoint.",
    429: "Over the rate limit; retry after `Retry-After` seconds.",
    503: "The server is busy checking keys; retry after `Retry-After` seconds.",
}
#: errors any endpoint behind the key can answer
_AUTHENTICATED = (400, 401, 403, 404, 429, 503)
#: further errors of particular endpoints: (method, path) -> codes
_EXTRA_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("put", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}"): (413,),
    ("post", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/records"): (409, 413, 415),
    ("post", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/records/parts"): (409, 413, 415),
    ("put", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/files/{{name}}"): (413,),
}
_BINARY = {"type": "string", "format": "binary"}
_METADATA = {
    "type": "object",
    "properties": {
        "metadata": {
            "type": "object",
            "description": "Run metadata: name, group, tags, notes, job_type, created (unix time); other keys are kept.",
            "properties": {
                "name": {"type": ["string", "null"]},
                "group": {"type": ["string", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "notes": {"type": ["string", "null"]},
                "job_type": {"type": ["string", "null"]},
                "created": {"type": "number"},
            },
        }
    },
}
#: request bodies the routes read themselves: (method, path) -> content
_REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("put", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}"): {"application/json": {"schema": _METADATA}},
    ("post", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/records"): {"application/msgpack": {"schema": _BINARY}},
    ("post", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/records/parts"): {
        "application/msgpack": {"schema": _BINARY}
    },
    ("put", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/files/{{name}}"): {
        "application/octet-stream": {"schema": _BINARY}
    },
}
#: successful answers that are not JSON
_BINARY_ANSWERS = {("get", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}/files/{{name}}")}
#: a run PUT answers 201 when it made the run, 200 when it found it
_CREATED = {("put", f"{API}/runs/{{entity}}/{{project}}/{{run_id}}")}
_OPEN = {("get", f"{API}/health")}


def _error_answer(code: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if code in (429, 503):
        answer["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
    return answer


def build(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app``, with error answers, bodies, content types and security."""
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, openapi_version="3.1.0"
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}},
        "required": ["error"],
    }
    components["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer", "description": "jt_<id>_<secret>"}}
    for path, item in document.get("paths", {}).items():
        # starlette's path converter is documented as a plain parameter
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            where = (method, path.replace("{name:path}", "{name}"))
            answers: dict[str, Any] = operation.setdefault("responses", {})
            answers.pop("422", None)
            if where in _BINARY_ANSWERS:
                answers["200"] = {
                    "description": "The file's bytes.",
                    "content": {"application/octet-stream": {"schema": _BINARY}},
                }
            if where in _CREATED:
                answers["201"] = {"description": "Created the run.", "content": {"application/json": {"schema": {}}}}
            if where in _REQUEST_BODIES:
                operation["requestBody"] = {
                    "required": where[1].endswith(("records", "parts")),
                    "content": _REQUEST_BODIES[where],
                }
            if where in _OPEN:
                continue
            operation["security"] = [{"apiKey": []}]
            for code in (*_AUTHENTICATED, *_EXTRA_ERRORS.get(where, ())):
                answers.setdefault(str(code), _error_answer(code))
            if "requestBody" in operation:
                answers.setdefault("413", _error_answer(413))
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    document["paths"] = {path.replace("{name:path}", "{name}"): item for path, item in document["paths"].items()}
    return document


def install(app: FastAPI) -> None:
    """Makes ``app.openapi()`` return :func:`build`'s document (built once)."""
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(build(app))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]
