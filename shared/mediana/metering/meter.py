"""The per-tenant cost meter: counts what the stack spends on each tenant's behalf.

- AWS calls are counted by botocore hooks on every client the Store uses (its
  boto3 clients and PynamoDB's): DynamoDB request units from item sizes
  (``capacity``), S3 requests by price class, SQS requests.
- Lambda time is split by the time spent serving each tenant inside the
  invocation (``serving``); what no tenant claims (start-up, batch overhead) is
  shared in proportion. A Lambda request is split the same way.
- Log bytes are counted at stdout (where Lambda's log lines go), plus the
  platform's START/END/REPORT lines per invocation.
Work that serves no single tenant (the scheduler's fan-out, unauthenticated
requests) is booked to ``SHARED``, its own row: the rows add up to everything
metered. The counts go to the ledger (``Store.add_costs``) when the handler flushes.
"""

from __future__ import annotations

import functools
import io
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from mediana.domain.timeutil import now_utc
from mediana.metering.capacity import units_for

SHARED = "(shared)"  # outside the tenant-id alphabet: no tenant can book into it
PLATFORM_LOG_BYTES = 330  # START, END and REPORT lines Lambda writes per invocation
S3_PUT_CLASS = {
    "PutObject",
    "CopyObject",
    "PostObject",
    "ListObjects",
    "ListObjectsV2",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
}
S3_FREE = {"DeleteObject", "DeleteObjects"}

F = TypeVar("F", bound=Callable[..., Any])
_tenant: ContextVar[str] = ContextVar("mediana_meter_tenant", default=SHARED)
# the seconds each tenant was served in the current invocation: per invocation, not per
# process, so two functions' invocations at once (the local stack's threads) do not mix
_served: ContextVar[dict[str, float] | None] = ContextVar("mediana_served", default=None)


class Ledger(Protocol):
    def add_costs(self, tenant: str, day: str, counters: Mapping[str, float]) -> None: ...


def split_time(total: float, served: Mapping[str, float]) -> dict[str, float]:
    """Each tenant's share of an invocation's ``total`` seconds: its own serving
    time plus the unclaimed rest in proportion to it (all of it to SHARED if no
    tenant was served)."""
    claimed = sum(served.values())
    if claimed <= 0:
        return {SHARED: total}
    rest = max(0.0, total - claimed)
    return {tenant: secs + rest * secs / claimed for tenant, secs in served.items() if secs > 0}


