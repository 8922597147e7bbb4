"""S3 ObjectCreated under incoming/{tenant}/ -> validate and append to the source log."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana import keys
from mediana.ingest import ingest_lines, iter_lines
from mediana.store import default_store as store

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    results = []
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)
        tenant = keys.tenant_of_incoming(key)
        if tenant is None:
            logger.warning("object outside incoming/{tenant}/ ignored", extra={"key": key})
            continue
        logger.append_keys(tenant_id=tenant)
        body = store().s3.get_object(Bucket=record.s3.bucket.name, Key=key)["Body"].read()
        result = ingest_lines(store(), tenant, key, iter_lines(body))
        logger.info(
            "ingested",
            extra={
                "key": key,
                "accepted": result.accepted,
                "rejected": result.rejected,
                "rejections": result.rejections,
            },
        )
        metrics.add_metric("RecordsAccepted", MetricUnit.Count, result.accepted)
        metrics.add_metric("RecordsQuarantined", MetricUnit.Count, result.rejected)
        results.append({"tenant_id": tenant, "key": key, "accepted": result.accepted, "rejected": result.rejected})
    return {"files": results}
