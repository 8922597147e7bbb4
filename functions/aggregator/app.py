"""SQS (FIFO, group = tenant) -> refresh each tenant; partial batch failures."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.domain.records import valid_tenant_id
from mediana.domain.timeutil import now_us
from mediana.metering.meter import METER, metered
from mediana.services import refresh
from mediana.services.aggregate import refresh_tenant
from mediana.storage.generations import read_view
from mediana.storage.store import TenantBusy
from mediana.storage.store import default_store as store

METER.capture_stdout()  # before the Logger: its lines are metered
logger = Logger()
metrics = Metrics()
tracer = Tracer()
# FIFO: after a failure the rest of *that tenant's* messages in the batch are returned
# too (its order kept); other tenants' messages go on (skip_group_on_error).
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# every failure is reported per message (and logged, and counted in RefreshFailures), even when all fail
processor.raise_on_entire_batch_failure = False
BUSY_PAUSE_S = 2.0  # a manual refresh that finds its tenant busy waits this long, then queues again
_context: LambdaContext | None = None
_batch_size = 1


def _time_left() -> int:
    return _context.get_remaining_time_in_millis() if _context else 10**9


def _continue(refresh_id: str | None) -> Any:
    def send(tenant: str, cursor: int) -> None:
        store().enqueue(tenant, "continue", f"{tenant}:continue:{cursor}", refresh_id=refresh_id)

    return send


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    body = json.loads(record.body)
    tenant = body.get("tenant_id")
    if not valid_tenant_id(tenant):
        logger.error("message without a valid tenant_id dropped", extra={"body": record.body[:500]})
        return {}
    logger.append_keys(tenant_id=tenant)
    attempt = int(record.attributes.approximate_receive_count or 1)
    with METER.serving(tenant):
        METER.add("sqs_requests", 2 / _batch_size)  # its share of the batch's receive and delete
        try:
            return _refresh(tenant, body.get("refresh_id"), attempt, _reported(body.get("check")))
        except TenantBusy as busy:
            return _busy(tenant, body.get("refresh_id"), busy)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            last = attempt >= store().cfg.refresh_max_receives
            logger.error("refresh failed", extra={"reason": reason, "attempt": attempt, "parked": last})
            metrics.add_metric("RefreshFailures", MetricUnit.Count, 1)
            if last:  # the queue moves it to the DLQ now: the tenant is parked, visibly
                store().note_failure(tenant, reason, now_us() // 1_000_000)
            raise


def _busy(tenant: str, refresh_id: str | None, busy: TenantBusy) -> dict[str, Any]:
    """Another runner holds the tenant. A scheduled run has nothing to add (the holder
    reschedules the tenant if data arrives meanwhile); a manual refresh queues again."""
    logger.info("tenant busy", extra={"refresh_id": refresh_id, "lease_until_ms": busy.until_ms})
    metrics.add_metric("TenantBusy", MetricUnit.Count, 1)  # runners colliding on a tenant
    if refresh_id:
        time.sleep(BUSY_PAUSE_S)
        store().enqueue(tenant, "busy", f"{tenant}:busy:{refresh_id}:{now_us()}", refresh_id=refresh_id)
    return {"tenant_id": tenant, "busy": True}


def _reported(check: Any) -> tuple[str, str] | None:
    """An item (pk, base) a reader could not decode, from the message (readapi's report)."""
    if isinstance(check, list) and len(check) == 2 and all(isinstance(part, str) for part in check):
        return check[0], check[1]
    return None


def _refresh(tenant: str, refresh_id: str | None, attempt: int, reported: tuple[str, str] | None) -> dict[str, Any]:
    """Refresh one tenant; a manual refresh's record follows it (running, succeeded, failed)."""
    if refresh_id and not refresh.start(store(), tenant, refresh_id, now_us() // 1_000_000, attempt):
        refresh_id = None  # already finished: refresh as a scheduled run would
    try:
        report = refresh_tenant(  # a tenant waiting on its refresh does not wait for the week's audit too
            store(),
            tenant,
            time_left_ms=_time_left,
            on_continue=_continue(refresh_id),
            reported=reported,
            audit_now=refresh_id is None,
        )
    except TenantBusy:
        if refresh_id:
            refresh.finish(store(), tenant, refresh_id, now_us() // 1_000_000, error=None, retrying=True)
        raise
    except Exception as exc:
        if refresh_id:
            last = attempt >= store().cfg.refresh_max_receives
            reason = f"{type(exc).__name__}: {exc}"
            refresh.finish(store(), tenant, refresh_id, now_us() // 1_000_000, error=reason, retrying=not last)
        raise
    if report.damaged:  # noted; rebuilt if it outlives the wait (services/damage.py)
        logger.error("a stored item does not decode: the tenant waits, then rebuilds", extra={"item": report.damaged})
        metrics.add_metric("DamagedItem", MetricUnit.Count, 1)
    if report.healed:
        logger.warning("rebuilding from the log to mend a damaged item")
        metrics.add_metric("DamagedItemRebuilds", MetricUnit.Count, 1)
    if report.audit:  # its day documents counted again from the log, its presets from them (services/audit.py)
        metrics.add_metric("TenantsAudited", MetricUnit.Count, 1)
        metrics.add_metric("DriftedDays", MetricUnit.Count, report.days_drifted)
        metrics.add_metric("DriftedPresets", MetricUnit.Count, report.presets_drifted)
        if report.days_drifted:  # the days and cells: the state's last_audit (``mediana tenants``)
            logger.error("day documents differ from their recount from the log: rebuilding",
                         extra={"days_drifted": report.days_drifted})  # fmt: skip
        elif report.presets_drifted:
            logger.error("preset buckets differ from the presets of their day documents: rolled again",
                         extra={"presets_drifted": report.presets_drifted})  # fmt: skip
    if refresh_id and report.damaged:
        error = f"a stored item does not decode ({report.damaged}); if it lasts, the reports are rebuilt from the log"
        refresh.finish(store(), tenant, refresh_id, now_us() // 1_000_000, error=error)
    elif refresh_id and not report.continued:
        state = store().get_state(tenant)
        through = read_view(state).data_through
        refresh.finish(store(), tenant, refresh_id, now_us() // 1_000_000, data_through=through)
    logger.info("refreshed", extra={"refresh_id": refresh_id, **report.as_dict()})
    metrics.add_metric("RecordsFolded", MetricUnit.Count, report.records)
    metrics.add_metric("IdleRuns", MetricUnit.Count, 1 if report.idle else 0)
    return report.as_dict()


@metered(store)
@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    global _context, _batch_size
    _context = context
    _batch_size = max(1, len(event.get("Records") or []))
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
