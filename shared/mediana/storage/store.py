"""DynamoDB (PynamoDB models, boto3 where an expression needs it), S3 and SQS
access. Every AWS call of the project goes through here, so the services stay
plain Python and the endpoint (a moto server locally) is set in one place."""

from __future__ import annotations

import contextvars
import copy
import json
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from mediana.config import Config
from mediana.domain.records import upgrade
from mediana.domain.sections import ALL_DAYS, SECTIONS, Counter, decode_counter
from mediana.metering.capacity import decimal
from mediana.metering.meter import METER
from mediana.storage import blobs, keys

US = 1_000_000
STALE_BLOCK_US = 20 * 60 * US  # an ingest block older than this died with its Lambda
SQS_BATCH = 10  # SendMessageBatch's limit
LEASE_MS = 960_000  # longer than the aggregator can live (900 s): a live runner never outlives its lease


class StaleWriter(Exception):
    """This runner was overtaken (its lease taken over, or a newer batch wrote the item):
    its write was rejected by DynamoDB, never applied."""


class TenantBusy(Exception):
    """Another runner holds the tenant's aggregation lease."""

    def __init__(self, tenant: str, until_ms: int) -> None:
        super().__init__(f"tenant {tenant!r} is being aggregated by another runner (lease until {until_ms} ms)")
        self.until_ms = until_ms


def _conditional_failed(exc: BaseException) -> bool:
    """A rejected condition, from boto3 or from PynamoDB (which wraps the ClientError)."""
    exc = exc.__cause__ or exc
    if isinstance(exc, ClientError):
        return exc.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionCanceledException")
    return "ConditionalCheckFailed" in str(exc)


class DueIndex(GlobalSecondaryIndex["TenantState"]):
    """Sparse: only tenants with work due carry ``sched``."""

    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    sched = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


class TenantState(Model):
    class Meta:
        table_name = "mediana-state"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute(null=True)
    next_seq = NumberAttribute(null=True)
    inflight = MapAttribute[str, Any](null=True)
    cursor = NumberAttribute(null=True)
    batch = NumberAttribute(null=True)
    pending = UnicodeAttribute(null=True)
    sched = UnicodeAttribute(null=True)
    due_at = NumberAttribute(null=True)
    tz = UnicodeAttribute(null=True)
    data_through = UnicodeAttribute(null=True)
    computed_at = UnicodeAttribute(null=True)
    presets_as_of = UnicodeAttribute(null=True)
    quarantined = NumberAttribute(null=True)
    rebuild = BooleanAttribute(null=True)
    last_batch = UnicodeAttribute(null=True)  # JSON: figures of the last batch
    active_refresh = UnicodeAttribute(null=True)  # the manual refresh queued or running
    active_since = NumberAttribute(null=True)
    last_refresh_done = NumberAttribute(null=True)  # epoch s: the cool-down starts here
    failure = UnicodeAttribute(null=True)  # why its last receive failed (parked: message in the DLQ)
    failed_at = NumberAttribute(null=True)  # epoch s
    lease_owner = UnicodeAttribute(null=True)  # the one runner allowed to aggregate the tenant
    lease_until = NumberAttribute(null=True)  # epoch ms
    gen = NumberAttribute(null=True)  # the generation the aggregator writes (mediana.storage.generations)
    live = UnicodeAttribute(null=True)  # JSON: the complete generation readers use while a rebuild runs
    retired = UnicodeAttribute(null=True)  # JSON: superseded generations left to delete
    tz_pin = UnicodeAttribute(null=True)  # JSON: the tenant record that chose a rebuild's time zone
    due_index = DueIndex()


class DocPart(Model):
    class Meta:
        table_name = "mediana-state"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute()
    v = BinaryAttribute(legacy_encoding=False)
    b = NumberAttribute(null=True)  # the batch that wrote it: a fenced write never goes backwards


class QuarantineItem(Model):
    class Meta:
        table_name = "mediana-state"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    source = UnicodeAttribute()
    line = NumberAttribute()
    field = UnicodeAttribute()
    reason = UnicodeAttribute()
    raw = UnicodeAttribute()
    received_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # epoch s: the table's TTL attribute


class LogItem(Model):
    class Meta:
        table_name = "mediana-log"

    tenant_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    r = UnicodeAttribute()  # the normalised record, JSON
    at = NumberAttribute()  # received, epoch microseconds


