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
from mediana.meter import INCOMING_RETENTION_DAYS, METER, metered
from mediana.store import default_store as store

METER.capture_stdout()  # before the Logger: its lines are metered
logger = Logger()
metrics = Metrics()
tracer = Tracer()


@metered(store)
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
        with METER.serving(tenant):
            METER.add("s3_put_requests", 1)  # the upload that brought the file (the bucket owner pays)
            METER.add("s3_byte_months", record.s3.get_object.size * INCOMING_RETENTION_DAYS / 30)
            body = store().s3.get_object(Bucket=record.s3.bucket.name, Key=key)["Body"]
            result = ingest_lines(store(), tenant, key, iter_lines(body.read))  # streamed, bounded memory
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
