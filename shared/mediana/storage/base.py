"""What every part of the Store shares: its configuration, its clients, the write pool
and the small helpers the parts use."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from mediana.config import Config

US = 1_000_000
STALE_BLOCK_US = 20 * 60 * US  # an ingest block older than this died with its Lambda
SQS_BATCH = 10  # SendMessageBatch's limit
LEASE_MS = 960_000  # longer than the aggregator can live (900 s): a live runner never outlives its lease

SERIALIZER, DESERIALIZER = TypeSerializer(), TypeDeserializer()


class StoreBase:
    """The clients the Store's parts (tenants, log, documents, messages, ledger) use."""

    cfg: Config
    ddb: Any
    s3: Any
    sqs: Any
    _pool: ThreadPoolExecutor | None

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _run_calls(self, calls: list[tuple[Callable[..., Any], dict[str, Any]]]) -> None:
        """Independent calls, ``write_threads`` at a time (each carries the caller's
        context, so the meter books it to the same tenant); raises the first failure
        after all have ended."""
        if self.cfg.write_threads <= 1 or len(calls) <= 1:
            for fn, kwargs in calls:
                fn(**kwargs)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.cfg.write_threads, thread_name_prefix="mediana-write")
        futures = [self._pool.submit(_in_context, contextvars.copy_context(), fn, kwargs) for fn, kwargs in calls]
        errors = [exc for f in futures if (exc := f.exception()) is not None]
        if errors:
            raise errors[0]


def _in_context(ctx: contextvars.Context, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return ctx.run(fn, **kwargs)


def plain_number(value: Any) -> Any:
    """A number as DynamoDB's deserializer gives it (a Decimal) back as an int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
