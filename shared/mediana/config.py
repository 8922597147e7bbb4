"""Runtime configuration from the environment (names set by template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    state_table: str
    log_table: str
    bucket: str
    queue_url: str
    region: str
    endpoint: str | None  # AWS_ENDPOINT_URL: a moto server locally, None on AWS
    idempotency_table: str = "mediana-idempotency"
    refresh_cooldown_s: int = 300
    refresh_max_receives: int = 5
    refresh_ttl_s: int = 7 * 86400
    quarantine_ttl_s: int = 90 * 86400  # a rejected line stays listable this long, then DynamoDB's TTL drops it
    write_threads: int = 8  # fenced document writes in flight at once (1: one after another)
    ingest_queue_url: str = ""  # checkpoints of objects an ingest invocation could not finish
    finance_tenant: str = "ops"  # the operator's tenant: the only one whose finance role reads costs
    heal_after_s: int = 900  # a damaged item still there this long after it was met: rebuild (services/damage)
    heal_every_s: int = 86_400  # damage again this soon after such a rebuild: fail, park and alarm instead
    audit_every_s: int = 604_800  # a tenant with new data is audited this long after its last audit
    # a larger log is not audited in one run: ~1.2 KB a record at the recount's peak, read page
    # by page, in the aggregator's 2048 MB (services/audit; 168 k records: +196 MB, +275 MB whole)
    audit_max_records: int = 1_000_000

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            state_table=os.environ.get("STATE_TABLE", "mediana-state"),
            log_table=os.environ.get("LOG_TABLE", "mediana-log"),
            bucket=os.environ.get("DATA_BUCKET", "mediana-data"),
            queue_url=os.environ.get("REFRESH_QUEUE_URL", ""),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint=os.environ.get("AWS_ENDPOINT_URL") or None,
            idempotency_table=os.environ.get("IDEMPOTENCY_TABLE", "mediana-idempotency"),
            refresh_cooldown_s=env_int("REFRESH_COOLDOWN_SECONDS", 300),
            refresh_max_receives=env_int("REFRESH_MAX_RECEIVES", 5),
            refresh_ttl_s=env_int("REFRESH_TTL_SECONDS", 7 * 86400),
            quarantine_ttl_s=env_int("QUARANTINE_TTL_SECONDS", 90 * 86400),
            write_threads=env_int("MEDIANA_WRITE_THREADS", 8),
            ingest_queue_url=os.environ.get("INGEST_QUEUE_URL", ""),
            finance_tenant=os.environ.get("FINANCE_TENANT_ID", "ops"),
            heal_after_s=env_int("HEAL_AFTER_SECONDS", 900),
            heal_every_s=env_int("HEAL_EVERY_SECONDS", 86_400),
            audit_every_s=env_int("AUDIT_EVERY_SECONDS", 604_800),
            audit_max_records=env_int("AUDIT_MAX_RECORDS", 1_000_000),
        )

    @property
    def trust_reported_capacity(self) -> bool:
        """AWS's ConsumedCapacity is real; a local stand-in's (moto: a constant) is not."""
        return self.endpoint is None


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default