class _CountingStream(io.TextIOBase):
    """Wraps stdout: counts the bytes each tenant's work writes to the log."""

    def __init__(self, inner: Any, meter: Meter) -> None:
        self.inner, self.meter = inner, meter

    def write(self, text: str) -> int:
        self.meter.add("log_bytes", len(text.encode("utf-8", "replace")))
        return int(self.inner.write(text))

    def flush(self) -> None:
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Meter:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, float]] = {}
        self.gsi_keys: dict[str, set[str]] = {}
        self.trust_reported = False
        self._paused = False
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()

    # ---- counting ---------------------------------------------------------
    def add(self, field: str, quantity: float, tenant: str | None = None) -> None:
        if self._paused or not quantity:
            return
        with self._lock:  # calls made from the Store's write threads count here too
            row = self.counts.setdefault(tenant or _tenant.get(), {})
            row[field] = row.get(field, 0.0) + quantity

    @contextmanager
    def serving(self, tenant: str) -> Iterator[None]:
        """Everything inside is on ``tenant``'s account, its time included."""
        token = _tenant.set(tenant)
        started = time.monotonic()
        try:
            yield
        finally:
            served = _served.get()
            if served is not None:  # outside an invocation no time is split
                served[tenant] = served.get(tenant, 0.0) + time.monotonic() - started
            _tenant.reset(token)

    def set_tenant(self, tenant: str) -> None:
        """The rest of this invocation serves ``tenant`` (the API, once the token is verified)."""
        _tenant.set(tenant)

    def rebook(self, tenant: str) -> None:
        """``tenant`` turned out not to exist (a token's tenant that never sent data): what is
        counted for it so far, the read that found out included, and the rest of this
        invocation go to the shared row, so the ledger invents no row for it."""
        with self._lock:
            row = self.counts.pop(tenant, None)
            if row:
                shared = self.counts.setdefault(SHARED, {})
                for field, quantity in row.items():
                    shared[field] = shared.get(field, 0.0) + quantity
        _tenant.set(SHARED)

    @contextmanager
    def invocation(self, memory_mb: float) -> Iterator[None]:
        """One Lambda invocation: GB-seconds, the request and platform log lines, split by tenant."""
        token, times = _tenant.set(SHARED), _served.set({})
        started = time.monotonic()
        try:
            yield
        finally:
            total = time.monotonic() - started
            served = _served.get() or {_tenant.get(): total}
            _tenant.reset(token)
            _served.reset(times)
            shares = split_time(total, served)
            whole = sum(shares.values()) or 1.0
            for tenant, secs in shares.items():
                self.add("lambda_gb_s", secs * float(memory_mb) / 1024, tenant)
                self.add("lambda_requests", secs / whole if total else 1.0 / len(shares), tenant)
                self.add("log_bytes", PLATFORM_LOG_BYTES * secs / whole, tenant)

    # ---- AWS clients --------------------------------------------------------
    def configure(self, gsi_keys: Mapping[str, set[str]], trust_reported: bool) -> None:
        self.gsi_keys = {table: set(keys) for table, keys in gsi_keys.items()}
        self.trust_reported = trust_reported

    def install(self, client: Any) -> None:
        """Count every call ``client`` makes (idempotent per client)."""
        if getattr(client, "_mediana_metered", False):
            return
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-parameter-build.{service}", self._before)
        client.meta.events.register(f"after-call.{service}", self._after)
        client._mediana_metered = True

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name == "dynamodb" and "ReturnConsumedCapacity" in model.input_shape.members:
            if self.trust_reported:
                params.setdefault("ReturnConsumedCapacity", "INDEXES")
        context["mediana_params"] = params

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service, op = model.service_model.service_name, model.name
        if service == "dynamodb":
            units = units_for(op, context.get("mediana_params") or {}, parsed or {}, self.gsi_keys)
            self.add("ddb_rru", units.read)
            self.add("ddb_wru", units.write)
            if self.trust_reported:
                self.add("ddb_rru_reported", units.reported_read or 0)
                self.add("ddb_wru_reported", units.reported_write or 0)
        elif service == "s3":
            if op not in S3_FREE:
                self.add("s3_put_requests" if op in S3_PUT_CLASS else "s3_get_requests", 1)
        elif service == "sqs":
            self.add("sqs_requests", 1)

    # ---- log bytes ------------------------------------------------------------
    def capture_stdout(self) -> None:
        """Wrap stdout once, before the Logger is created, so its lines are counted."""
        if not isinstance(sys.stdout, _CountingStream):
            sys.stdout = _CountingStream(sys.stdout, self)

    # ---- to the ledger ----------------------------------------------------------
    def flush(self, ledger: Ledger, min_interval_s: float = 0.0, today: str | None = None) -> int:
        """Add the counts to the ledger (one write per tenant) and start again.
        ``min_interval_s`` lets a busy read function batch several invocations."""
        if not self.counts or time.monotonic() - self._last_flush < min_interval_s:
            return 0
        day = today or now_utc().date().isoformat()
        counts, self.counts = self.counts, {}
        self._paused = True  # the ledger's own writes are booked explicitly below, not re-metered
        try:
            for tenant, row in counts.items():
                ledger.add_costs(tenant, day, {**row, "ddb_wru": row.get("ddb_wru", 0.0) + 1})
        finally:
            self._paused = False
            self._last_flush = time.monotonic()
        return len(counts)


METER = Meter()
INCOMING_RETENTION_DAYS = 30  # template.yaml's lifecycle rule on incoming/


def metered(ledger: Callable[[], Ledger], min_flush_interval_s: float = 0.0) -> Callable[[F], F]:
    """Handler decorator (outermost): one metered invocation, then a ledger flush."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            try:
                with METER.invocation(float(getattr(context, "memory_limit_in_mb", 128) or 128)):
                    return handler(event, context)
            finally:
                METER.flush(ledger(), min_flush_interval_s)

        return run  # type: ignore[return-value]

    return wrap
