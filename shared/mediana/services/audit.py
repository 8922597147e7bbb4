"""An audit of a tenant's day documents: counted again from its log (``domain/recount``)
and compared with the ones the aggregator keeps incrementally; then of its preset buckets,
what readers answer from, against the presets those counted days give (``domain/preset_drift``).

The aggregator's invariant -- its day documents equal a build from the log's latest
versions alone -- is proven by the property tests; the audit checks it on the stored data,
where a lost write, a bug of a past release or a hand-edited item would otherwise stay
silent. It reads the state, the whole log up to the cursor and the generation's day
documents and preset items; if the cursor, the generation or a pending batch moved
meanwhile, it reads again.
``audit_tenant`` writes nothing: ``mediana audit --rebuild`` asks for a rebuild of a tenant
that drifted.

The aggregator audits on its own too (``audit_under_lease``): a tenant with new data since
its last audit, ``audit_every_s`` after it (a week), once it is caught up, under its lease --
so nothing moves while it reads. A drift of the days logs them and starts the rebuild that
mends it (``DriftedDays``, alarmed). A drift of the presets alone (``DriftedPresets``, alarmed)
sends readers to the day documents at once and has the presets rebuilt from them by the same
run: their mark is cleared, as at a day roll, so every bucket is written again. The first
audit falls due ``audit_every_s`` after the first batch; an idle tenant is woken for an audit
it owes, and costs nothing once audited.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from mediana.domain.cells import decode_counter
from mediana.domain.contrib import DayKey
from mediana.domain.preset_drift import PresetDrift, preset_drifts
from mediana.domain.presets import build_presets
from mediana.domain.recount import Drift, count_days, drifts, log_columns
from mediana.domain.sections import Counter
from mediana.services import rebuilds
from mediana.services.preset_items import presets_day
from mediana.storage import keys
from mediana.storage.store import Store, TenantState

SAME, DRIFT, NOT_NOW = "same", "drift", "not-now"
UNREADABLE = "a stored document does not decode"  # a NOT_NOW the aggregator heals first (services/damage)
DAMAGED_LOG = "a log record does not decode"


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
    presets_day: str | None = None  # the day the stored presets are for (None: not in today's shape, not checked)
    presets_stored: int = 0
    preset_drifts: list[PresetDrift] = field(default_factory=list)
    read_seconds: float = 0.0
    count_seconds: float = 0.0


def _mark(state: TenantState | None) -> tuple[Any, ...]:
    """What must not move while the audit reads: a batch or a switch in between would mix
    two cursors' documents."""
    if state is None:
        return (None,)
    return (state.cursor, state.gen, state.pending, state.live, state.tz, state.batch)


def audit_tenant(store: Store, tenant: str, attempts: int = 3) -> AuditResult:
    """The stored day documents of the tenant's generation against their recount from the
    log at the same cursor, and its preset buckets against the presets of those counted days;
    NOT_NOW, with the reason, when that cannot be read consistently."""
    for _ in range(attempts):
        state = store.get_state(tenant)
        if state is None or not int(state.cursor or 0):
            return AuditResult(tenant, NOT_NOW, "nothing aggregated yet")
        if state.live or state.pending:
            why = "a rebuild is running" if state.live else "a batch is being applied"
            return AuditResult(tenant, NOT_NOW, f"{why}: audit it once it ends")
        result = AuditResult(tenant, SAME, gen=int(state.gen or 0), cursor=int(state.cursor), tz=state.tz or "UTC")
        started = time.perf_counter()
        try:  # read into columns page by page: one page's strings at a time (domain/recount)
            log = log_columns(store.log_pages(tenant, result.cursor))
        except (ValueError, TypeError) as exc:  # a log record damaged at rest: a rebuild quarantines it
            return AuditResult(tenant, NOT_NOW, f"{DAMAGED_LOG}: {exc}"[:500])
        try:
            stored = _stored_days(store, keys.days_pk(tenant, result.gen))
            presets = dict(store.iter_docs(keys.presets_pk(tenant, result.gen), marked=True))  # rolled again
        except (KeyError, zlib.error, ValueError) as exc:
            return AuditResult(tenant, NOT_NOW, f"{UNREADABLE} ({exc}): the aggregator heals it")
        if _mark(store.get_state(tenant)) != _mark(state):
            continue  # a batch committed while we read: read again
        result.read_seconds = time.perf_counter() - started
        started = time.perf_counter()
        try:
            counted = count_days(log, result.tz)
        except (ValueError, TypeError) as exc:  # a tied version damaged at rest, read as a record only here
            return AuditResult(tenant, NOT_NOW, f"{DAMAGED_LOG}: {exc}"[:500])
        result.records, result.days_stored, result.days_counted = log.rows, len(stored), len(counted)
        result.drifts = drifts(stored, counted)
        day = presets_day(state)
        if day is not None:
            built = build_presets(day, counted, apart=day)  # the reference sum, not the writer's vectorised one
            expected = {keys.preset_base(*key): (key, s.cur, s.prev) for key, s in built.items()}
            result.presets_day, result.presets_stored = day.isoformat(), len(presets)
            result.preset_drifts = preset_drifts(presets, expected, day)
        result.count_seconds = time.perf_counter() - started
        result.status = DRIFT if result.drifts or result.preset_drifts else SAME
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


