"""The OpenAPI document a frontend generates its client from (issue 9): valid 3.1, stable
operation ids, bearer security, the errors really returned (no phantom 422), enums, headers,
the stage's server; gzip above 1 KiB; and schemathesis against the local server over HTTP:
every generated request answered as documented, never a 5xx."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from mediana.domain.definitions import REPORTS
from mediana.domain.ranges import PRESETS
from mediana.domain.records import CALL_OUTCOMES, CHANNELS
from mediana.services.auth import mint
from mediana.services.openapi import COMMON_ERRORS, ERROR_REF
from mediana_cli import handlers
from mediana_cli.local import call_api, serve_api, upload
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_pipeline_moto import _today, lines

OPERATIONS = {"listReports", "getReport", "requestRefresh", "getRefresh", "getCosts", "getDimensions"}


def _document(stage: str = "$default") -> dict[str, Any]:
    path = "/v1/openapi.json" if stage == "$default" else f"/{stage}/v1/openapi.json"  # as API Gateway sends it
    event = handlers.http_event("GET", path)
    event["requestContext"]["stage"] = stage
    out = handlers.function("api").handler(event, handlers.FakeContext("api"))
    assert out["statusCode"] == 200
    return json.loads(out["body"])


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}


def test_the_document_is_valid_openapi_with_stable_operation_ids(stack: Any) -> None:
    doc = _document()
    validate(doc)  # openapi-spec-validator: OpenAPI 3.1 with its JSON Schema dialect
    assert doc["openapi"].startswith("3.1")
    assert set(_operations(doc)) == OPERATIONS


def test_security_is_a_bearer_scheme_on_every_operation(stack: Any) -> None:
    doc = _document()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A JWT with tenant_id and roles (viewer, admin, finance)"}  # fmt: skip
    assert doc["security"] == [{"bearerAuth": []}]


def test_errors_are_the_ones_returned_and_no_phantom_422(stack: Any) -> None:
    doc = _document()
    text = json.dumps(doc)
    assert '"422"' not in text and "HTTPValidationError" not in text
    for op_id, op in _operations(doc).items():
        for status in COMMON_ERRORS:
            assert op["responses"][str(status)]["content"]["application/json"]["schema"] == ERROR_REF, (op_id, status)
    ops = _operations(doc)
    assert {"404"} <= set(ops["getReport"]["responses"]) and {"409", "429"} <= set(ops["requestRefresh"]["responses"])
    assert set(doc["components"]["schemas"]["ErrorBody"]["properties"]) == {"code", "message", "parameter"}


def test_parameters_carry_their_values_and_headers_are_documented(stack: Any) -> None:
    ops = _operations(_document())
    params = {p["name"]: p["schema"] for p in ops["getReport"]["parameters"]}
    assert params["report_id"]["enum"] == sorted(REPORTS)
    assert params["range"]["anyOf"][0]["enum"] == list(PRESETS)
    assert params["channel"]["anyOf"][0]["items"]["enum"] == list(CHANNELS)
    assert params["outcome"]["anyOf"][0]["items"]["enum"] == list(CALL_OUTCOMES)
    assert {p["name"]: p["schema"] for p in ops["getCosts"]["parameters"]}["format"]["anyOf"][0]["enum"] == [
        "json", "csv"]  # fmt: skip
    for op_id in ("listReports", "getReport", "getDimensions"):
        op = ops[op_id]
        assert "If-None-Match" in {p["name"] for p in op["parameters"]}
        assert {"ETag", "Cache-Control"} <= set(op["responses"]["200"]["headers"]) and "304" in op["responses"]
    assert "Location" in ops["requestRefresh"]["responses"]["202"]["headers"]
    assert "Idempotency-Key" in {p["name"] for p in ops["requestRefresh"]["parameters"]}
    assert "Retry-After" in ops["requestRefresh"]["responses"]["429"]["headers"]


@pytest.mark.parametrize(("stage", "url"), [("$default", "/"), ("prod", "/prod"), ("dev", "/dev")])
def test_servers_follow_the_stage(stack: Any, stage: str, url: str) -> None:
    assert _document(stage)["servers"][0]["url"] == url


def test_large_responses_are_gzipped_when_the_client_accepts_it(stack: Any) -> None:
    auth = {"Authorization": f"Bearer {mint('acme', ['viewer'])}"}
    status, plain_headers, plain = call_api("GET", "/v1/reports", auth)
    assert status == 200 and "Content-Encoding" not in plain_headers and len(plain) > 1024
    status, headers, zipped = call_api("GET", "/v1/reports", {**auth, "Accept-Encoding": "gzip, br"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and isinstance(zipped, bytes)
    assert json.loads(gzip.decompress(zipped)) == json.loads(plain) and len(zipped) < len(plain) / 2
    assert "Accept-Encoding" in headers["Vary"]
    small = call_api("GET", "/v1/refresh/r-none", {**auth, "Accept-Encoding": "gzip"})
    assert small[0] == 404 and "Content-Encoding" not in small[1]  # below 1 KiB: sent as is


# ---- schemathesis over HTTP ------------------------------------------------------------------

EXAMPLES = 40  # per operation: bounded, the suite's budget


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api_schema(stack: Any) -> Iterator[Any]:
    """The local read API on a free port, with a day of data for the operator's tenant (whose
    token holds every role, so each operation can answer 2xx)."""
    upload(stack.store, "ops", "ops.jsonl", lines("ops", _today(), "30"))
    stack.pump.drain()
    port = _free_port()
    httpd = serve_api(port)
    yield schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/v1/openapi.json")
    httpd.shutdown()
    threading.Thread(target=httpd.server_close).start()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]  # fmt: skip
ROUTES = [("GET", "/v1/reports"), ("GET", "/v1/reports/{report_id}"), ("GET", "/v1/dimensions"),
          ("POST", "/v1/refresh"), ("GET", "/v1/refresh/{refresh_id}"), ("GET", "/v1/costs")]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_generated_request_is_answered_as_documented(api_schema: Any, method: str, path: str) -> None:
    """Each operation's cases from schemathesis' strategy (its pytest loader does not run on
    pytest 9), sent over HTTP with a token holding every role; schemathesis' own checks judge
    each answer against the document."""
    token = mint("ops", ["viewer", "admin", "finance"])
    operation = api_schema[path][method]
    statuses: Counter[int] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
        statuses[response.status_code] += 1

    run()
    assert sum(statuses.values()) >= EXAMPLES // 2 and not [s for s in statuses if s >= 500], statuses
    print(f"schemathesis {method} {path}: {sum(statuses.values())} requests, statuses {dict(statuses)}")
