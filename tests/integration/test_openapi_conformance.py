"""The server's OpenAPI schema is true: a bounded schemathesis run checks every endpoint against it.

For each operation in ``/api/v1/openapi.json``, schemathesis generates requests from the schema
(valid ones and, with the negative phase, ones that break it) and sends them to a real server
process. Every answer must be documented (status code, content type, body schema, headers), and
none may be a 5xx. Half of the generated requests are aimed at an existing run of the test user,
so they reach the handlers rather than stopping at the access check. Hypothesis is derandomized,
so the run is the same each time; ``max_examples`` keeps it to about a minute per backend.
"""

# ruff: noqa: F811  (pytest fixtures are imported, then named as parameters)
from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.integration.server_fixtures import (  # noqa: F401  (fixtures)
    MSGPACK_HEADERS,
    ServerProcess,
    history_record,
    pack_batch,
    shared_server,
)

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

pytestmark = pytest.mark.integration

#: generated requests per operation and phase; the whole run stays around a minute per backend
MAX_EXAMPLES = 12


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]


def _prepare_run(server: ServerProcess) -> tuple[str, str]:
    """A run with history and a file, for generated requests to find."""
    project, run_id = "conformance", "r1"
    with server.client() as client:
        client.put(f"/api/v1/runs/alice/{project}/{run_id}", json={"metadata": {"name": "target"}})
        client.post(
            f"/api/v1/runs/alice/{project}/{run_id}/records",
            content=pack_batch(1, [history_record(step, {"loss": 1.0 / (step + 1)}) for step in range(20)]),
            headers=MSGPACK_HEADERS,
        )
        client.put(f"/api/v1/runs/alice/{project}/{run_id}/files/notes.txt", content=b"hello")
    return project, run_id


def test_every_endpoint_answers_as_its_openapi_schema_says(shared_server: ServerProcess) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    project, run_id = _prepare_run(shared_server)
    # msgpack bodies are generated as raw bytes (the server must refuse what is not a valid payload)
    schemathesis.serializer.alias("application/msgpack", "application/octet-stream")
    with shared_server.client() as client:
        document = client.get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    checks = _checks()
    turn = itertools.count()
    failures: list[str] = []
    operations = 0
    statuses: list[int] = []
    for result, mode in itertools.product(
        schema.get_all_operations(), (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ):
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def exercise(case: Any) -> None:
            parameters = case.path_parameters or {}
            if "entity" in parameters:
                parameters["entity"] = "alice"
            if next(turn) % 2 == 0:
                if "project" in parameters:
                    parameters["project"] = project
                if "run_id" in parameters:
                    parameters["run_id"] = run_id
            try:
                response = case.call(base_url=shared_server.base_url, headers=dict(shared_server.headers), timeout=30)
                statuses.append(response.status_code)
                case.validate_response(response, checks=checks)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as failure:  # schemathesis raises groups of its own failures
                failures.append(f"{case.method} {case.formatted_path}: {type(failure).__name__}: {str(failure)[:600]}")

        try:
            exercise()
        except hypothesis.errors.Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # nothing in this operation can be made invalid
    assert operations >= 20
    assert len(statuses) >= 10 * operations and statuses.count(200) >= 20, sorted(set(statuses))
    unique = list(dict.fromkeys(failures))
    assert not unique, f"{len(unique)} answers disagree with the schema:\n" + "\n".join(unique[:20])
    with httpx.Client(base_url=shared_server.base_url, headers=shared_server.headers) as client:
        assert client.get("/api/v1/health").status_code == 200  # the server survived the run


def test_the_schema_documents_errors_bodies_bounds_and_content_types(shared_server: ServerProcess) -> None:
    with shared_server.client() as client:
        document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    run = "/api/v1/runs/{entity}/{project}/{run_id}"
    every = [operation for item in paths.values() for operation in item.values() if isinstance(operation, dict)]
    assert all("422" not in operation["responses"] for operation in every)  # the server answers 400 instead
    records = paths[f"{run}/records"]["post"]
    assert {"400", "401", "403", "404", "409", "413", "415", "429"} <= set(records["responses"])
    assert "application/msgpack" in records["requestBody"]["content"]
    assert "application/json" in paths[run]["put"]["requestBody"]["content"]
    assert "application/octet-stream" in paths[f"{run}/files/{{name}}"]["put"]["requestBody"]["content"]
    assert "application/octet-stream" in paths[f"{run}/files/{{name}}"]["get"]["responses"]["200"]["content"]
    assert "Retry-After" in records["responses"]["429"]["headers"]

    def bounds(path: str, name: str) -> dict[str, Any]:
        (parameter,) = [item for item in paths[path]["get"]["parameters"] if item["name"] == name]
        return parameter["schema"]

    assert bounds("/api/v1/projects/{entity}/{project}/runs", "per_page")["maximum"] == 1000
    assert bounds("/api/v1/projects/{entity}/{project}/runs", "page")["minimum"] == 1
    samples = bounds(f"{run}/history", "samples")
    assert (samples["minimum"], samples["maximum"]) == (1, 100_000)
