"""EventBridge tick -> enqueue only the tenants with work due (one index query)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.aggregate import schedule
from mediana.config import Config
from mediana.store import Store

logger = Logger()
metrics = Metrics()
tracer = Tracer()
_store: Store | None = None


def store() -> Store:
    global _store
    if _store is None:
        _store = Store(Config.from_env())
    return _store


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(tenant_id="*")  # fan-out serves every tenant
    tenants = schedule(store())
    metrics.add_metric("TenantsEnqueued", MetricUnit.Count, len(tenants))
    logger.info("scheduled", extra={"enqueued": tenants})
    return {"enqueued": tenants}
