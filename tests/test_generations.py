"""A rebuild (asked for, or forced by a time-zone change) never shows readers partial
numbers: through the real API handler on moto, every report is read after each batch
of a multi-batch rebuild and must equal what readers had before, ``data_through``
included; the switch happens in one commit and equals a clean build; the superseded
generation is deleted after its grace period."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from helpers import midday_zone
from mediana.domain.definitions import REPORTS
from mediana.domain.timeutil import local_today
from mediana.services import aggregate, rebuilds
from mediana.storage import keys
from mediana.storage.generations import RETIRE_GRACE_S, read_view
from mediana.storage.store import US
from mediana_cli.demo import generate
from mediana_cli.local import upload
from test_pipeline_moto import get

ZONE = midday_zone()  # the demo's record count does not depend on the hour the suite runs at


def _small_batch(stack: Any, tenant: str) -> int:
    """A batch size that splits the tenant's log into about six batches, whatever the size
    of the demo (it varies with the day it is generated for)."""
    return len(stack.store.read_log(tenant, 0, 10**12, 10**6)) // 6 + 1


def _records(tenant: str) -> list[dict[str, Any]]:
    recs = list(generate("acme", 6, 7, per_day=12, timezone=ZONE))
    out = []
    for rec in recs:
        rec = {**rec, "tenant_id": tenant}
        if rec["kind"] == "tenant":
            rec["id"] = tenant
        out.append(rec)
    return out


def _upload(stack: Any, tenant: str, recs: list[dict[str, Any]], name: str = "a.jsonl") -> None:
    upload(stack.store, tenant, name, "\n".join(json.dumps(r) for r in recs).encode())
    stack.pump.ingest()


def _answers(tenant: str, volatile: bool = True) -> dict[str, Any]:
    """Every report, on a preset and on a custom range (which sums day documents)."""
    out = {}
    last = local_today(ZONE)
    custom = f"from={last - timedelta(days=7)}&to={last}"
    for report_id in REPORTS:
        for query in ("range=last_7_days", "range=today", custom):
            status, _, body = get(f"/v1/reports/{report_id}?{query}", tenant)
            assert status == 200, body
            if not volatile:
                body = {k: v for k, v in body.items() if k not in ("data_through", "computed_at", "source")}
            out[f"{report_id}?{query}"] = body
    return out


def _build(stack: Any, tenant: str) -> None:
    report = aggregate.refresh_tenant(stack.store, tenant, max_records=_small_batch(stack, tenant))
    assert report.batches >= 3, report


def _watched_rebuild(stack: Any, tenant: str, before: dict[str, Any], monkeypatch: Any) -> int:
    """Run the tenant's pending rebuild in small batches; after the reset and after each
    batch, every answer must still be ``before``. Returns how often it was checked."""
    checks = {"n": 0}
    real_reset = rebuilds.reset

    def check() -> None:
        state = stack.store.get_state(tenant)
        if state is not None and state.live:  # mid-rebuild: readers get the previous generation
            assert _answers(tenant) == before
            checks["n"] += 1

    def reset_then_check(*args: Any, **kwargs: Any) -> None:
        real_reset(*args, **kwargs)
        check()

    def time_left() -> int:
        check()
        return 10**9

    monkeypatch.setattr(rebuilds, "reset", reset_then_check)
    report = aggregate.refresh_tenant(
        stack.store, tenant, max_records=_small_batch(stack, tenant), time_left_ms=time_left
    )
    monkeypatch.setattr(rebuilds, "reset", real_reset)
    assert report.rebuilt and report.batches >= 3, report
    return checks["n"]


def _partitions(stack: Any, tenant: str, gen: int) -> int:
    count = sum(sum(1 for _ in stack.store.iter_docs(pk)) for pk in keys.generation_pks(tenant, gen))
    return count + len(stack.store.get_docs(keys.tenant_pk(tenant), [keys.directory_base(gen)]))


def _past_grace(monkeypatch: Any) -> None:
    later = aggregate.now_us() + (RETIRE_GRACE_S + 1) * US
    monkeypatch.setattr(aggregate, "now_us", lambda: later)


def test_a_requested_rebuild_serves_the_previous_generation_until_it_switches(stack: Any, monkeypatch: Any) -> None:
    _upload(stack, "acme", _records("acme"))
    _build(stack, "acme")
    before = _answers("acme")
    assert any(b["values"] != before[next(iter(before))]["values"] for b in before.values())  # not all empty

    stack.store.mark_due("acme", 0, rebuild=True)
    checks = _watched_rebuild(stack, "acme", before, monkeypatch)
    assert checks >= 4  # after the reset and after each batch but the last

    state = stack.store.get_state("acme")
    assert read_view(state).gen == 1 and not state.live and not state.rebuild
    after = _answers("acme", volatile=False)
    assert after == {
        k: {x: v for x, v in b.items() if x not in ("data_through", "computed_at", "source")} for k, b in before.items()
    }
    assert _partitions(stack, "acme", 0) > 0  # kept through the grace period: a reader may still be on it

    _past_grace(monkeypatch)
    report = aggregate.refresh_tenant(stack.store, "acme")
    assert not report.idle and _partitions(stack, "acme", 0) == 0
    assert not stack.store.get_state("acme").retired
    assert _answers("acme", volatile=False) == after
    assert aggregate.refresh_tenant(stack.store, "acme").idle  # and the next run costs one read again


def test_a_time_zone_change_switches_readers_at_once_to_a_clean_build(stack: Any, monkeypatch: Any) -> None:
    recs = _records("acme")
    _upload(stack, "acme", recs)
    _build(stack, "acme")
    before = _answers("acme")
    moved = {**next(r for r in recs if r["kind"] == "tenant"), "timezone": "Asia/Tokyo"}
    moved["updated_at"] = "2099-01-01T00:00:00Z"
    _upload(stack, "acme", [moved], "tz.jsonl")

    assert _watched_rebuild(stack, "acme", before, monkeypatch) >= 4
    assert read_view(stack.store.get_state("acme")).tz == "Asia/Tokyo"

    clean = [
        {**r, "tenant_id": "clean", "id": "clean"} if r["kind"] == "tenant" else {**r, "tenant_id": "clean"}
        for r in recs
    ]
    _upload(stack, "clean", [*clean, {**moved, "tenant_id": "clean", "id": "clean"}])
    _build(stack, "clean")
    assert _answers("acme", volatile=False) == _answers("clean", volatile=False)


def test_a_rebuild_asked_again_mid_rebuild_abandons_the_unfinished_one(stack: Any, monkeypatch: Any) -> None:
    _upload(stack, "acme", _records("acme"))
    _build(stack, "acme")
    before = _answers("acme")
    stack.store.mark_due("acme", 0, rebuild=True)
    part = aggregate.refresh_tenant(
        stack.store, "acme", max_records=_small_batch(stack, "acme"), time_left_ms=lambda: 0
    )
    assert part.rebuilt and part.batches == 1  # out of time after one batch: gen 1 is half built
    assert _answers("acme") == before and _partitions(stack, "acme", 1) > 0

    stack.store.mark_due("acme", 0, rebuild=True)
    assert _watched_rebuild(stack, "acme", before, monkeypatch) >= 4
    state = stack.store.get_state("acme")
    assert read_view(state).gen == 2 and _partitions(stack, "acme", 1) == 0  # abandoned: no reader ever used it
    _past_grace(monkeypatch)
    aggregate.refresh_tenant(stack.store, "acme")
    assert _partitions(stack, "acme", 0) == 0 and _partitions(stack, "acme", 2) > 0
