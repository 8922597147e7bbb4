"""The PynamoDB models of the state and log tables, and the errors a fenced write raises."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from mediana.config import Config


class StaleWriter(Exception):
    """This runner was overtaken (its lease taken over, or a newer batch wrote the item):
    its write was rejected by DynamoDB, never applied."""


class TenantBusy(Exception):
    """Another runner holds the tenant's aggregation lease."""

    def __init__(self, tenant: str, until_ms: int) -> None:
        super().__init__(f"tenant {tenant!r} is being aggregated by another runner (lease until {until_ms} ms)")
        self.until_ms = until_ms


def conditional_failed(exc: BaseException) -> bool:
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
    layout = NumberAttribute(null=True)  # how the building generation was folded (generations.LAYOUT)
    damaged_since = NumberAttribute(null=True)  # epoch s: the aggregator met a damaged item (services/damage)
    damaged_item = UnicodeAttribute(null=True)  # which one, and why it does not decode
    damaged_key = UnicodeAttribute(null=True)  # JSON [pk, base]: where to read it again
    healed_at = NumberAttribute(null=True)  # epoch s: the last rebuild that mended damage
    audit_due_at = NumberAttribute(null=True)  # epoch s: when the aggregator next audits it (services/audit)
    audited_cursor = NumberAttribute(null=True)  # the cursor its last audit checked
    last_audit = UnicodeAttribute(null=True)  # JSON: when, at which cursor, what it found
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


# each PynamoDB model and which table it lives in (bound to the configuration by bind)
MODEL_TABLES: dict[type[Model], str] = {TenantState: "state", DocPart: "state", QuarantineItem: "state", LogItem: "log"}


def bind(cfg: Config) -> None:
    """Point the models at this configuration's tables and endpoint. PynamoDB
    reads Meta at first use, so this runs before any call and resets connections."""
    for model, which in MODEL_TABLES.items():
        model.Meta.table_name = cfg.state_table if which == "state" else cfg.log_table
        model.Meta.host = cfg.endpoint
        model.Meta.region = cfg.region
        model._connection = None
