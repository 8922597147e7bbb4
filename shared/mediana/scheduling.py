"""The scheduler's fan-out: enqueue every tenant with work due. Kept apart from the
aggregator (no pandas anywhere below it): the scheduler function has no pandas layer."""

from __future__ import annotations

from mediana.store import Store
from mediana.timeutil import now_us


def schedule(store: Store, now_s: int | None = None) -> list[str]:
    """Enqueue every tenant with work due (new data, a rebuild, a local midnight):
    one Query of the sparse due index, one message per due tenant."""
    now_s = now_s if now_s is not None else now_us() // 1_000_000
    enqueued = []
    for tenant, due_at in store.due_tenants(now_s):
        store.enqueue(tenant, "schedule", f"{tenant}:{due_at}")
        enqueued.append(tenant)
    return enqueued
