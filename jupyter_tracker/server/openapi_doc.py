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
_INT = {"type": "integer"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_ROWS = {"type": "array", "items": {"type": "object"}}
_RUN_OBJECT = {
    "type": "object",
    "required": ["id", "name", "state", "entity", "project", "config", "summary", "applied_seq", "history_rows"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "state": {"type": "string"},
        "entity": {"type": "string"},
        "project": {"type": "string"},
        "group": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": ["string", "null"]},
        "job_type": {"type": ["string", "null"]},
        "created": {"type": "number"},
        "updated": {"type": "number"},
        "runtime": {"type": "number"},
        "exit_code": {"type": ["integer", "null"]},
        "config": {"type": "object"},
        "summary": {"type": "object"},
        "applied_seq": _INT,
        "history_rows": _INT,
        "user": {"type": ["string", "null"]},
    },
}
_RUN = f"{API}/runs/{{entity}}/{{project}}/{{run_id}}"
#: a warning record as the run wrote it (the server keeps any object the writer sent, so only its shape is promised)
_WARNING = {
    "type": "object",
    "description": "Usually `kind` (e.g. `value_size`) and, for a crossed limit, `bound`, `observed` and `subject`.",
}
_UPSERTED = {
    "type": "object",
    "required": ["run_id", "applied_seq", "created"],
    "properties": {"run_id": {"type": "string"}, "applied_seq": _INT, "created": {"type": "boolean"}},
}
#: the body of each JSON success answer: (method, path) -> schema
_ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", f"{API}/health"): {
        "type": "object",
        "required": ["status", "version", "backend"],
        "properties": {"status": {"const": "ok"}, "version": {"type": "string"}, "backend": {"type": "string"}},
    },
    ("get", f"{API}/viewer"): {
        "type": "object",
        "required": ["username", "entities", "default_entity", "key_kind"],
        "properties": {
            "username": {"type": ["string", "null"]},
            "entities": {"type": "array", "items": {"type": "string"}},
            "default_entity": {"type": "string"},
            "key_kind": {"enum": ["user", "service"]},
        },
    },
    ("put", _RUN): _UPSERTED,
    ("get", _RUN): _RUN_OBJECT,
    ("post", f"{_RUN}/records"): {"type": "object", "required": ["applied_seq"], "properties": {"applied_seq": _INT}},
    ("post", f"{_RUN}/records/parts"): {
        "type": "object",
        "required": ["applied_seq", "received"],
        "properties": {"applied_seq": _INT, "received": _INT},
    },
    ("get", f"{API}/projects/{{entity}}/{{project}}/runs"): {
        "type": "object",
        "required": ["runs", "total"],
        "properties": {"runs": {"type": "array", "items": _RUN_OBJECT}, "total": _INT},
    },
    ("get", f"{_RUN}/history"): {
        "type": "object",
        "required": ["x_axis", "rows"],
        "properties": {"x_axis": {"type": "string"}, "rows": _ROWS},
    },
    ("get", f"{_RUN}/scan_history"): {
        "type": "object",
        "required": ["rows", "next_min_step"],
        "properties": {"rows": _ROWS, "next_min_step": {"type": ["integer", "null"]}},
    },
    ("get", f"{_RUN}/warnings"): {
        "type": "object",
        "required": ["warnings"],
        "properties": {"warnings": {"type": "array", "items": _WARNING}},
    },
    ("put", f"{_RUN}/files/{{name}}"): {
        "type": "object",
        "required": ["name", "size"],
        "properties": {"name": {"type": "string"}, "size": _INT},
    },
    ("get", f"{_RUN}/files"): {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "size", "updated"],
            "properties": {"name": {"type": "string"}, "size": _INT, "updated": _NUMBER_OR_NULL},
        },
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
            if where in _ANSWERS:
                answers["200"] = {
                    "description": answers.get("200", {}).get("description") or "Success.",
                    "content": {"application/json": {"schema": _ANSWERS[where]}},
                }
            if where in _CREATED:
                answers["201"] = {
                    "description": "Created the run.",
                    "content": {"application/json": {"schema": _ANSWERS.get(where, {})}},
                }
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
