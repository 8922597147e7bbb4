"""HTTP API -> report JSON. Thin: auth from verified claims, parameters to
``mediana.services.readapi``, JSON errors, ETag/304, CORS, generated OpenAPI."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.domain.timeutil import now_s, now_utc
from mediana.metering.costs import MONTH, month_rows, to_csv
from mediana.metering.meter import METER, metered
from mediana.services.auth import ROLES, AuthError, Principal, authenticate
from mediana.services.readapi import catalogue, dimensions, get_report
from mediana.services.refresh import RefreshAnswer, public, request_refresh
from mediana.services.request import ApiError, bad_param, not_modified, only_params
from mediana.services.schemas import (
    Catalogue,
    CostReport,
    Dimensions,
    ErrorResponse,
    RefreshStatus,
    ReportResponse,
)
from mediana.services.tenancy import default_tenant_stores
from mediana.storage.documents import DamagedItem
from mediana.storage.store import Store
from mediana.storage.store import default_store as store

METER.capture_stdout()  # before the Logger: its lines are metered
logger = Logger()
metrics = Metrics()
if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

# the catalogue, dimensions, costs and docs routes publish no metric of their own: expected,
# so not a warning line in every such request's log (Powertools' documented filter)
warnings.filterwarnings("ignore", "No application metrics to publish*")
cors = CORSConfig(
    allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"),
    allow_headers=["Authorization", "Content-Type", "If-None-Match", "Idempotency-Key"],
    expose_headers=["ETag", "Retry-After"],
    max_age=600,
)
app = APIGatewayHttpResolver(enable_validation=True, cors=cors)
CACHE_SECONDS = 60
GZIP_MIN_BYTES = 1024  # below this gzip saves less than its header and the CPU cost


def _body(description: str, model: Any) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


READER_ROLES = ("viewer", "admin")


def _principal(*roles: str, params: tuple[str, ...] | None = (), bill_tenant: bool = True) -> Principal:
    """The caller, from its verified bearer token, holding one of ``roles``; a query
    parameter outside ``params`` is a 400. Its tenant is billed for the request
    (finance's reads of every tenant are the shared row's)."""
    principal = authenticate(app.current_event.headers.get("authorization"))
    principal.require(*roles)
    if params is not None:
        only_params(app.current_event.query_string_parameters, *params)
    logger.append_keys(tenant_id=principal.tenant_id)
    if bill_tenant:
        METER.set_tenant(principal.tenant_id)
    return principal


def tenant_store(principal: Principal) -> Store:
    """The caller's tenant's Store: DynamoDB access scoped by IAM to its partitions."""
    return default_tenant_stores(store()).for_tenant(principal.tenant_id)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers or {})


def _cached(body: Any) -> Response:
    """ETag from the body; 304 when the client already holds it."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"private, max-age={CACHE_SECONDS}",
        "Vary": "Authorization, Accept-Encoding",
    }
    if not_modified(app.current_event.headers.get("if-none-match"), etag):
        return Response(status_code=304, content_type="application/json", body="", headers=headers)
    compress = len(text) >= GZIP_MIN_BYTES  # gzip only when the client accepts it (Powertools checks)
    return Response(status_code=200, content_type="application/json", body=text, headers=headers, compress=compress)


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    if exc.status == 503:  # a stored item this code cannot read now: worth a retry, never cached
        metrics.add_metric("UnreadableItem", MetricUnit.Count, 1)
        return _json(503, exc.body(), {"Retry-After": "5", "Cache-Control": "no-store"})
    return _json(exc.status, exc.body())


@app.exception_handler(DamagedItem)
def _damaged(exc: DamagedItem) -> Response:
    """An item the read needs that does not decode -- the tenant's state item itself, say: a
    503 to retry while it is mended, never a 500."""
    logger.warning("stored item not readable", extra={"item": str(exc)})
    return _api_error(ApiError(503, "unreadable_item", f"a stored item ({exc.base}) cannot be read now; retry shortly"))


