"""A damaged stored item -- a world, a route, a day document, the directory -- never stops its tenant
for long (services/damage.py). The aggregator that cannot decode one notes it and waits, since
a deploy makes the same error for seconds; still there after the wait, the tenant is rebuilt
from its log into a new generation, which must equal a clean build of the same records. Damage
again soon after such a rebuild fails the refresh (retried, parked, alarmed), never a loop of
rebuilds. Through moto, with a twin tenant fed the same records as the clean build."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mediana.services import aggregate, damage, rebuilds, unreadable
from mediana.storage import keys
from mediana.storage.documents import DamagedItem
from mediana.storage.generations import read_view
from mediana.storage.store import US
from test_generations import ZONE, _answers, _records, _upload
from test_pipeline_moto import get
from test_refresh_and_costs import api
from test_unreadable_items import _overwrite_part0


def _twins(stack: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """acme and its clean twin, built from the same records; and a delta for each: in the last
    conversation of the log, a contact's message a minute after its last one, answered by an
    advisor two minutes later (a response time on that day)."""
    recs = _records("acme")
    twin = _records("twin")
    _upload(stack, "acme", recs)
    _upload(stack, "twin", twin)
    for tenant in ("acme", "twin"):
        aggregate.refresh_tenant(stack.store, tenant)
    last = next(r for r in reversed(recs) if r["kind"] == "message")
    delta = [
        {**_moved(last, "", minutes=1), "id": "m-asked", "direction": "inbound", "author_type": "contact",
         "author_id": None},
        {**_moved(last, "", minutes=3), "id": "m-answered", "direction": "outbound", "author_type": "advisor",
         "author_id": "u-ana"},
    ]  # fmt: skip
    return delta, [{**r, "tenant_id": "twin"} for r in delta]


def _moved(rec: dict[str, Any], suffix: str, minutes: int) -> dict[str, Any]:
    """``rec`` as another record, ``minutes`` later (a new response time the same day)."""
    at = (datetime.fromisoformat(rec["created_at"]) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**rec, "id": rec["id"] + suffix, "created_at": at, "updated_at": at}


def _contact_of(stack: Any, tenant: str, conversation_id: str) -> str:
    route = stack.store.get_docs(keys.routes_pk(tenant, 0), [conversation_id])[conversation_id][0]
    return str(route["c"])


def _later(monkeypatch: Any, seconds: int) -> int:
    """The aggregator's clock moved on by ``seconds``; returns that clock, in epoch seconds."""
    at = aggregate.now_us() + seconds * US
    monkeypatch.setattr(rebuilds, "now_us", lambda: at)
    return at // US


def _same_as_twin() -> None:
    assert _answers("acme", volatile=False) == _answers("twin", volatile=False)


_PARTITIONS = {"world": keys.worlds_pk, "route": keys.routes_pk, "day document": keys.days_pk}


