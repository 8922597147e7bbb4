"""SQS (FIFO, group = tenant) -> refresh each tenant; partial batch failures."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.aggregate import refresh_tenant
from mediana.records import valid_tenant_id
from mediana.store import default_store as store

logger = Logger()
metrics = Metrics()
tracer = Tracer()
# FIFO: after a failure the rest of the batch is returned too, keeping per-tenant order.
processor = SqsFifoPartialProcessor()
_context: LambdaContext | None = None


def _time_left() -> int:
    return _context.get_remaining_time_in_millis() if _context else 10**9


def _continue(tenant: str, cursor: int) -> None:
    store().enqueue(tenant, "continue", f"{tenant}:continue:{cursor}")


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    body = json.loads(record.body)
    tenant = body.get("tenant_id")
    if not valid_tenant_id(tenant):
        logger.error("message without a valid tenant_id dropped", extra={"body": record.body[:500]})
        return {}
    logger.append_keys(tenant_id=tenant)
    report = refresh_tenant(store(), tenant, time_left_ms=_time_left, on_continue=_continue)
    logger.info("refreshed", extra={"reason": body.get("reason"), **report.as_dict()})
    metrics.add_metric("RecordsFolded", MetricUnit.Count, report.records)
    metrics.add_metric("IdleRuns", MetricUnit.Count, 1 if report.idle else 0)
    return report.as_dict()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _context
    _context = context
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