@app.exception_handler(AuthError)
def _auth_error(exc: AuthError) -> Response:
    headers = {"Cache-Control": "no-store"}
    if exc.status == 401:  # RFC 6750 3
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{exc}"'
    return _json(exc.status, {"error": {"code": exc.code, "message": str(exc)}}, headers)


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {"loc": ["request"], "msg": "invalid"}
    name = str(first["loc"][-1])
    message = first.get("msg", "invalid")
    if first.get("type") == "string_type" and isinstance(first.get("input"), list):
        message = "give exactly one value"  # a one-value parameter repeated: pydantic's words name a type
    return _json(400, ApiError(400, "invalid_parameter", f"{name}: {message}", name).body())


@app.not_found
def _not_found(exc: Exception) -> Response:
    return _json(404, {"error": {"code": "not_found", "message": "no such route"}})


@app.get(
    "/v1/reports",
    operation_id="listReports",
    summary="The report catalogue",
    responses={200: _body("Catalogue", Catalogue), 304: {"description": "Not modified (If-None-Match)"}},
)
def list_reports():  # noqa: ANN201 - Powertools derives the schema from `responses`
    # definitions, no tenant data: any role (finance's viewer builds its menu from it), the shared row's cost
    _principal(*ROLES, bill_tenant=False)
    return _cached(catalogue())


