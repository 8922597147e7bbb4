"""EventBridge tick -> enqueue only the tenants with work due (one index query)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.metering.meter import METER, metered
from mediana.services.scheduling import schedule
from mediana.storage.store import default_store as store

METER.capture_stdout()  # before the Logger: its lines are metered
logger = Logger()
metrics = Metrics()
tracer = Tracer()


@metered(store)
@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(tenant_id="*")  # fan-out serves every tenant: its cost is the ledger's shared row
    tick = schedule(store())
    metrics.add_metric("TenantsEnqueued", MetricUnit.Count, len(tick.enqueued))
    metrics.add_metric("EnqueueRefused", MetricUnit.Count, len(tick.refused))
    if tick.refused:  # still due: the next tick sends them again; a run of these is alarmed on
        logger.warning("SQS refused some tenants' messages", extra={"refused": tick.refused})
    logger.info("scheduled", extra={"enqueued": tick.enqueued})
    return {"enqueued": tick.enqueued, "refused": tick.refused}
