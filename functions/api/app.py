"""HTTP API -> report JSON. Thin: auth from verified claims, parameters to
``mediana.readapi``, JSON errors, ETag/304, CORS, generated OpenAPI."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.auth import AuthError, Principal, principal_from_claims
from mediana.readapi import ApiError, catalogue, get_report
from mediana.schemas import ReportResponse
from mediana.store import default_store as store
from pydantic import BaseModel

logger = Logger()
metrics = Metrics()
tracer = Tracer()
cors = CORSConfig(
    allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"),
    allow_headers=["Authorization", "Content-Type", "If-None-Match", "Idempotency-Key"],
    expose_headers=["ETag", "Retry-After"],
    max_age=600,
)
app = APIGatewayHttpResolver(enable_validation=True, cors=cors)
CACHE_SECONDS = 60


class ErrorBody(BaseModel):
    code: str
    message: str
    parameter: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class CatalogueEntry(BaseModel):
    id: str
    title: dict[str, str]
    description: str
    filters: list[str]
    default_range: str
    ranges: list[str]
    custom_range: dict[str, Any]


class Catalogue(BaseModel):
    reports: list[CatalogueEntry]


def _body(description: str, model: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": model}}}


def _principal() -> Principal:
    ctx = app.current_event.request_context
    claims = ctx.authorizer.jwt_claim if ctx.authorizer else None
    principal = principal_from_claims(claims)
    logger.append_keys(tenant_id=principal.tenant_id)
    return principal


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers or {})


def _cached(body: Any) -> Response:
    """ETag from the body; 304 when the client already holds it."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={CACHE_SECONDS}", "Vary": "Authorization"}
    if etag in (app.current_event.headers.get("if-none-match") or "").split(", "):
        return Response(status_code=304, content_type="application/json", body="", headers=headers)
    return Response(status_code=200, content_type="application/json", body=text, headers=headers)


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return _json(exc.status, exc.body())


@app.exception_handler(AuthError)
def _auth_error(exc: AuthError) -> Response:
    code = "unauthorized" if exc.status == 401 else "forbidden"
    return _json(exc.status, {"error": {"code": code, "message": str(exc)}})


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {"loc": ["request"], "msg": "invalid"}
    name = str(first["loc"][-1])
    return _json(400, ApiError(400, "invalid_parameter", f"{name}: {first.get('msg', 'invalid')}", name).body())


@app.not_found
def _not_found(exc: Exception) -> Response:
    return _json(404, {"error": {"code": "not_found", "message": "no such route"}})


@app.get(
    "/v1/reports",
    summary="The report catalogue",
    responses={200: _body("Catalogue", Catalogue), 401: _body("ErrorResponse", ErrorResponse)},
)
def list_reports():  # noqa: ANN201 - Powertools derives the schema from `responses`
    _principal()
    return _cached(catalogue())


@app.get(
    "/v1/reports/<report_id>",
    summary="One report for a range, with filters and previous-period comparison",
    responses={
        200: _body("ReportResponse", ReportResponse),
        304: {"description": "Not modified (If-None-Match)"},
        400: _body("ErrorResponse", ErrorResponse),
        401: _body("ErrorResponse", ErrorResponse),
        404: _body("ErrorResponse", ErrorResponse),
    },
)
def read_report(
    report_id: Annotated[str, Path(description="a report id from the catalogue")],
    range_: Annotated[str | None, Query(alias="range", description="a preset, e.g. last_7_days")] = None,
    from_: Annotated[str | None, Query(alias="from", description="custom range start YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="custom range end YYYY-MM-DD (at most 366 days)")] = None,
    origin: Annotated[list[str] | None, Query(description="lead source; 'unknown' for none")] = None,
    group: Annotated[list[str] | None, Query(description="group id; 'none' for no group")] = None,
    channel: Annotated[list[str] | None, Query(description="conversation channel")] = None,
    owner: Annotated[list[str] | None, Query(description="user id; 'none' for no owner")] = None,
    call_type: Annotated[list[str] | None, Query(description="call type (interaction reports; calls only)")] = None,
    outcome: Annotated[list[str] | None, Query(description="call outcome (interaction reports; calls only)")] = None,
):  # noqa: ANN201 - Powertools derives the schema from `responses`
    principal = _principal()
    query = app.current_event.resolved_query_string_parameters or {}
    body = get_report(store(), principal.tenant_id, report_id, query)
    metrics.add_metric("ReportServed", MetricUnit.Count, 1)
    metrics.add_metric("PresetHit", MetricUnit.Count, 1 if body["source"] == "preset" else 0)
    return _cached(body)


@app.get("/v1/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi():  # noqa: ANN201
    return Response(status_code=200, content_type="application/json", body=openapi_document())


def openapi_document() -> str:
    return app.get_openapi_json_schema(title="mediana reports API", version="1.0.0")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return app.resolve(event, context)
    except Exception:  # noqa: BLE001 - a bug must still answer JSON, and be alarmed on
        logger.exception("unhandled")
        metrics.add_metric("UnhandledError", MetricUnit.Count, 1)
        return {
            "statusCode": 500,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": {"code": "internal", "message": "internal error"}}),
        }