@app.get(
    "/v1/reports/<report_id>",
    operation_id="getReport",
    summary="One report for a range, with filters and previous-period comparison",
    responses={
        200: _body("ReportResponse", ReportResponse),
        304: {"description": "Not modified (If-None-Match)"},
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
    principal = _principal(*READER_ROLES, params=None)  # parse_query names any unknown parameter
    query = app.current_event.resolved_query_string_parameters or {}
    body = get_report(tenant_store(principal), principal.tenant_id, report_id, query)
    metrics.add_metric("ReportServed", MetricUnit.Count, 1)
    metrics.add_metric("PresetHit", MetricUnit.Count, 1 if body["source"] == "preset" else 0)
    return _cached(body)


class _CoolingDown(Exception):
    """Raised inside the idempotent call so a 429 is not remembered under the key."""

    def __init__(self, answer: RefreshAnswer) -> None:
        super().__init__("cooling down")
        self.answer = answer


class _InProgress(Exception):
    """The first request with this Idempotency-Key is still being answered."""


# Imported on first use, not at cold start: only POST /v1/refresh needs them, and the X-Ray
# SDK and the idempotency utility together cost about what boto3 does to import. GET routes
# are traced by Lambda's active tracing (the invocation's segment) without the SDK.
@functools.cache
def _tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer()  # patches botocore: this container's AWS calls get subsegments from now on


@functools.cache
def _idempotent_refresh() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(event_key_jmespath="[tenant_id, key]", expires_after_seconds=24 * 3600)
    # the Store's DynamoDB client: already pointed at the endpoint and metered
    layer = DynamoDBPersistenceLayer(table_name=store().cfg.idempotency_table, boto3_client=store().ddb)

    @idempotent_function(data_keyword_argument="request", persistence_store=layer, config=config)
    def run(request: dict[str, Any], principal: Principal) -> dict[str, Any]:
        return _refresh_now(principal)  # the key is (tenant_id, key): the principal is that tenant

    return run, config


def _refresh_now(principal: Principal) -> dict[str, Any]:
    answer = request_refresh(tenant_store(principal), principal.tenant_id, now_s(), principal.subject)
    if answer.status == 429:
        raise _CoolingDown(answer)
    return answer.body


def _refresh_once(principal: Principal, key: str) -> dict[str, Any]:
    """The answer remembered under (tenant, Idempotency-Key) for a day."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    run, config = _idempotent_refresh()
    config.register_lambda_context(app.lambda_context)
    try:
        return run(request={"tenant_id": principal.tenant_id, "key": key}, principal=principal)
    except IdempotencyAlreadyInProgressError as busy:
        raise _InProgress() from busy


def _refresh_response(body: dict[str, Any], status: int = 202) -> Response:
    headers = {"Location": f"/v1/refresh/{body['refresh_id']}", "Cache-Control": "no-store"}
    return _json(status, body, headers)


@app.post(
    "/v1/refresh",
    operation_id="requestRefresh",
    summary="Refresh this tenant's reports now (role admin)",
    description="202 with the refresh; a refresh already queued or running is returned instead of a new one. "
    "Within the cool-down after the last completed refresh: 429 with Retry-After. "
    "An Idempotency-Key header makes retries return the first answer; a retry that arrives while the "
    "first request with that key is still being answered gets 409 with Retry-After.",
    responses={
        202: _body("RefreshStatus", RefreshStatus),
    },
)
def post_refresh():  # noqa: ANN201 - Powertools derives the schema from `responses`
    principal = _principal("admin")
    key = (app.current_event.headers.get("idempotency-key") or "").strip()
    if len(key) > 200:
        raise bad_param("Idempotency-Key", "at most 200 characters")
    _tracer()
    try:
        if key:
            body = _refresh_once(principal, key)
        else:
            body = _refresh_now(principal)
    except _CoolingDown as cooling:
        retry = str(cooling.answer.retry_after_s or 1)
        return _json(429, cooling.answer.body, {"Retry-After": retry, "Cache-Control": "no-store"})
    except _InProgress:
        busy = {
            "code": "in_progress",
            "message": "a request with this Idempotency-Key is still being answered; retry shortly",
            "parameter": "Idempotency-Key",
        }
        return _json(409, {"error": busy}, {"Retry-After": "1", "Cache-Control": "no-store"})
    metrics.add_metric("RefreshRequested", MetricUnit.Count, 1)
    return _refresh_response(body)


@app.get(
    "/v1/refresh/<refresh_id>",
    operation_id="getRefresh",
    summary="A refresh's status and timings",
    responses={
        200: _body("RefreshStatus", RefreshStatus),
    },
)
def get_refresh(refresh_id: Annotated[str, Path(description="from POST /v1/refresh")]):  # noqa: ANN201
    principal = _principal(*READER_ROLES)
    scoped = tenant_store(principal)
    record = scoped.get_refresh(principal.tenant_id, refresh_id) if len(refresh_id) <= 100 else None
    if record is None:  # another tenant's id is simply not in this tenant's partition
        if scoped.get_state(principal.tenant_id) is None:  # no such tenant: no row invented
            METER.rebook(principal.tenant_id)
        raise ApiError(404, "not_found", f"no refresh {refresh_id!r} for this tenant")
    return _refresh_response(public(record, now_s()), 200)


@app.get(
    "/v1/costs",
    operation_id="getCosts",
    summary="Per-tenant AWS cost of a month (role finance), JSON or CSV",
    responses={
        200: {
            "description": "CostReport",
            "content": {"application/json": {"model": CostReport}, "text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def get_costs(
    month: Annotated[str | None, Query(description="YYYY-MM (UTC); default this month")] = None,
    format_: Annotated[str | None, Query(alias="format", description="json (default) or csv")] = None,
):  # noqa: ANN201
    principal = _principal("finance", params=("month", "format"), bill_tenant=False)
    if principal.tenant_id != store().cfg.finance_tenant:  # every tenant's costs: the operator's only
        raise AuthError(403, "the finance role is honoured for the operator's tenant only")
    month = month or now_utc().strftime("%Y-%m")
    if not MONTH.fullmatch(month):
        raise bad_param("month", f"expected YYYY-MM, got {month!r}")
    if format_ not in (None, "json", "csv"):
        raise bad_param("format", f"expected json or csv, got {format_!r}")
    cfg = store().cfg
    report = month_rows(store().month_costs(month), month, cfg.region)
    if format_ == "csv":
        headers = {
            "Content-Disposition": f'attachment; filename="mediana-costs-{month}.csv"',
            "Cache-Control": "no-store",
        }
        csv = to_csv(report)
        return Response(
            status_code=200, content_type="text/csv", body=csv, headers=headers, compress=len(csv) >= GZIP_MIN_BYTES
        )
    text = json.dumps(report)
    return Response(
        status_code=200,
        content_type="application/json",
        body=text,
        headers={"Cache-Control": "no-store", "Vary": "Accept-Encoding"},
        compress=len(text) >= GZIP_MIN_BYTES,
    )


@app.get(
    "/v1/dimensions",
    operation_id="getDimensions",
    summary="The values each report filter takes (for pickers)",
    responses={200: _body("Dimensions", Dimensions), 304: {"description": "Not modified (If-None-Match)"}},
)
def get_dimensions():  # noqa: ANN201 - Powertools derives the schema from `responses`
    principal = _principal(*READER_ROLES)
    return _cached(dimensions(tenant_store(principal), principal.tenant_id))


@app.get("/v1/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi():  # noqa: ANN201
    headers = {"Cache-Control": "public, max-age=300"}
    body = openapi_document(app.current_event.request_context.stage)
    return Response(status_code=200, content_type="application/json", body=body, headers=headers, compress=True)


OPENAPI: dict[str, Any] = {"title": "mediana reports API", "version": "1.0.0"}
# statuses an operation answers beyond mediana.services.openapi.COMMON_ERRORS
EXTRA_ERRORS = {"getReport": (404,), "getRefresh": (404,), "requestRefresh": (409, 429)}


@functools.cache
def openapi_document(stage: str | None = None) -> str:
    """Generated from the routes, completed by mediana.services.openapi; once per stage per container."""
    from mediana.services.openapi import finish

    generated = json.loads(app.get_openapi_json_schema(**OPENAPI))
    errors = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    return json.dumps(finish(generated, stage, EXTRA_ERRORS, errors), indent=2)


@app.get("/v1/docs", include_in_schema=False)
def swagger_ui():  # noqa: ANN201
    headers = {"Cache-Control": "public, max-age=300"}
    page = _swagger_page(app.current_event.request_context.stage)
    return Response(status_code=200, content_type="text/html", body=page, headers=headers, compress=True)


@functools.cache
def _swagger_page(stage: str | None) -> str:
    """Swagger UI for frontend developers: Powertools' own copy inlined (no CDN), built once
    per container on first use rather than by enable_swagger at import (every cold start)."""
    from pathlib import Path as FilePath

    import aws_lambda_powertools.event_handler as event_handler
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    ui = FilePath(event_handler.__file__).parent / "openapi" / "swagger_ui"
    js, css = (ui / "swagger-ui-bundle.min.js").read_text(), (ui / "swagger-ui.min.css").read_text()
    return generate_swagger_html(openapi_document(stage).replace("</", "<\\/"), js, css, "", None)


@app.get("/", include_in_schema=False)
def viewer_page():  # noqa: ANN201
    stage = app.current_event.request_context.stage
    base = "/" if stage in (None, "$default") else f"/{stage}/"  # the page's relative URLs keep the stage
    page = _asset("index.html")
    page.body = str(page.body).replace('<base href="/">', f'<base href="{base}">')
    return page


@app.get("/viewer/<name>", include_in_schema=False)
def viewer_asset(name: str):  # noqa: ANN201
    return _asset(name)


def _asset(name: str) -> Response:
    """The report viewer's static files (public: they hold no data; the data needs a token)."""
    from mediana_viewer import asset

    found = asset(name)
    if found is None:
        raise ApiError(404, "not_found", f"no viewer file {name!r}")
    body, content_type = found
    headers = {"Cache-Control": "public, max-age=300"}
    return Response(status_code=200, content_type=content_type, body=body.decode(), headers=headers, compress=True)


@metered(store, min_flush_interval_s=float(os.environ.get("METER_FLUSH_SECONDS", "60")))
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return app.resolve(event, context)
    except Exception:  # noqa: BLE001 - a bug must still answer JSON, and be alarmed on
        logger.exception("unhandled")
        metrics.add_metric("UnhandledError", MetricUnit.Count, 1)
        origin = {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get("origin")
        return {
            "statusCode": 500,
            # CORS too: without it a browser reports a CORS failure instead of this error
            "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **cors.to_dict(origin)},
            "body": json.dumps({"error": {"code": "internal", "message": "internal error"}}),
        }
    finally:
        METER.add("api_requests", 1)  # the caller's tenant once its token is verified, else the shared row
