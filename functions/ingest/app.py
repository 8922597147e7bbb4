"""S3 ObjectCreated under incoming/{tenant}/ -> validate and append to the source log.

An object too large for one invocation is checkpointed (the lines stored so far) to the
IngestContinueQueue, whose messages bring this function back to read on from there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediana.domain.lines import decompression_cap, read_lines
from mediana.metering.meter import INCOMING_RETENTION_DAYS, METER, metered
from mediana.services.ingest import Checkpoint, IngestResult, ingest_lines
from mediana.storage import keys
from mediana.storage.store import default_store as store

METER.capture_stdout()  # before the Logger: its lines are metered
logger = Logger()
metrics = Metrics()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)
STOP_MARGIN_MS = 60_000  # stop taking chunks when less than this is left: checkpoint instead
_context: LambdaContext | None = None


def _out_of_time() -> bool:
    return _context is not None and _context.get_remaining_time_in_millis() < STOP_MARGIN_MS


def read_object(bucket: str, key: str, etag: str | None = None, skip: int = 0) -> IngestResult | None:
    """Ingest one object from line ``skip + 1`` on; checkpoint it if time runs out.
    None: not a tenant's object, or (``etag`` given) replaced since the checkpoint."""
    tenant = keys.tenant_of_incoming(key)
    if tenant is None:
        logger.warning("object outside incoming/{tenant}/ ignored", extra={"key": key})
        return None
    logger.append_keys(tenant_id=tenant)
    with METER.serving(tenant):
        obj = store().get_incoming(bucket, key, etag)
        if obj is None:
            logger.warning(
                "object replaced or deleted since its checkpoint; its own event reads it", extra={"key": key}
            )
            return None
        cap = decompression_cap(int(obj["ContentLength"]))
        lines = read_lines(obj["Body"].read, cap=cap)  # streamed, bounded memory
        result = ingest_lines(store(), tenant, key, lines, skip=skip, should_stop=_out_of_time)
        if result.stopped_at is not None:
            store().send_checkpoint(Checkpoint(bucket, key, obj["ETag"], result.stopped_at).to_json())
    logger.info(
        "ingested" if result.stopped_at is None else "checkpointed",
        extra={
            "key": key,
            "from_line": skip + 1,
            "stopped_at": result.stopped_at,
            "accepted": result.accepted,
            "rejected": result.rejected,
            "rejections": result.rejections,
        },
    )
    metrics.add_metric("RecordsAccepted", MetricUnit.Count, result.accepted)
    metrics.add_metric("RecordsQuarantined", MetricUnit.Count, result.rejected)
    return result


def _incoming(event: dict[str, Any]) -> dict[str, Any]:
    results = []
    for record in S3Event(event).records:
        key = unquote_plus(record.s3.get_object.key)
        tenant = keys.tenant_of_incoming(key)
        if tenant is not None:
            with METER.serving(tenant):
                METER.add("s3_put_requests", 1)  # the upload that brought the file (the bucket owner pays)
                METER.add("s3_byte_months", record.s3.get_object.size * INCOMING_RETENTION_DAYS / 30)
        result = read_object(record.s3.bucket.name, key)
        if result is not None:
            results.append(
                {
                    "tenant_id": result.tenant_id,
                    "key": key,
                    "accepted": result.accepted,
                    "rejected": result.rejected,
                    "stopped_at": result.stopped_at,
                }
            )
    metrics.add_metric("FilesRead", MetricUnit.Count, len(results))  # 0: gone, or read already
    return {"files": results}


def continue_record(record: SQSRecord) -> None:
    checkpoint = Checkpoint.from_json(record.body)
    read_object(checkpoint.bucket, checkpoint.key, checkpoint.etag, checkpoint.line)


@metered(store)
@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    global _context
    _context = context
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":  # a checkpoint to continue from
        return process_partial_response(event, continue_record, processor, context)
    return _incoming(event)
