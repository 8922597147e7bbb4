"""The aggregator service: pull a tenant's delta, fold it, write report items.

Crash safety: each batch is computed in full, written as a journal to S3 and
marked pending on the tenant (conditional on the cursor), then applied with
idempotent puts and committed by advancing the cursor. A redelivered or retried
message finds the pending journal and replays it, so no batch is half-applied
or applied twice. Large deltas are cut into batches and, when the Lambda's time
runs low, continued in a next message. The preset items a batch writes are worked out in
``preset_items``.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from mediana.domain.batch import compute_batch, merge_days
from mediana.domain.cells import decode_counter, encode_counter
from mediana.domain.collector import collector_paused
from mediana.domain.poison import PoisonRecords, isolate
from mediana.domain.timeutil import format_us, local_today, now_us
from mediana.domain.versions import newer
from mediana.services import audit, damage, rebuilds
from mediana.services.batch_load import journal_entry, load_batch, stored_directory
from mediana.services.preset_items import presets_mark, presets_to_write
from mediana.storage import generations, keys
from mediana.storage.documents import DamagedItem
from mediana.storage.log import UndecodableLogRecords
from mediana.storage.state_fields import object_or_none, pending_key
from mediana.storage.store import US, Store, TenantState

MAX_BATCH_RECORDS = 20_000
TIME_MARGIN_MS = 120_000  # stop starting batches when less than this is left


@dataclass
class RefreshReport:
    tenant_id: str
    idle: bool = True
    batches: int = 0
    records: int = 0
    contacts: int = 0
    days_written: int = 0
    presets_written: int = 0
    bytes_written: int = 0
    rebuilt: bool = False
    quarantined: int = 0  # records whose aggregation raised, moved to the quarantine
    continued: bool = False
    damaged: str | None = None  # a stored item it could not decode, waiting to be healed (services/damage)
    healed: bool = False  # a rebuild started to mend a damaged item
    audit: str | None = None  # the status of the audit this run made (services/audit)
    days_drifted: int = 0  # day documents that differed from their recount (then rebuilt)
    presets_drifted: int = 0  # preset buckets that differed from their counted days' (then rolled again)
    resumed: bool = False
    cursor: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _doc_of_day(cells: dict[Any, int]) -> dict[str, Any]:
    return {"cells": encode_counter(cells)}


def _apply(store: Store, tenant: str, journal: dict[str, Any]) -> int:
    """Idempotent: every write is a full-content put or a delete, fenced by the
    journal's batch number (a later batch's items are never overwritten)."""
    written = 0
    gen = int(journal.get("gen", 0))
    for pk, name in zip(keys.generation_pks(tenant, gen), keys.GENERATION_DOCS, strict=True):
        written_here = journal.get(name, {})  # journals older than interaction routes have none
        docs = {base: pair[0] for base, pair in written_here.items() if pair[0] is not None}  # None: delete
        olds = {base: pair[1] for base, pair in written_here.items()}
        written += store.put_docs(pk, docs, olds, batch=journal["batch"])
    if journal.get("directory"):
        doc, old = journal["directory"]
        base = keys.directory_base(gen)
        written += store.put_docs(keys.tenant_pk(tenant), {base: doc}, {base: old}, batch=journal["batch"])
    store.write_log(tenant, journal.get("log_stamps", []), now_us())  # older journals have none
    store.delete_log(tenant, journal["log_deletes"])
    return written


def _finish(store: Store, tenant: str, journal: dict[str, Any], key: str, owner: str) -> int:
    written = _apply(store, tenant, journal)
    store.commit(tenant, journal["from_cursor"], journal["fields"], owner, now_us() // 1000)
    store.settle_journals(tenant, key)
    return written


def _resume(store: Store, tenant: str, state: TenantState, owner: str) -> int:
    key = str(pending_key(state.pending))  # DamagedItem when it does not decode: a rebuild replaces the batch
    return _finish(store, tenant, store.get_journal(key), key, owner)


def _one_batch(
    store: Store,
    tenant: str,
    state: TenantState,
    delta: list[dict[str, Any]],
    horizon: int,
    data_through: int,
    owner: str,
    final: bool,
) -> tuple[RefreshReport, dict[str, Any] | None]:
    """Returns (figures, the tenant record whose new time zone needs a rebuild). The
    ``final`` batch of a rebuild switches readers to its generation in the commit itself."""
    report = RefreshReport(tenant, idle=False, batches=1, records=len(delta))
    tz = state.tz or "UTC"
    gen = generations.building_gen(state)
    directory, directory_parts = stored_directory(store, tenant, gen)
    winner = rebuilds.winning_tenant(delta, directory)
    if winner is not None and rebuilds.zone_of(winner) != tz:
        if int(state.cursor or 0) > 0 or state.presets_as_of:
            return report, winner
        pin = object_or_none(state.tz_pin)
        if pin is None or newer(winner, pin):
            tz = rebuilds.zone_of(winner)  # nothing stored yet under the old zone: adopt it
        # else: older than the record this generation's zone was pinned to (a replay
        # meets the versions it superseded): a later batch brings the pinned one
    loaded, stored = load_batch(store, tenant, gen, delta, directory)
    try:
        result = compute_batch(delta, loaded, tz)
    except Exception:
        # nothing is written yet: find the records that fail alone, on fresh loads
        bad = isolate(delta, lambda recs: compute_batch(recs, load_batch(store, tenant, gen, recs, directory)[0], tz))
        if not bad:
            raise
        raise PoisonRecords(bad) from None
    report.contacts = len(result.outcome.worlds)

    day_bases = {keys.day_base(s, d): (s, d) for s, d in result.day_delta}
    old_days = store.get_docs(keys.days_pk(tenant, gen), day_bases)
    old_cells = {day_bases[b]: decode_counter(doc["cells"]) for b, (doc, _) in old_days.items()}
    new_days = merge_days(old_cells, result.day_delta)
    today = local_today(tz)
    presets = presets_to_write(store, tenant, state, today, new_days, result.day_delta)

    cursor = int(state.cursor or 0)
    batch_no = int(state.batch or 0) + 1
    computed = now_us()
    journal = {
        "batch": batch_no,
        "gen": gen,
        "from_cursor": cursor,
        "worlds": journal_entry(loaded.worlds, stored["worlds"], result.outcome.worlds),
        "routes": journal_entry(loaded.routes, stored["routes"], result.outcome.routes),
        "int_routes": journal_entry(loaded.int_routes, stored["int_routes"], result.outcome.int_routes),
        "msg_routes": journal_entry(loaded.msg_routes, stored["msg_routes"], result.outcome.msg_routes),
        "days": {
            keys.day_base(s, d): [_doc_of_day(cells), old_days.get(keys.day_base(s, d), (None, 0))[1]]
            for (s, d), cells in new_days.items()
        },
        "presets": {base: [doc, old] for base, (doc, old) in presets.items()},
        "directory": [loaded.directory, directory_parts] if result.outcome.directory else None,
        "log_deletes": sorted(result.outcome.log_deletes),
        "log_stamps": list(result.outcome.log_stamps.values()),
        "fields": {
            "cursor": horizon,
            "batch": batch_no,
            "tz": tz,
            "data_through": format_us(data_through),
            "computed_at": format_us(computed),
            "presets_as_of": presets_mark(today),
            **generations.layout_fields(state),
            **audit.first_due_fields(state, computed // US, store.cfg.audit_every_s),
            **(generations.switch_fields(state, computed // US) if final else {}),
        },
    }
    report.days_written = len(new_days)
    report.presets_written = sum(doc is not None for doc, _ in presets.values())
    key = keys.journal_key(tenant, batch_no, owner)  # per attempt: a rival never overwrites it
    store.put_journal(key, gzip.compress(json.dumps(journal, separators=(",", ":")).encode(), 5))
    store.set_pending(tenant, cursor, {"batch": batch_no, "key": key}, owner)
    report.bytes_written = _finish(store, tenant, journal, key, owner)
    report.cursor = horizon
    return report, None


def _healing(
    store: Store, tenant: str, state: TenantState, damaged: DamagedItem, owner: str, total: RefreshReport
) -> bool:
    """True when a rebuild started to mend ``damaged``; False when the tenant waits for it."""
    if rebuilds.on_damage(store, tenant, state, damaged, owner) is damage.Verdict.WAIT:
        total.damaged = str(damaged)
        return False
    total.rebuilt = total.healed = True
    return True


def refresh_tenant(
    store: Store,
    tenant: str,
    *,
    time_left_ms: Callable[[], int] = lambda: 10**9,
    max_records: int = MAX_BATCH_RECORDS,
    on_continue: Callable[[str, int], None] | None = None,
    reported: tuple[str, str] | None = None,
    audit_now: bool = True,
) -> RefreshReport:
    """Bring one tenant's report items up to date with its source log.

    An idle tenant costs one read (and the reschedule). Any work is done under the
    tenant's lease (one runner at a time, enforced by DynamoDB): TenantBusy if
    another live runner holds it; StaleWriter if this one is overtaken mid-run.
    ``reported``: an item (pk, base) a reader could not decode, to read again first.
    ``audit_now`` False (a tenant waiting on its manual refresh): an audit that falls due is
    left to the next scheduled run, which the reschedule brings forward to it."""
    started = time.monotonic()
    total = RefreshReport(tenant)
    owner = uuid.uuid4().hex[:16]
    held = False
    suspected = False  # the noted or reported item was read again in this run
    try:
        while True:
            state = store.get_state(tenant)
            if state is None:
                break
            read_at = now_us()
            if not Store.complete(state):  # a door that only touched the state (a refresh request)
                store.ensure_state(tenant)
                continue
            horizon, oldest = store.safe_horizon(state, read_at)
            cursor = int(state.cursor or 0)
            tz = state.tz or "UTC"
            today = local_today(tz)
            collectable = generations.ripe(state, read_at // US)
            up_to_date = cursor >= horizon and state.presets_as_of == presets_mark(today)
            suspect = None if suspected else damage.suspect(state, tenant, reported)  # read it again first
            audit_due = audit_now and total.audit is None and audit.due(state, read_at // US)
            work = state.pending or state.rebuild or collectable or suspect is not None or audit_due
            if up_to_date and not work:
                total.cursor = cursor
                idle_through = format_us(oldest if oldest is not None else read_at)
                # not due at the local midnight: presets roll when new data or a reader needs them
                # (readapi.roll_presets), so an idle tenant nobody reads is never woken
                due = audit.wake_at(state, generations.next_collection_s(state))
                store.reschedule(tenant, due, int(state.next_seq or 0), idle_through)
                break
            if total.batches and time_left_ms() < TIME_MARGIN_MS:
                if on_continue:
                    on_continue(tenant, cursor)
                    total.continued = True
                break
            if state.lease_owner != owner or int(state.lease_until or 0) - read_at // 1000 < TIME_MARGIN_MS:
                store.acquire_lease(state, owner, read_at // 1000)  # refreshes state
                held = True
                continue
            total.idle = False
            if suspect is not None:  # once a run: the noted item, or one a reader reported
                suspected = True
                try:
                    rebuilds.read_again(store, tenant, state, *suspect, owner)
                except DamagedItem as damaged:
                    if not _healing(store, tenant, state, damaged, owner, total):
                        break
                    continue
                if state.damaged_key:
                    store.note_fields(tenant, damage.cleared_fields(), owner)
                continue
            if state.pending:
                try:
                    total.bytes_written += _resume(store, tenant, state, owner)
                except DamagedItem as damaged:  # its journal is gone: only a rebuild mends the generation
                    if not _healing(store, tenant, state, damaged, owner, total):
                        break
                    continue
                total.resumed = True
                continue
            if state.rebuild or generations.former_layout(state):  # asked for, or folded the former way
                rebuilds.reset(store, tenant, state, rebuilds.current_pin(store, tenant, state), owner)
                total.rebuilt = True
                continue
            if collectable:
                rebuilds.collect(store, tenant, state, collectable, owner)
                continue
            if audit_due and up_to_date:  # caught up, under the lease: nothing moves while it reads
                found = audit.audit_under_lease(store, tenant, state, owner, read_at // US)
                total.audit, total.days_drifted, total.rebuilt = found.status, len(found.drifts), bool(found.drifts)
                total.presets_drifted = len(found.preset_drifts)
                continue
            try:
                with collector_paused():  # a batch's records live until it ends (domain/collector.py)
                    delta = store.read_log(tenant, cursor, horizon, max_records)
                    reached = not delta or delta[-1]["seq"] >= horizon or len(delta) < max_records
                    upto = horizon if reached else delta[-1]["seq"]
                    through = (oldest if oldest is not None else read_at) if reached else delta[-1]["_at"]
                    report, rezone = _one_batch(store, tenant, state, delta, upto, through, owner, reached)
            except PoisonRecords as poison:
                store.quarantine_log(tenant, poison.as_quarantined())
                total.quarantined += len(poison.found)
                continue
            except UndecodableLogRecords as bad:  # damaged at rest: the source itself, nothing to rebuild from
                store.quarantine_log(tenant, bad.found)
                total.quarantined += len(bad.found)
                continue
            except DamagedItem as damaged:
                if not _healing(store, tenant, state, damaged, owner, total):
                    break
                continue
            if rezone is not None:
                rebuilds.reset(store, tenant, state, rebuilds.pinned(rezone), owner)
                total.rebuilt = True
                continue
            for name in ("batches", "records", "contacts", "days_written", "presets_written", "bytes_written"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.cursor = report.cursor
    finally:
        if held:
            store.release_lease(tenant, owner)
    total.seconds = round(time.monotonic() - started, 3)
    return total
