"""The OpenAPI document a client generator can trust. Powertools generates it from the routes
and their models; this says what the routes cannot tell it: how callers authenticate, the
errors really returned (400, never its generic 422), the values each parameter takes, the
headers (ETag, Location, Retry-After, If-None-Match, Idempotency-Key) and the stage's URL."""

from __future__ import annotations

import copy
from typing import Any

from mediana.domain.definitions import REPORTS
from mediana.domain.ranges import PRESETS
from mediana.domain.records import CALL_OUTCOMES, CHANNELS

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
BEARER = "bearerAuth"
# the function's own validation schemas, never returned: requests are validated into a 400
VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

ERRORS = {
    400: "A parameter is invalid or unknown; `parameter` names it",
    401: "No bearer token, or not a valid one (WWW-Authenticate says why)",
    403: "The token's tenant is not a tenant id, or it lacks the role",
    404: "No such report, refresh or route",
    409: "A request with this Idempotency-Key is still being answered (Retry-After)",
    429: "Cooling down after the last refresh (Retry-After)",
    500: "An internal error (alarmed on)",
    503: "The identity provider's keys, or a stored item, cannot be read now: retry (Retry-After when it is an item)",
}
# the errors every authenticated route can answer; the rest where its operation can
COMMON_ERRORS = (400, 401, 403, 500, 503)

PARAMETER_VALUES: dict[str, list[str]] = {
    "report_id": sorted(REPORTS),
    "range": list(PRESETS),
    "channel": list(CHANNELS),
    "outcome": list(CALL_OUTCOMES),
    "format": ["json", "csv"],
}
_STRING = {"type": "string"}
_HEADERS = {
    "ETag": {"description": "Strong validator of the body; send it back in If-None-Match", "schema": _STRING},
    "Cache-Control": {"description": "private, max-age=60 (reports) or no-store", "schema": _STRING},
    "Location": {"description": "The refresh's status URL", "schema": _STRING},
    "Retry-After": {"description": "Seconds to wait before asking again", "schema": {"type": "integer"}},
    "Content-Disposition": {"description": "attachment; the CSV's file name", "schema": _STRING},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags already held (RFC 9110: weak comparison, lists, *): 304 when one matches",
    "schema": _STRING,
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key (24 h, at most 200 characters) get the first answer",
    "schema": {"type": "string", "maxLength": 200},
}


def _headers(*names: str) -> dict[str, Any]:
    return {name: _HEADERS[name] for name in names}


def finish(
    generated: dict[str, Any],
    stage: str | None,
    extra_errors: dict[str, tuple[int, ...]],
    error_schema: dict[str, Any],
) -> dict[str, Any]:
    """The generated document, completed. ``extra_errors`` maps an operationId to the statuses
    beyond ``COMMON_ERRORS`` that it answers; ``error_schema`` is ErrorResponse's JSON Schema
    (its ``$defs`` referenced under components)."""
    doc = copy.deepcopy(generated)
    doc["servers"] = [{"url": "/" if stage in (None, "", "$default") else f"/{stage}", "description": "this stage"}]
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    error_schema = copy.deepcopy(error_schema)
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorResponse"] = error_schema
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT with tenant_id and roles (viewer, admin, finance)",
        }  # fmt: skip
    }
    doc["security"] = [{BEARER: []}]
    for ops in doc["paths"].values():
        for op in ops.values():
            _finish_operation(op, extra_errors.get(op["operationId"], ()))
    return doc


def _finish_operation(op: dict[str, Any], extra: tuple[int, ...]) -> None:
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    for status in sorted({*COMMON_ERRORS, *extra}):
        responses[str(status)] = {"description": ERRORS[status], "content": {"application/json": {"schema": ERROR_REF}}}
    for param in op.get("parameters", []):
        values = PARAMETER_VALUES.get(param["name"])
        if values is None:
            continue
        schema = param.setdefault("schema", {})
        target = _string_schema(schema)
        target["enum"] = values
    if "304" in responses:  # a cached GET
        op.setdefault("parameters", []).append(_IF_NONE_MATCH)
        responses["304"]["headers"] = _headers("ETag", "Cache-Control")
        responses["200"]["headers"] = _headers("ETag", "Cache-Control")
    if "202" in responses:
        op.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
        responses["202"]["headers"] = _headers("Location", "Cache-Control")
    if op["operationId"] == "getRefresh":
        responses["200"]["headers"] = _headers("Location", "Cache-Control")
    if op["operationId"] == "getCosts":
        responses["200"]["headers"] = _headers("Cache-Control", "Content-Disposition")
    for waiting in ("409", "429"):
        if waiting in responses:
            responses[waiting]["headers"] = _headers("Retry-After")


def _string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The string schema inside a parameter's (an optional value is anyOf [string, null];
    a repeated one is an array of strings)."""
    for option in schema.get("anyOf", []):
        if option.get("type") == "array":
            return option.setdefault("items", {})
        if option.get("type") == "string":
            return option
    if schema.get("type") == "array":
        return schema.setdefault("items", {})
    return schema