_MODELS: dict[type[Model], str] = {TenantState: "state", DocPart: "state", QuarantineItem: "state", LogItem: "log"}


def bind(cfg: Config) -> None:
    """Point the models at this configuration's tables and endpoint. PynamoDB
    reads Meta at first use, so this runs before any call and resets connections."""
    for model, which in _MODELS.items():
        model.Meta.table_name = cfg.state_table if which == "state" else cfg.log_table
        model.Meta.host = cfg.endpoint
        model.Meta.region = cfg.region
        model._connection = None


class Store:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._pool: ThreadPoolExecutor | None = None
        bind(cfg)
        session = boto3.session.Session(region_name=cfg.region)
        self.ddb = session.client("dynamodb", endpoint_url=cfg.endpoint)
        self.s3 = session.client("s3", endpoint_url=cfg.endpoint)
        self.sqs = session.client("sqs", endpoint_url=cfg.endpoint)
        # every AWS call this Store makes is metered for the tenant being served
        METER.configure({cfg.state_table: {"sched", "due_at"}}, cfg.trust_reported_capacity)
        for client in (self.ddb, self.s3, self.sqs):
            METER.install(client)
        for model in _MODELS:
            METER.install(model._get_connection().connection.client)

    # ---- tenant control -------------------------------------------------
    def get_state(self, tenant: str) -> TenantState | None:
        out = self.ddb.get_item(
            TableName=self.cfg.state_table, Key=self._key(keys.tenant_pk(tenant), keys.STATE_SK), ConsistentRead=True
        )
        return TenantState.from_raw_data(out["Item"]) if "Item" in out else None

    def scoped(self, ddb: Any) -> Store:
        """This Store with another DynamoDB client (a tenant's scoped credentials, see
        ``mediana.services.tenancy``): every method that reads or writes a tenant's partitions
        for the API goes through ``self.ddb``, never through PynamoDB's shared connections."""
        view = copy.copy(self)
        view.ddb = ddb
        return view

    def list_states(self) -> list[TenantState]:
        return [s for s in TenantState.scan(TenantState.sk == keys.STATE_SK)]

    def ensure_state(self, tenant: str) -> None:
        """Create the tenant's control fields, or complete them, whichever door comes
        first (ingest, a refresh request, the schedule): idempotent, race-free."""
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="SET tenant_id = :t, next_seq = if_not_exists(next_seq, :z), "
            "inflight = if_not_exists(inflight, :m), #cursor = if_not_exists(#cursor, :z), "
            "#batch = if_not_exists(#batch, :z)",
            ExpressionAttributeNames={"#cursor": "cursor", "#batch": "batch"},
            ExpressionAttributeValues={":t": {"S": tenant}, ":z": {"N": "0"}, ":m": {"M": {}}},
        )

    @staticmethod
    def complete(state: TenantState | None) -> bool:
        fields = (state.next_seq, state.cursor, state.batch, state.inflight) if state is not None else (None,)
        return all(f is not None for f in fields)  # identity: a MapAttribute's == builds a condition

    def note_failure(self, tenant: str, reason: str, now_s: int) -> None:
        """Park a tenant whose refresh keeps failing (its message goes to the DLQ): the
        reason is on its state for the operator; the next successful run clears it."""
        TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(
            actions=[TenantState.failure.set(reason[:500]), TenantState.failed_at.set(now_s)]
        )

    # ---- the aggregation lease ------------------------------------------------
    def acquire_lease(self, state: TenantState, owner: str, now_ms: int) -> None:
        """Make ``owner`` the tenant's only aggregator until now + LEASE_MS (refreshes
        ``state`` in place); TenantBusy while another live runner holds it."""
        try:
            state.update(
                actions=[TenantState.lease_owner.set(owner), TenantState.lease_until.set(now_ms + LEASE_MS)],
                condition=TenantState.pk.exists()
                & (
                    TenantState.lease_owner.does_not_exist()
                    | (TenantState.lease_owner == owner)
                    | (TenantState.lease_until < now_ms)
                ),
            )
        except Exception as exc:  # noqa: BLE001 - PynamoDB wraps the ClientError
            if not _conditional_failed(exc):
                raise
            current = self.get_state(state.pk[2:])
            raise TenantBusy(state.pk[2:], int(current.lease_until or 0) if current else 0) from None

    def release_lease(self, tenant: str, owner: str) -> None:
        try:
            TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(
                actions=[TenantState.lease_owner.remove(), TenantState.lease_until.remove()],
                condition=TenantState.lease_owner == owner,
            )
        except Exception as exc:  # noqa: BLE001 - already taken over or released: nothing to give back
            if not _conditional_failed(exc):
                raise

    def begin_block(self, tenant: str, count: int, now_us: int) -> tuple[int, str]:
        """Allocate ``count`` sequence numbers and register them as in flight, in
        one atomic update, so the aggregator never reads past an unwritten block."""
        block = uuid.uuid4().hex[:12]
        request = {
            "TableName": self.cfg.state_table,
            "Key": {"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            "UpdateExpression": "ADD next_seq :n SET inflight.#b = :info",
            "ExpressionAttributeNames": {"#b": block},
            "ReturnValues": "ALL_NEW",  # UPDATED_NEW omits next_seq when ADD 0 leaves it as it was
        }
        values = {":n": {"N": str(count)}, ":info": {"M": {"n": {"N": str(count)}, "at": {"N": str(now_us)}}}}
        for attempt in range(2):
            try:
                out = self.ddb.update_item(**request, ExpressionAttributeValues=values)
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ValidationException" or attempt:
                    raise
                self.ensure_state(tenant)
        end = int(out["Attributes"]["next_seq"]["N"])
        start = end - count + 1
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="SET inflight.#b.#s = :s",
            ExpressionAttributeNames={"#b": block, "#s": "start"},
            ExpressionAttributeValues={":s": {"N": str(start)}},
        )
        return start, block

    def end_block(self, tenant: str, block: str, now_us: int, quarantined: int) -> None:
        """Close an ingest block and mark the tenant due for aggregation."""
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="REMOVE inflight.#b SET sched = :due, due_at = :now, tenant_id = :t ADD quarantined :q",
            ExpressionAttributeNames={"#b": block},
            ExpressionAttributeValues={
                ":due": {"S": keys.DUE_PARTITION},
                ":now": {"N": str(now_us // US)},
                ":t": {"S": tenant},
                ":q": {"N": str(quarantined)},
            },
        )

    def mark_due(self, tenant: str, now_s: int, rebuild: bool = False) -> None:
        self.ensure_state(tenant)
        expr = "SET sched = :due, due_at = :now" + (", #rebuild = :r" if rebuild else "")
        values: dict[str, Any] = {":due": {"S": keys.DUE_PARTITION}, ":now": {"N": str(now_s)}}
        extra: dict[str, Any] = {}
        if rebuild:  # "rebuild" is a DynamoDB reserved word
            values[":r"] = {"BOOL": True}
            extra["ExpressionAttributeNames"] = {"#rebuild": "rebuild"}
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression=expr,
            ExpressionAttributeValues=values,
            **extra,
        )

    @staticmethod
    def safe_horizon(state: TenantState, now_us: int) -> tuple[int, int | None]:
        """(highest seq readable without a gap, oldest live in-flight block's start
        time or None). Blocks older than a Lambda can live are abandoned gaps."""
        horizon = int(state.next_seq or 0)
        oldest: int | None = None
        for info in (state.inflight.as_dict() if state.inflight else {}).values():
            at = int(info["at"])
            if now_us - at > STALE_BLOCK_US:
                continue
            start = int(info.get("start", horizon + 1))
            horizon = min(horizon, start - 1)
            oldest = at if oldest is None else min(oldest, at)
        return horizon, oldest

    def due_tenants(self, now_s: int) -> list[tuple[str, int]]:
        out = []
        for item in TenantState.due_index.query(keys.DUE_PARTITION, TenantState.due_at <= now_s):
            out.append((item.pk[2:], int(item.due_at)))
        return out

    def set_pending(self, tenant: str, cursor: int, pending: Mapping[str, Any], owner: str) -> None:
        """Register the batch's journal: only from ``cursor``, with none pending, by the lease holder."""
        self._fenced_update(
            tenant,
            [TenantState.pending.set(json.dumps(pending))],
            (TenantState.cursor == cursor) & TenantState.pending.does_not_exist() & (TenantState.lease_owner == owner),
        )

    def commit(self, tenant: str, cursor: int, fields: Mapping[str, Any], owner: str, now_ms: int) -> None:
        """Advance the cursor and clear the pending batch, only from ``cursor`` and only
        by the lease holder, whose lease it renews."""
        actions: list[Action] = [
            TenantState.pending.remove(),
            TenantState.lease_until.set(now_ms + LEASE_MS),
            TenantState.failure.remove(),
            TenantState.failed_at.remove(),
        ]
        for name, value in fields.items():
            attr = getattr(TenantState, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        self._fenced_update(tenant, actions, (TenantState.cursor == cursor) & (TenantState.lease_owner == owner))

    def _fenced_update(self, tenant: str, actions: list[Action], condition: Any) -> None:
        try:
            TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(actions=actions, condition=condition)
        except Exception as exc:  # noqa: BLE001 - PynamoDB wraps the ClientError
            if _conditional_failed(exc):
                raise StaleWriter(f"tenant {tenant!r}: the lease or the cursor moved on; write rejected") from None
            raise

    def reschedule(self, tenant: str, due_at_s: int | None, next_seq: int, data_through: str | None = None) -> bool:
        """Move the tenant's next due time (None: not due) unless new data arrived;
        an idle run also moves ``data_through`` (nothing newer exists) in the same write."""
        action = TenantState.due_at.set(due_at_s) if due_at_s is not None else TenantState.sched.remove()
        actions: list[Action] = [action, TenantState.failure.remove(), TenantState.failed_at.remove()]
        if data_through is not None:
            actions.append(TenantState.data_through.set(data_through))
        if due_at_s is not None:
            actions.append(TenantState.sched.set(keys.DUE_PARTITION))
        try:
            TenantState(keys.tenant_pk(tenant), keys.STATE_SK).update(
                actions=actions, condition=TenantState.next_seq == next_seq
            )
            return True
        except Exception as exc:  # noqa: BLE001
            if _conditional_failed(exc):
                return False
            raise

    # ---- source log -----------------------------------------------------
    def write_log(self, tenant: str, records: Iterable[Mapping[str, Any]], received_us: int) -> None:
        with LogItem.batch_write() as batch:
            for rec in records:
                body = {k: v for k, v in rec.items() if k != "seq"}
                batch.save(LogItem(tenant, rec["seq"], r=json.dumps(body, separators=(",", ":")), at=received_us))

    def read_log(self, tenant: str, after: int, upto: int, limit: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if upto <= after:
            return out
        for item in LogItem.query(
            tenant, LogItem.seq.between(after + 1, upto), limit=limit, page_size=min(limit, 5000)
        ):
            rec = upgrade(json.loads(item.r))
            rec["seq"] = int(item.seq)
            rec["_at"] = int(item.at)
            out.append(rec)
        return out

    def delete_log(self, tenant: str, seqs: Iterable[int]) -> None:
        with LogItem.batch_write() as batch:
            for seq in seqs:
                batch.delete(LogItem(tenant, seq))

    # ---- quarantine -----------------------------------------------------
    def put_quarantine(self, tenant: str, entries: Iterable[Mapping[str, Any]]) -> None:
        """Each entry keeps its reason and raw line for ``cfg.quarantine_ttl_s``, then expires."""
        expires_at = int(time.time()) + self.cfg.quarantine_ttl_s
        with QuarantineItem.batch_write() as batch:
            for e in entries:
                batch.save(
                    QuarantineItem(
                        keys.quarantine_pk(tenant),
                        keys.quarantine_sk(e["received_at"], e["source"], e["line"]),
                        source=e["source"],
                        line=e["line"],
                        field=e["field"],
                        reason=e["reason"],
                        raw=e["raw"],
                        received_at=e["received_at"],
                        expires_at=expires_at,
                    )
                )

    def list_quarantine(self, tenant: str, limit: int = 1000) -> list[dict[str, Any]]:
        items = QuarantineItem.query(keys.quarantine_pk(tenant), scan_index_forward=False, limit=limit)
        return [
            {
                "received_at": q.received_at,
                "source": q.source,
                "line": int(q.line),
                "field": q.field,
                "reason": q.reason,
                "raw": q.raw,
            }
            for q in items
        ]

    # ---- documents --------------------------------------------------------
    def get_docs(self, pk: str, bases: Iterable[str], consistent: bool = True) -> dict[str, tuple[Any, int]]:
        """{base: (document, part count)} for the documents that exist."""
        wanted = list(dict.fromkeys(bases))
        first: dict[tuple[str, str], DocPart] = {}
        for raw in self._batch_get([self._key(pk, keys.part_sk(b, 0)) for b in wanted], consistent):
            part = DocPart.from_raw_data(raw)
            first[(pk, keys.base_of(part.sk))] = part
        rest = self._other_parts(first, consistent)
        return {base: (blobs.decode(_chunks(pk, base, part, rest)), int(part.n)) for (_, base), part in first.items()}

    def _other_parts(self, first: Mapping[tuple[str, str], DocPart], consistent: bool) -> dict[tuple[str, str], bytes]:
        """Every part but part 0 of the documents whose part 0 is in ``first`` ((pk, base) -> part):
        one BatchGetItem for all of them (none when every document is one part)."""
        more = [self._key(pk, keys.part_sk(base, i)) for (pk, base), p in first.items() for i in range(1, int(p.n))]
        return {
            (raw["pk"]["S"], raw["sk"]["S"]): DocPart.from_raw_data(raw).v for raw in self._batch_get(more, consistent)
        }

    def _batch_get(self, wanted: list[dict[str, Any]], consistent: bool = False) -> list[dict[str, Any]]:
        """Raw items of ``wanted`` keys that exist: BatchGetItems of at most 100 keys, retrying
        what DynamoDB leaves unprocessed."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 100):
            table = {"Keys": wanted[start : start + 100], "ConsistentRead": consistent}
            pending: dict[str, Any] = {self.cfg.state_table: table}
            while pending:
                out = self.ddb.batch_get_item(RequestItems=pending)
                items.extend(out["Responses"].get(self.cfg.state_table, []))
                pending = out.get("UnprocessedKeys") or {}
        return items

    def get_state_and_docs(
        self, tenant: str, wanted: Iterable[tuple[str, str]]
    ) -> tuple[TenantState | None, dict[tuple[str, str], Any]]:
        """The tenant state and some (pk, base) documents in one BatchGetItem (the read
        path's single round trip for a preset); extra parts of a large document follow."""
        request = [self._key(keys.tenant_pk(tenant), keys.STATE_SK)]
        request += [self._key(pk, keys.part_sk(b, 0)) for pk, b in wanted]
        items = self._batch_get(request)
        state = None
        first: dict[tuple[str, str], DocPart] = {}
        for raw in items:
            if raw["pk"]["S"] == keys.tenant_pk(tenant) and raw["sk"]["S"] == keys.STATE_SK:
                state = TenantState.from_raw_data(raw)
            else:
                part = DocPart.from_raw_data(raw)
                first[(part.pk, keys.base_of(part.sk))] = part
        rest = self._other_parts(first, consistent=False)  # large documents: one more request for them all
        docs: dict[tuple[str, str], Any] = {}
        for (pk, base), part in first.items():
            try:
                docs[(pk, base)] = blobs.decode(_chunks(pk, base, part, rest))
            except (KeyError, zlib.error, ValueError):  # rewritten between the two reads: read it whole again
                docs[(pk, base)] = self.get_docs(pk, [base], consistent=True)[base][0]
        return state, docs

    def day_docs(
        self, tenant: str, gen: int, sections: Iterable[str], first: date, last: date, consistent: bool = False
    ) -> dict[tuple[str, str], Counter]:
        """Stored day documents of ``sections`` dated in [first, last]: one Query per
        dated section; a cumulative section is its one document, whatever the dates."""
        pk = keys.days_pk(tenant, gen)
        out: dict[tuple[str, str], Counter] = {}
        for section in sections:
            if SECTIONS[section].cumulative:
                base = keys.day_base(section, ALL_DAYS)
                docs = {b: doc for b, (doc, _) in self.get_docs(pk, [base], consistent).items()}
            else:
                low, high = keys.day_base(section, first.isoformat()), keys.day_base(section, last.isoformat())
                docs = self.query_docs(pk, low, high, consistent=consistent)
            for base, doc in docs.items():
                out[(section, base.split("#", 1)[1])] = decode_counter(doc["cells"])
        return out

    def query_docs(self, pk: str, low: str, high: str, consistent: bool = False) -> dict[str, Any]:
        """Documents whose base lies in [low, high] (sort-key order)."""
        grouped: dict[str, list[DocPart]] = {}
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.state_table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={":pk": {"S": pk}, ":low": {"S": low}, ":high": {"S": high + "\x7f"}},
            ConsistentRead=consistent,
        )
        for page in pages:
            for raw in page["Items"]:
                part = DocPart.from_raw_data(raw)
                grouped.setdefault(keys.base_of(part.sk), []).append(part)
        out = {}
        for base, parts in grouped.items():
            n = int(parts[0].n)
            out[base] = blobs.decode([p.v for p in parts[:n]])
        return out

    def part_counts(self, pk: str) -> dict[str, int]:
        """{base: part count} of every document stored under ``pk`` (one Query, keys and
        counts only): what a rewrite of the whole partition must delete if it does not rewrite."""
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.state_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="sk, #n",
            ExpressionAttributeNames={"#n": "n"},
            ConsistentRead=True,
        )
        out: dict[str, int] = {}
        for page in pages:
            for raw in page["Items"]:
                sk = raw["sk"]["S"]
                base, index = keys.base_of(sk), keys.part_of(sk)
                out[base] = max(out.get(base, 0), index + 1, int(raw.get("n", {}).get("N", 1)))
        return out

    def put_docs(
        self, pk: str, docs: Mapping[str, Any], old_parts: Mapping[str, int] | None = None, batch: int | None = None
    ) -> int:
        """Write documents (idempotent); drop tails left by a larger old version, and the
        whole of an old one absent from ``docs``.
        Returns the bytes written. With ``batch``, every write is fenced: conditional on
        no later batch having written the item, so a stale runner is rejected."""
        if batch is not None:
            return self._put_docs_fenced(pk, docs, old_parts or {}, batch)
        written = 0
        old_parts = old_parts or {}
        with DocPart.batch_write() as writer:
            for base in dict.fromkeys([*docs, *old_parts]):  # a base only in old_parts: deleted
                chunks = blobs.encode(docs[base]) if base in docs else []
                for i, chunk in enumerate(chunks):
                    writer.save(DocPart(pk, keys.part_sk(base, i), n=len(chunks), v=chunk))
                    written += len(chunk)
                for i in range(len(chunks), old_parts.get(base, 0)):
                    writer.delete(DocPart(pk, keys.part_sk(base, i)))
        return written

    def _put_docs_fenced(self, pk: str, docs: Mapping[str, Any], old_parts: Mapping[str, int], batch: int) -> int:
        written = 0
        fence = {
            "ConditionExpression": "attribute_not_exists(b) OR b <= :b",
            "ExpressionAttributeValues": {":b": {"N": str(batch)}},
        }
        common = {"TableName": self.cfg.state_table, **fence}
        calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        for base in dict.fromkeys([*docs, *old_parts]):  # a base only in old_parts: deleted
            chunks = blobs.encode(docs[base]) if base in docs else []
            for i, chunk in enumerate(chunks):
                item = {**self._key(pk, keys.part_sk(base, i)), "n": {"N": str(len(chunks))}, "v": {"B": chunk}}
                calls.append((self.ddb.put_item, {**common, "Item": {**item, "b": {"N": str(batch)}}}))
                written += len(chunk)
            for i in range(len(chunks), old_parts.get(base, 0)):
                calls.append((self.ddb.delete_item, {**common, "Key": self._key(pk, keys.part_sk(base, i))}))
        try:
            self._run_calls(calls)
        except ClientError as exc:
            if _conditional_failed(exc):
                raise StaleWriter(f"{pk}: a later batch than {batch} wrote it; write rejected") from None
            raise
        return written

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

    def delete_generation(self, tenant: str, gen: int) -> int:
        """Every document of one generation (its directory included)."""
        count = sum(self.delete_partition(pk) for pk in keys.generation_pks(tenant, gen))
        base = keys.directory_base(gen)
        directory = self.get_docs(keys.tenant_pk(tenant), [base])
        if directory:
            self.put_docs(keys.tenant_pk(tenant), {}, {base: directory[base][1]})
            count += directory[base][1]
        return count

    def delete_partition(self, pk: str) -> int:
        count = 0
        with DocPart.batch_write() as batch:
            for item in DocPart.query(pk, attributes_to_get=["pk", "sk"]):
                batch.delete(DocPart(pk, item.sk))
                count += 1
        return count

    def iter_docs(self, pk: str) -> Iterator[tuple[str, Any]]:
        grouped: dict[str, list[DocPart]] = {}
        for part in DocPart.query(pk):
            grouped.setdefault(keys.base_of(part.sk), []).append(part)
        for base, parts in grouped.items():
            yield base, blobs.decode([p.v for p in parts[: int(parts[0].n)]])

    # ---- S3 and SQS -------------------------------------------------------
    def put_journal(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.cfg.bucket, Key=key, Body=body)

    def get_journal(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.cfg.bucket, Key=key)["Body"].read()

    def delete_journal(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.cfg.bucket, Key=key)

    def settle_journals(self, tenant: str, key: str) -> None:
        """Delete a committed journal and any other of the tenant's (a crashed or overtaken
        attempt's, never referenced once this commit landed): journals never expire by
        lifecycle, since a pending one must outlive any outage, so nothing else removes them.
        Called under the lease, after the commit: no live runner has a journal pending."""
        listed = self.s3.list_objects_v2(Bucket=self.cfg.bucket, Prefix=keys.journal_prefix(tenant), MaxKeys=1000)
        doomed = {key} | {o["Key"] for o in listed.get("Contents", [])}
        if len(doomed) == 1:
            self.delete_journal(key)
            return
        self.s3.delete_objects(
            Bucket=self.cfg.bucket, Delete={"Objects": [{"Key": k} for k in sorted(doomed)], "Quiet": True}
        )

    def get_incoming(self, bucket: str, key: str, etag: str | None = None) -> dict[str, Any] | None:
        """An incoming object (its streaming body, ETag and size); with ``etag``, only that
        version: None if it was replaced or deleted since (its own event covers the new one)."""
        try:
            return self.s3.get_object(Bucket=bucket, Key=key, **({"IfMatch": etag} if etag else {}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "NoSuchKey", "412", "404"):
                return None
            raise

    def send_checkpoint(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.cfg.ingest_queue_url, MessageBody=body)

    def enqueue(self, tenant: str, reason: str, dedup: str, refresh_id: str | None = None) -> None:
        body: dict[str, Any] = {"tenant_id": tenant, "reason": reason}
        if refresh_id:
            body["refresh_id"] = refresh_id
        self.sqs.send_message(
            QueueUrl=self.cfg.queue_url,
            MessageBody=json.dumps(body),
            MessageGroupId=tenant,
            MessageDeduplicationId=dedup[:128],
        )

    def enqueue_many(self, due: Iterable[tuple[str, str]], reason: str) -> list[str]:
        """Enqueue (tenant, dedup) pairs, ten to a SendMessageBatch (the scheduler's fan-out);
        returns the tenants whose entry SQS refused. They stay due: the next tick sends again."""
        failed: list[str] = []
        pending = list(due)
        for start in range(0, len(pending), SQS_BATCH):
            chunk = pending[start : start + SQS_BATCH]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"tenant_id": tenant, "reason": reason}),
                    "MessageGroupId": tenant,
                    "MessageDeduplicationId": dedup[:128],
                }
                for i, (tenant, dedup) in enumerate(chunk)
            ]
            out = self.sqs.send_message_batch(QueueUrl=self.cfg.queue_url, Entries=entries)
            failed += [chunk[int(f["Id"])][0] for f in out.get("Failed", [])]
        return failed

    # ---- manual refreshes ---------------------------------------------------
    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def put_refresh(self, tenant: str, record: Mapping[str, Any]) -> None:
        item = {k: _SER.serialize(v) for k, v in record.items() if v is not None}
        item.update(self._key(keys.refresh_pk(tenant), record["refresh_id"]))
        self.ddb.put_item(TableName=self.cfg.state_table, Item=item)

    def get_refresh(self, tenant: str, refresh_id: str) -> dict[str, Any] | None:
        out = self.ddb.get_item(
            TableName=self.cfg.state_table, Key=self._key(keys.refresh_pk(tenant), refresh_id), ConsistentRead=True
        )
        item = out.get("Item")
        if not item:
            return None
        return {k: _plain(_DESER.deserialize(v)) for k, v in item.items() if k not in ("pk", "sk")}

    def update_refresh(self, tenant: str, refresh_id: str, fields: Mapping[str, Any], only_open: bool = False) -> bool:
        """Set fields of an existing refresh record (never recreates an expired one);
        ``only_open``: only while it is queued or running. False if nothing changed."""
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": _SER.serialize(v) for i, v in enumerate(fields.values())}
        condition = "attribute_exists(pk)"
        if only_open:
            condition += " AND #status IN (:queued, :running)"
            names["#status"] = "status"
            values.update({":queued": {"S": "queued"}, ":running": {"S": "running"}})
        try:
            self.ddb.update_item(
                TableName=self.cfg.state_table,
                Key=self._key(keys.refresh_pk(tenant), refresh_id),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            return False

    def delete_refresh(self, tenant: str, refresh_id: str) -> None:
        self.ddb.delete_item(TableName=self.cfg.state_table, Key=self._key(keys.refresh_pk(tenant), refresh_id))

    def claim_refresh(self, tenant: str, refresh_id: str, now_s: int, cooldown_s: int, stale_s: int) -> bool:
        """Atomically make ``refresh_id`` the tenant's active refresh, unless one is
        active (and not stale) or the cool-down since the last one has not passed."""
        try:
            self.ddb.update_item(
                TableName=self.cfg.state_table,
                Key=self._key(keys.tenant_pk(tenant), keys.STATE_SK),
                UpdateExpression="SET active_refresh = :id, active_since = :now",
                ConditionExpression="(attribute_not_exists(active_refresh) OR active_since < :stale) AND "
                "(attribute_not_exists(last_refresh_done) OR last_refresh_done <= :cool)",
                ExpressionAttributeValues={
                    ":id": {"S": refresh_id},
                    ":now": {"N": str(now_s)},
                    ":stale": {"N": str(now_s - stale_s)},
                    ":cool": {"N": str(now_s - cooldown_s)},
                },
            )
            return True
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise

    def release_refresh(self, tenant: str, refresh_id: str, done_at_s: int | None) -> None:
        """Clear the active refresh if it is still ``refresh_id``; a success starts the cool-down."""
        update = "REMOVE active_refresh, active_since"
        values: dict[str, Any] = {":id": {"S": refresh_id}}
        if done_at_s is not None:
            update = "SET last_refresh_done = :done " + update
            values[":done"] = {"N": str(done_at_s)}
        try:
            self.ddb.update_item(
                TableName=self.cfg.state_table,
                Key=self._key(keys.tenant_pk(tenant), keys.STATE_SK),
                UpdateExpression=update,
                ConditionExpression="active_refresh = :id",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    # ---- the cost ledger ------------------------------------------------------
    def add_costs(self, tenant: str, day: str, counters: Mapping[str, float]) -> None:
        """ADD the counters to the tenant's item of the day (atomic, commutative)."""
        fields = {k: v for k, v in counters.items() if v}
        if not fields:
            return
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values: dict[str, Any] = {f":v{i}": {"N": str(decimal(v))} for i, v in enumerate(fields.values())}
        values[":t"], values[":d"] = {"S": tenant}, {"S": day}
        self.ddb.update_item(
            TableName=self.cfg.state_table,
            Key=self._key(keys.costs_pk(day[:7]), keys.costs_sk(tenant, day)),
            UpdateExpression="SET tenant_id = :t, #day = :d ADD "
            + ", ".join(f"#f{i} :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames={**names, "#day": "day"},
            ExpressionAttributeValues=values,
        )

    def month_costs(self, month: str) -> list[dict[str, Any]]:
        """Every tenant's ledger items of a month (one Query, paged)."""
        out = []
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.state_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.costs_pk(month)}},
        )
        for page in pages:
            for item in page["Items"]:
                out.append({k: _plain(_DESER.deserialize(v)) for k, v in item.items() if k not in ("pk", "sk")})
        return out


_SER, _DESER = TypeSerializer(), TypeDeserializer()


def _chunks(pk: str, base: str, first: DocPart, rest: Mapping[tuple[str, str], bytes]) -> list[bytes]:
    """A document's stored parts in order (KeyError if one is missing)."""
    return [first.v] + [rest[(pk, keys.part_sk(base, i))] for i in range(1, int(first.n))]


def _in_context(ctx: contextvars.Context, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return ctx.run(fn, **kwargs)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_DEFAULT: Store | None = None


def default_store() -> Store:
    """The process-wide Store for a Lambda, built from the environment on first use
    (after the handler module loads, so tests and the local stack can set it)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Store(Config.from_env())
    return _DEFAULT