def due(state: TenantState, now_s: int) -> bool:
    """Is an audit owed now: new data since the last one, and its time has come."""
    owed = int(state.cursor or 0) > int(state.audited_cursor or 0) and state.audit_due_at is not None
    return owed and now_s >= int(state.audit_due_at) and not state.live


def first_due_fields(state: TenantState, now_s: int, every_s: int) -> dict[str, Any]:
    """Set with a batch's commit: the first audit falls due a period after the first batch."""
    return {} if state.audit_due_at is not None else {"audit_due_at": now_s + every_s}


def wake_at(state: TenantState, other_s: int | None) -> int | None:
    """When an idle tenant must run next: ``other_s``, or sooner for an audit it owes."""
    if state.audit_due_at is None or int(state.cursor or 0) <= int(state.audited_cursor or 0):
        return other_s
    return min(int(state.audit_due_at), other_s) if other_s is not None else int(state.audit_due_at)


def audit_under_lease(store: Store, tenant: str, state: TenantState, owner: str, now_s: int) -> AuditResult:
    """The aggregator's audit of a caught-up tenant it holds: notes what it found; on a
    drift, starts the rebuild from the log that mends it (the same fenced commit)."""
    cfg = store.cfg
    if int(state.cursor or 0) > cfg.audit_max_records:  # one run's memory holds ~this many records
        result = AuditResult(tenant, NOT_NOW, f"the log is past {cfg.audit_max_records} records: not audited")
    else:
        result = audit_tenant(store, tenant, attempts=1)
    summary = {k: v for k, v in asdict(result).items() if k not in ("drifts", "preset_drifts", "read_seconds",
                                                                    "count_seconds")}  # fmt: skip
    summary.update(at=now_s, days_drifted=len(result.drifts), drifts=[asdict(d) for d in result.drifts[:3]],
                   presets_drifted=len(result.preset_drifts),
                   preset_drifts=[asdict(d) for d in result.preset_drifts[:3]])  # fmt: skip
    retry = result.status == NOT_NOW and result.reason.startswith(UNREADABLE)  # healed first: still owed tomorrow
    fields = {
        "audited_cursor": int(state.audited_cursor or 0) if retry else int(state.cursor or 0),
        "audit_due_at": now_s + (min(cfg.audit_every_s, 86_400) if retry else cfg.audit_every_s),
        "last_audit": json.dumps(summary, default=list),
    }
    if result.drifts:
        rebuilds.reset(store, tenant, state, rebuilds.current_pin(store, tenant, state), owner, extra=fields)
    elif result.preset_drifts:  # readers sum the days meanwhile; the run rolls the presets again
        store.note_fields(tenant, {**fields, "presets_as_of": None}, owner)
    else:
        store.note_fields(tenant, fields, owner)
    return result