@pytest.mark.parametrize("item", list(_PARTITIONS))
def test_a_damaged_item_waits_then_heals_by_a_rebuild_equal_to_a_clean_build(
    stack: Any, monkeypatch: Any, item: str
) -> None:
    delta, twin_delta = _twins(stack)
    reply = delta[0]
    pk = _PARTITIONS[item]("acme", 0)
    if item == "world":
        base = _contact_of(stack, "acme", reply["conversation_id"])
    elif item == "route":
        base = reply["conversation_id"]
    else:
        day = datetime.fromisoformat(reply["created_at"]).astimezone(ZoneInfo(ZONE)).date().isoformat()
        base = next(b for b in stack.store.part_counts(pk) if b.startswith("rt#") and b.endswith(day))
    _overwrite_part0(stack, pk, base)
    _upload(stack, "acme", delta, "delta.jsonl")
    _upload(stack, "twin", twin_delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")
    cfg = stack.store.cfg

    # met: noted, the tenant due again as the wait ends; nothing else written
    before = stack.store.get_state("acme")
    run = aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert run.damaged and base in run.damaged and not run.rebuilt and run.records == 0
    assert state.damaged_since is not None and base in state.damaged_item
    assert (
        state.cursor == before.cursor
        and state.gen == before.gen
        and int(state.due_at) == (int(state.damaged_since) + cfg.heal_after_s)
    )
    since = int(state.damaged_since)
    _later(monkeypatch, cfg.heal_after_s - 60)  # met again before the wait ends: still waiting, since unchanged
    assert aggregate.refresh_tenant(stack.store, "acme").damaged
    assert int(stack.store.get_state("acme").damaged_since) == since

    # outlived the wait: rebuilt from the log, readers switched to a clean build
    healed_at = _later(monkeypatch, cfg.heal_after_s)
    run = aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert run.healed and run.rebuilt and not run.damaged
    assert read_view(state).gen == 1 and not state.live and state.damaged_since is None and state.damaged_item is None
    assert int(state.healed_at) == healed_at
    _same_as_twin()

    # damage again soon after: the refresh fails (retried, parked, alarmed), no second rebuild
    _overwrite_part0(stack, _PARTITIONS[item]("acme", 1), base)
    _upload(stack, "acme", [_moved(r, "-again", minutes=5) for r in delta], "again.jsonl")
    with pytest.raises(DamagedItem):
        aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert read_view(state).gen == 1 and state.damaged_since is None and not state.live

    # a day later, the same damage is a new one: noted and waited for again
    _later(monkeypatch, cfg.heal_every_s + cfg.heal_after_s)
    assert aggregate.refresh_tenant(stack.store, "acme").damaged


def test_a_damaged_directory_rebuilds_in_the_time_zone_in_use(stack: Any, monkeypatch: Any) -> None:
    """The rebuild cannot read the tenant record that pinned its zone: it pins none and starts
    in the zone readers use, which the replay's tenant record confirms (no detour by UTC)."""
    delta, twin_delta = _twins(stack)
    assert read_view(stack.store.get_state("acme")).tz == ZONE != "UTC"
    _overwrite_part0(stack, keys.tenant_pk("acme"), keys.directory_base(0))
    _upload(stack, "acme", delta, "delta.jsonl")
    _upload(stack, "twin", twin_delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")
    assert aggregate.refresh_tenant(stack.store, "acme").damaged

    resets: list[Any] = []
    real_reset = rebuilds.reset

    def counted(*args: Any, **kwargs: Any) -> None:
        resets.append(args[3])
        real_reset(*args, **kwargs)

    monkeypatch.setattr(rebuilds, "reset", counted)
    _later(monkeypatch, stack.store.cfg.heal_after_s)
    assert aggregate.refresh_tenant(stack.store, "acme").healed
    assert resets == [(None, ZONE)]  # one rebuild, in the zone in use
    state = stack.store.get_state("acme")
    assert read_view(state).tz == ZONE and read_view(state).gen == 1 and json.loads(state.tz_pin or "null") is None
    _same_as_twin()


def test_a_pending_batch_whose_journal_is_gone_waits_then_heals(stack: Any, monkeypatch: Any) -> None:
    """A runner died between marking its batch pending and applying it, and the journal that
    batch would be redone from is gone: no retry can finish it. The pending mark stays while
    the tenant waits (a new batch over a half-applied one would count twice); then a rebuild
    from the log replaces the generation, equal to a clean build."""
    delta, twin_delta = _twins(stack)
    _upload(stack, "acme", delta, "delta.jsonl")
    _upload(stack, "twin", twin_delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")

    def crash(*args: Any) -> int:
        raise RuntimeError("the runner died here")

    monkeypatch.setattr(aggregate, "_finish", crash)
    with pytest.raises(RuntimeError):
        aggregate.refresh_tenant(stack.store, "acme")
    monkeypatch.undo()
    key = json.loads(stack.store.get_state("acme").pending)["key"]
    stack.store.s3.delete_object(Bucket=stack.store.cfg.bucket, Key=key)

    run = aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert run.damaged and key in run.damaged and "gone" in run.damaged and not run.resumed
    assert state.pending and json.loads(state.pending)["key"] == key  # kept: nothing folds over it

    _later(monkeypatch, stack.store.cfg.heal_after_s)
    run = aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert run.healed and not state.pending and read_view(state).gen == 1 and not state.live
    _same_as_twin()


def test_damage_in_an_unfinished_rebuild_abandons_it_and_readers_never_see_it(stack: Any, monkeypatch: Any) -> None:
    """Met in the generation a rebuild is still building: readers keep the previous complete
    one throughout, and the mending rebuild starts another generation from the log."""
    delta, twin_delta = _twins(stack)
    _upload(stack, "twin", twin_delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")
    _upload(stack, "acme", delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "acme")
    before = _answers("acme", volatile=False)
    assert before == _answers("twin", volatile=False)

    stack.store.mark_due("acme", 0, rebuild=True)
    half = len(stack.store.read_log("acme", 0, 10**12, 10**6)) // 2
    part = aggregate.refresh_tenant(stack.store, "acme", max_records=half, time_left_ms=lambda: 0)
    assert part.rebuilt and part.batches == 1 and stack.store.get_state("acme").live  # gen 1 half built
    pk = keys.worlds_pk("acme", 1)
    rest = stack.store.read_log("acme", int(stack.store.get_state("acme").cursor), 10**12, 10**6)
    touched = {r["contact_id"] for r in rest if "contact_id" in r} | {r["id"] for r in rest if r["kind"] == "contact"}
    _overwrite_part0(stack, pk, sorted(touched & set(stack.store.part_counts(pk)))[0])  # one the replay meets again

    assert aggregate.refresh_tenant(stack.store, "acme", max_records=half).damaged
    assert _answers("acme", volatile=False) == before  # still the complete generation 0
    _later(monkeypatch, stack.store.cfg.heal_after_s)
    run = aggregate.refresh_tenant(stack.store, "acme", max_records=half)
    state = stack.store.get_state("acme")
    assert run.healed and read_view(state).gen == 2 and not state.live
    _same_as_twin()


def test_damage_gone_before_the_wait_ends_costs_no_rebuild(stack: Any) -> None:
    """An older aggregator met a newer one's item during a deploy: the next run, by the newer
    one, reads it; the note is cleared, nothing is rebuilt."""
    delta, twin_delta = _twins(stack)
    pk, base = keys.worlds_pk("acme", 0), _contact_of(stack, "acme", delta[0]["conversation_id"])
    table, ddb = stack.store.cfg.state_table, stack.store.ddb
    key = {"pk": {"S": pk}, "sk": {"S": keys.part_sk(base, 0)}}
    good = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    _overwrite_part0(stack, pk, base)
    _upload(stack, "acme", delta, "delta.jsonl")
    _upload(stack, "twin", twin_delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")
    assert aggregate.refresh_tenant(stack.store, "acme").damaged

    ddb.put_item(TableName=table, Item=good)
    run = aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert run.records == 2 and not run.rebuilt and not run.damaged
    assert state.damaged_since is None and state.damaged_item is None and read_view(state).gen == 0
    _same_as_twin()


def test_a_manual_refresh_that_meets_damage_says_so(stack: Any) -> None:
    """Pressing "refresh now" while an item is damaged: the refresh ends failed, with the
    reason, rather than succeeded with stale numbers; the tenant is not parked."""
    delta, _ = _twins(stack)
    _overwrite_part0(stack, keys.worlds_pk("acme", 0), _contact_of(stack, "acme", delta[0]["conversation_id"]))
    _upload(stack, "acme", delta, "delta.jsonl")
    status, _, asked = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 202, asked
    stack.pump.drain()
    status, _, done = api("GET", f"/v1/refresh/{asked['refresh_id']}", "acme", ["viewer"])
    assert status == 200 and done["status"] == "failed", done
    assert "does not decode" in done["error"] and "rebuilt from the log" in done["error"]
    state = stack.store.get_state("acme")
    assert state.damaged_since is not None and state.failure is None


def test_log_records_damaged_at_rest_are_quarantined_and_the_rest_counts(stack: Any) -> None:
    """The log is the source: nothing to rebuild a damaged record from. One that is not a JSON
    object is moved to the quarantine with its stored text and the reason; the rest counts."""
    delta, _ = _twins(stack)
    _upload(stack, "acme", [*delta, *(_moved(r, "-kept", minutes=5) for r in delta)], "delta.jsonl")
    _upload(stack, "twin", [{**_moved(r, "-kept", minutes=5), "tenant_id": "twin"} for r in delta], "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")
    state = stack.store.get_state("acme")
    first = int(state.cursor) + 1  # the delta's first two records: the reply's pair
    table = stack.store.cfg.log_table
    for seq, text in ((first, '{"kind": "message", "id": "m-asked", '), (first + 1, "[1, 2]")):
        key = {"tenant_id": {"S": "acme"}, "seq": {"N": str(seq)}}
        item = stack.store.ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        stack.store.ddb.put_item(TableName=table, Item={**item, "r": {"S": text}})

    run = aggregate.refresh_tenant(stack.store, "acme")
    assert run.quarantined == 2 and run.records == 2 and not run.damaged
    kept = {q["line"]: q for q in stack.store.list_quarantine("acme")}
    assert set(kept) == {first, first + 1}
    assert "stored record does not decode" in kept[first]["reason"] and kept[first + 1]["raw"] == "[1, 2]"
    assert "not an object" in kept[first + 1]["reason"]
    assert stack.store.read_log("acme", first - 1, first + 1, 10) == []  # out of the log
    _same_as_twin()


def test_damage_only_a_reader_meets_is_reported_then_healed(stack: Any, monkeypatch: Any) -> None:
    """A past day's item no later batch reads: the reader that meets it answers 503 and reports
    it; the aggregator reads it again, waits, then rebuilds: the range reads again, exact."""
    monkeypatch.setattr(unreadable, "_REPORTED", {})  # a new container: no report made yet
    _twins(stack)
    day = datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=3)
    pk = keys.days_pk("acme", 0)
    base = next(b for b in sorted(stack.store.part_counts(pk)) if b.startswith("rt#") and b < f"rt#{day}")
    _overwrite_part0(stack, pk, base)
    asked = base.split("#")[1]
    query = f"/v1/reports/response-time?from={asked}&to={asked}"
    assert get(query, "acme")[0] == 503
    stack.pump.drain()  # the report's message: the aggregator reads the item again and notes it
    state = stack.store.get_state("acme")
    assert state.damaged_key and json.loads(state.damaged_key) == [pk, base] and state.damaged_since is not None

    _later(monkeypatch, stack.store.cfg.heal_after_s)
    run = aggregate.refresh_tenant(stack.store, "acme")  # due as the wait ends
    assert run.healed and read_view(stack.store.get_state("acme")).gen == 1
    assert get(query, "acme")[0] == 200
    _same_as_twin()


def test_a_report_of_an_item_that_reads_or_is_not_the_tenants_costs_nothing(stack: Any) -> None:
    """A deploy's skew: the item decodes when read again. Another tenant's key: never read."""
    _twins(stack)
    pk = keys.days_pk("twin", 0)
    base = next(iter(stack.store.part_counts(pk)))
    _overwrite_part0(stack, pk, base)  # the twin's, damaged: acme must not act on it
    for reported in ((keys.days_pk("acme", 0), base), (pk, base)):
        run = aggregate.refresh_tenant(stack.store, "acme", reported=reported)
        assert not run.damaged and not run.rebuilt
        assert stack.store.get_state("acme").damaged_key is None


# ---- the decisions alone ----------------------------------------------------------------------


class _S:
    def __init__(
        self, damaged_since: int | None = None, healed_at: int | None = None, damaged_key: str | None = None
    ) -> None:
        self.damaged_since, self.healed_at, self.damaged_key = damaged_since, healed_at, damaged_key


@pytest.mark.parametrize(
    ("state", "now", "verdict"),
    [
        (_S(), 1_000, damage.Verdict.WAIT),  # first met
        (_S(damaged_since=1_000), 1_899, damage.Verdict.WAIT),  # within the wait
        (_S(damaged_since=1_000), 1_900, damage.Verdict.REBUILD),  # outlived it
        (_S(healed_at=1_000), 1_000 + 86_399, damage.Verdict.FAIL),  # soon after a heal: a fault to fix
        (_S(damaged_since=50_000, healed_at=1_000), 50_900, damage.Verdict.FAIL),  # waited, but soon after a heal
        (_S(healed_at=1_000), 1_000 + 86_400, damage.Verdict.WAIT),  # a day later: a new damage
    ],
)
def test_what_meeting_a_damaged_item_decides(state: _S, now: int, verdict: damage.Verdict) -> None:
    assert damage.decide(state, now, heal_after_s=900, heal_every_s=86_400) is verdict


def test_the_wait_is_counted_from_the_first_meeting() -> None:
    bad = DamagedItem("T#acme#W#G0", "ct-1", "error: incorrect header check")
    first = damage.noted_fields(_S(), bad, 1_000)
    assert first == {
        "damaged_since": 1_000,
        "damaged_item": "T#acme#W#G0 ct-1: error: incorrect header check",
        "damaged_key": '["T#acme#W#G0", "ct-1"]',
    }
    assert damage.noted_fields(_S(damaged_since=1_000), bad, 1_500)["damaged_since"] == 1_000
    assert damage.due_s(_S(damaged_since=1_000), 1_500, 900) == 1_900
    assert damage.due_s(_S(damaged_since=1_000), 2_500, 900) == 2_500  # never in the past
    assert damage.cleared_fields() == {"damaged_since": None, "damaged_item": None, "damaged_key": None}
    assert damage.suspect(_S(damaged_key=first["damaged_key"]), "acme", None) == ("T#acme#W#G0", "ct-1")
    assert damage.suspect(_S(), "acme", ("T#acme#D", "rt#2026-12-01")) == ("T#acme#D", "rt#2026-12-01")
    assert damage.suspect(_S(), "acme", ("T#acme2#D", "rt#2026-12-01")) is None  # not a prefix's tenant
    assert damage.suspect(_S(), "acme", None) is None
