"""An audit of a tenant's day documents: counted again from its log (``domain/recount``)
and compared with the ones the aggregator keeps incrementally.

The aggregator's invariant -- its day documents equal a build from the log's latest
versions alone -- is proven by the property tests; the audit checks it on the stored data,
where a lost write, a bug of a past release or a hand-edited item would otherwise stay
silent. It reads the state, the whole log up to the cursor and the generation's day
documents; if the cursor, the generation or a pending batch moved meanwhile, it reads again.
It writes nothing: ``mediana audit --rebuild`` asks for a rebuild of a tenant that drifted.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from mediana.domain.cells import decode_counter
from mediana.domain.contrib import DayKey
from mediana.domain.recount import Drift, drifts, recount_days
from mediana.domain.sections import Counter
from mediana.storage import keys
from mediana.storage.store import Store, TenantState

SAME, DRIFT, NOT_NOW = "same", "drift", "not-now"


@dataclass
class AuditResult:
    tenant: str
    status: str  # SAME, DRIFT, or NOT_NOW (with ``reason``)
    reason: str = ""
    gen: int = 0
    cursor: int = 0
    tz: str = "UTC"
    records: int = 0  # log records read
    days_stored: int = 0
    days_counted: int = 0
    drifts: list[Drift] = field(default_factory=list)
    read_seconds: float = 0.0
    count_seconds: float = 0.0


def _mark(state: TenantState | None) -> tuple[Any, ...]:
    """What must not move while the audit reads: a batch or a switch in between would mix
    two cursors' documents."""
    if state is None:
        return (None,)
    return (state.cursor, state.gen, state.pending, state.live, state.tz, state.batch)


def audit_tenant(store: Store, tenant: str, attempts: int = 3) -> AuditResult:
    for _ in range(attempts):
        state = store.get_state(tenant)
        if state is None or not int(state.cursor or 0):
            return AuditResult(tenant, NOT_NOW, "nothing aggregated yet")
        if state.live or state.pending:
            why = "a rebuild is running" if state.live else "a batch is being applied"
            return AuditResult(tenant, NOT_NOW, f"{why}: audit it once it ends")
        result = AuditResult(tenant, SAME, gen=int(state.gen or 0), cursor=int(state.cursor), tz=state.tz or "UTC")
        started = time.perf_counter()
        texts = store.log_texts(tenant, result.cursor)
        try:
            stored = _stored_days(store, keys.days_pk(tenant, result.gen))
        except (KeyError, zlib.error, ValueError) as exc:
            return AuditResult(tenant, NOT_NOW, f"a day document does not decode ({exc}): the aggregator heals it")
        if _mark(store.get_state(tenant)) != _mark(state):
            continue  # a batch committed while we read: read again
        result.read_seconds = time.perf_counter() - started
        started = time.perf_counter()
        counted = recount_days(texts, result.tz)
        result.count_seconds = time.perf_counter() - started
        result.records, result.days_stored, result.days_counted = len(texts), len(stored), len(counted)
        result.drifts = drifts(stored, counted)
        result.status = DRIFT if result.drifts else SAME
        return result
    return AuditResult(tenant, NOT_NOW, f"the tenant's state moved during {attempts} reads: audit it later")


def _stored_days(store: Store, pk: str) -> dict[DayKey, Counter]:
    out: dict[DayKey, Counter] = {}
    for base, doc in store.iter_docs(pk):
        section, day = base.split("#", 1)
        cells = decode_counter(doc["cells"])
        if cells:
            out[(section, day)] = cells
    return out
