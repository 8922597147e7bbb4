"""The scheduler's fan-out: enqueue every tenant with work due. Kept apart from the
aggregator (no pandas anywhere below it): the scheduler function has no pandas layer."""

from __future__ import annotations

from dataclasses import dataclass

from mediana.domain.timeutil import now_us
from mediana.storage.store import Store


@dataclass(frozen=True)
class Tick:
    enqueued: list[str]
    refused: list[str]  # SQS refused their entry: still due, sent again at the next tick


def schedule(store: Store, now_s: int | None = None) -> Tick:
    """Enqueue every tenant with work due (new data, a rebuild, a local midnight):
    one Query of the sparse due index, then ten messages to a request."""
    now_s = now_s if now_s is not None else now_us() // 1_000_000
    due = store.due_tenants(now_s)
    refused = store.enqueue_many([(tenant, f"{tenant}:{due_at}") for tenant, due_at in due], "schedule")
    failed = set(refused)
    return Tick([tenant for tenant, _ in due if tenant not in failed], refused)
