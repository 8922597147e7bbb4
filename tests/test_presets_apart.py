"""Presets that keep today apart (issue 11, write only what changed): a preset of a dated
section that contains today holds every day but today, whose cells stay in today's day
document; a reader adds that document, fetched in the same BatchGetItem. So a change to today
rewrites no preset, and every answer is still exactly the sum of its days."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import botocore.client
import pytest
from helpers import midday_zone
from mediana.domain.batch import compute_batch, merge_days
from mediana.domain.definitions import REPORTS
from mediana.domain.presets import WIDTHS, bucket_of, build_presets, merged, width
from mediana.domain.ranges import PRESETS, DateRange, preset_range
from mediana.domain.records import parse_record
from mediana.domain.sections import SECTIONS, keeps_today_apart
from mediana.domain.timeutil import CLOCK_SHIFT_ENV, clock_shift_s, local_today, now_s, now_utc
from mediana.domain.world import LoadedState
from mediana.services import aggregate, readapi
from mediana.storage import keys
from mediana_cli.demo import generate, write_jsonl
from mediana_cli.local import upload
from test_pipeline_moto import get

TZ = midday_zone()  # the demo has data today, whatever the hour the suite runs at


def _days(seed: int, tenant: str = "acme") -> dict[Any, Any]:
    records = []
    for seq, raw in enumerate(generate(tenant, 40, seed, per_day=6, timezone=TZ), start=1):
        rec = parse_record(raw, tenant)
        assert isinstance(rec, dict)
        records.append({**rec, "seq": seq})
    return merge_days({}, compute_batch(records, LoadedState(), TZ).day_delta)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_preset_without_today_plus_todays_document_is_the_whole_preset(seed: int) -> None:
    days = _days(seed)
    today = local_today(TZ)
    whole, apart = merged(build_presets(today, days)), merged(build_presets(today, days, apart=today))
    kept = 0
    for (preset, section), summary in apart.items():
        day = days.get((section, today.isoformat()))
        if today in preset_range(preset, today) and not SECTIONS[section].cumulative:
            if day:
                assert summary.cur != whole[(preset, section)].cur  # today really is left out
                summary.fold_doc(today.isoformat(), day)
                kept += 1
        assert (summary.cur, summary.prev) == (whole[(preset, section)].cur, whole[(preset, section)].prev)
    assert kept >= 10  # the demo has data today in several sections


# ---- through the API on moto ------------------------------------------------------------------


def _load(stack: Any, tenant: str) -> None:
    lines = write_jsonl(generate(tenant, 40, 7, per_day=6, timezone=TZ))
    upload(stack.store, tenant, "demo.jsonl", "\n".join(lines).encode())
    stack.pump.drain()


def _both_paths(tenant: str) -> int:
    """Every report on every preset that contains today, through the preset, equals the same
    dates summed from day documents (a custom range); returns how many were compared."""
    today = local_today(TZ)
    compared = 0
    for report_id in REPORTS:
        for preset in PRESETS:
            span = preset_range(preset, today)
            if today not in span:
                continue
            status, _, via_preset = get(f"/v1/reports/{report_id}?range={preset}", tenant)
            assert status == 200 and via_preset["source"] == "preset", (report_id, preset, via_preset)
            custom = get(f"/v1/reports/{report_id}?from={span.start}&to={span.end}", tenant)[2]
            assert custom["source"] == "days"
            for field in ("values", "comparison"):
                assert via_preset[field] == custom[field], (report_id, preset, field)
            compared += 1
    return compared


def _newer(stack: Any, tenant: str, day_offset: int) -> None:
    """A new conversation with two messages on today - day_offset (local), as the CRM sends it."""
    local = now_utc().astimezone(ZoneInfo(TZ)) - timedelta(days=day_offset)
    at = local.replace(hour=0, minute=5, second=0, microsecond=0).astimezone(UTC)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (at + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = [
        {"kind": "contact", "id": f"new-{day_offset}", "updated_at": stamp, "created_at": stamp, "origin": "Web"},
        {"kind": "conversation", "id": f"cv-new-{day_offset}", "updated_at": stamp, "contact_id": f"new-{day_offset}",
         "channel": "whatsapp", "created_at": stamp},
        {"kind": "message", "id": f"m-in-{day_offset}", "updated_at": stamp, "conversation_id": f"cv-new-{day_offset}",
         "direction": "inbound", "author_type": "contact", "created_at": stamp},
        {"kind": "message", "id": f"m-out-{day_offset}", "updated_at": later, "conversation_id": f"cv-new-{day_offset}",
         "direction": "outbound", "author_type": "advisor", "author_id": "u1", "created_at": later},
    ]  # fmt: skip
    body = "\n".join(json.dumps({"tenant_id": tenant, **r}) for r in records).encode()
    upload(stack.store, tenant, f"delta-{day_offset}.jsonl", body)
    stack.pump.ingest()


def test_a_change_to_today_rewrites_no_dated_preset_and_answers_stay_exact(stack: Any) -> None:
    _load(stack, "acme")
    state = stack.store.get_state("acme")
    assert state.presets_as_of == aggregate.presets_mark(local_today(TZ))
    compared = _both_paths("acme")
    assert compared == len(REPORTS) * 6

    _newer(stack, "acme", 0)  # today only
    today_run = aggregate.refresh_tenant(stack.store, "acme")
    cumulative = [s for s in SECTIONS if SECTIONS[s].cumulative]
    assert today_run.records == 4 and today_run.days_written >= 3
    assert today_run.presets_written <= len(cumulative) * len(PRESETS), today_run  # dated sections: none
    assert _both_paths("acme") == compared

    _newer(stack, "acme", 3)  # three days ago: the presets that contain that day are rewritten
    late_run = aggregate.refresh_tenant(stack.store, "acme")
    assert late_run.presets_written > today_run.presets_written
    assert _both_paths("acme") == compared


def _rolled_buckets(today: date, tomorrow: date) -> set[str]:
    """The bucket items a roll from ``today`` to ``tomorrow`` may rewrite: those holding a day that
    changes place (range, previous period, outside), or ``today``, which presets kept apart
    until now. On a rolling preset these are its edges; on the first of a month, every bucket
    of last month and this month (the sweep at MEDIANA_TEST_NOW=2028-02-29T18:00:00Z found a
    bound of a quarter of all buckets broken by last month's, on such a day)."""

    def place(span: DateRange, day: date) -> int:
        return 1 if day in span else 2 if day in span.previous else 0

    out: set[str] = set()
    for preset in WIDTHS:
        old, new = preset_range(preset, today), preset_range(preset, tomorrow)
        first = min(old.previous.start, new.previous.start)
        days = [first + timedelta(days=i) for i in range((max(old.end, new.end) - first).days + 1)]
        moved = [d for d in days if place(old, d) != place(new, d)] + [today]
        for section in SECTIONS:
            if width(preset, section):
                out |= {keys.preset_base(preset, section, bucket_of(preset, section, d)) for d in moved}
    return out


def _bases_written(stack: Any, monkeypatch: pytest.MonkeyPatch, pk: str) -> list[str]:
    """The documents written under ``pk`` from now on (filled as the Store writes)."""
    written: list[str] = []
    real_put = type(stack.store).put_docs

    def recording(self: Any, where: str, docs: Any, *args: Any, **kwargs: Any) -> int:
        written.extend(docs if where == pk else [])
        return real_put(self, where, docs, *args, **kwargs)

    monkeypatch.setattr(type(stack.store), "put_docs", recording)
    return written


def test_a_late_change_rewrites_its_days_bucket_not_the_whole_preset(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Write only what changed: a change three days back rewrites, of each long preset, the one
    bucket holding that day -- a small part of the preset's stored bytes."""
    _load(stack, "acme")
    pk = keys.presets_pk("acme", 0)
    whole = dict.fromkeys(stack.store.part_counts(pk), 0)
    for base, (doc, _) in stack.store.get_docs(pk, list(whole)).items():
        whole[base] = len(json.dumps(doc))
    written = _bases_written(stack, monkeypatch, pk)
    _newer(stack, "acme", 3)
    assert not aggregate.refresh_tenant(stack.store, "acme").idle
    long_presets = {"last_30_days", "last_90_days", "last_365_days"}
    dated = [s for s in SECTIONS if not SECTIONS[s].cumulative]  # the cumulative one is one small item
    rewritten = {base for base in written if base.split("#")[0] in long_presets and base.split("#")[1] in dated}
    assert rewritten and all(base.count("#") == 2 for base in rewritten)  # buckets only
    for preset in long_presets:  # one bucket per section of each long preset
        sections = [base.split("#")[1] for base in rewritten if base.startswith(preset + "#")]
        assert len(sections) == len(set(sections)) > 0, (preset, sections)
    stored = sum(v for b, v in whole.items() if b.split("#")[0] in long_presets and b.split("#")[1] in dated)
    share = sum(whole[b] for b in rewritten) / stored
    assert share < 0.3, share  # whole presets: 1.0; the 40-day demo fills 1-4 buckets of the longer two
    assert _both_paths("acme") == len(REPORTS) * 6


def test_presets_in_the_former_layout_answer_from_days_until_rebuilt_once_in_buckets(stack: Any) -> None:
    """A tenant whose presets are one item each (no buckets) and whose state has the old mark:
    readers sum the days (the same numbers); the next run rebuilds every preset in buckets and
    deletes the former items."""
    _load(stack, "acme")
    today = local_today(TZ)
    state = stack.store.get_state("acme")
    pk = keys.presets_pk("acme", int(state.gen or 0))
    old_parts = stack.store.part_counts(pk)
    stack.store.put_docs(pk, {}, old_parts)  # nothing in the new layout
    days = stack.store.day_docs("acme", 0, SECTIONS, today - timedelta(days=800), today, consistent=True)
    former = {}
    for (preset, section), summary in merged(build_presets(today, days, apart=today)).items():
        if not (summary.cur or summary.prev) and not keeps_today_apart(section, summary.span, today):
            continue  # no writer stores an empty preset that keeps nothing apart (preset_items)
        doc = summary.to_doc()
        doc.update(as_of=today.isoformat(), apart=today.isoformat())
        former[keys.preset_base(preset, section)] = doc
    stack.store.put_docs(pk, former)
    state.update(actions=[type(state).presets_as_of.set(f"{today.isoformat()}/apart")])
    span = preset_range("last_365_days", today)
    read = get("/v1/reports/response-time?range=last_365_days", "acme")[2]
    custom = get(f"/v1/reports/response-time?from={span.start}&to={span.end}", "acme")[2]
    assert read["source"] == "days" and read["values"] == custom["values"]

    run = aggregate.refresh_tenant(stack.store, "acme")
    assert not run.idle and run.presets_written > len(former)  # rebuilt in buckets, once
    assert stack.store.get_state("acme").presets_as_of == aggregate.presets_mark(today)
    stored = stack.store.part_counts(pk)
    assert stored.keys() == old_parts.keys()  # the former items are gone
    assert any(base.count("#") == 2 for base in stored)  # buckets
    assert _both_paths("acme") == len(REPORTS) * 6
    assert aggregate.refresh_tenant(stack.store, "acme").idle


@pytest.fixture
def read_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The DynamoDB requests made from now on (the cost ledger's own writes left out)."""
    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def counting(client: Any, name: str, params: Any) -> Any:
        if client.meta.service_model.service_name == "dynamodb" and "COST#" not in json.dumps(params, default=str):
            calls.append(name)
        return real(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls


def _at_noon_in(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's tenants live in ``zone``, and the stack's clock is at noon there on the
    next day that starts a bucket of the last 30 days (so yesterday lies in another)."""
    monkeypatch.setattr(sys.modules[__name__], "TZ", zone)
    local = now_utc().astimezone(ZoneInfo(zone))
    ahead = -(local.date() - date(1970, 1, 1)).days % WIDTHS["last_30_days"]
    noon = (local + timedelta(days=ahead)).replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setenv(CLOCK_SHIFT_ENV, str(clock_shift_s() + round((noon - local).total_seconds())))


@pytest.mark.parametrize("zone", ["midday", "Pacific/Kiritimati"])
def test_a_preset_read_is_one_request_once_the_container_knows_the_tenant(
    stack: Any, read_requests: list[str], monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """A new container guesses generation 0 and UTC: one round, and one more when the guess
    misses. At noon in Kiritimati (UTC+14) the tenant's date is a day ahead of UTC's; on a day
    that starts a bucket the guess misses both the presets' buckets and today's day documents
    (two partitions): still one more round."""
    if zone != "midday":
        _at_noon_in(zone, monkeypatch)
    _load(stack, "acme")
    calls = read_requests
    calls.clear()
    readapi._SEEN.clear()  # a new container: it guesses generation 0 and UTC
    get("/v1/reports/response-time?range=last_30_days", "acme")
    assert 1 <= len(calls) <= 2 and set(calls) <= {"BatchGetItem"}, calls
    for report_id in ("response-time", "new-conversations", "activity-heatmap", "origins"):
        calls.clear()
        assert get(f"/v1/reports/{report_id}?range=last_30_days", "acme")[2]["source"] == "preset"
        assert calls == ["BatchGetItem"], (report_id, calls)  # state, presets and today's days together


def test_a_preset_in_several_parts_is_read_in_two_requests(
    stack: Any, monkeypatch: pytest.MonkeyPatch, read_requests: list[str]
) -> None:
    """The largest tenant's year of response times is megabytes, stored in parts of 350 KB:
    here parts of 1 KB make the demo's presets multi-part. The state, every first part and
    today's days come in one BatchGetItem, all the other parts in a second."""
    from mediana.storage import blobs

    monkeypatch.setattr(blobs, "PART_BYTES", 1_000)
    _load(stack, "acme")
    parts = stack.store.part_counts(keys.presets_pk("acme", 0))
    assert max(n for base, n in parts.items() if base.startswith("last_365_days#rt#")) >= 2  # several parts
    get("/v1/reports/response-time?range=last_365_days", "acme")  # the container learns the tenant
    read_requests.clear()
    status, _, body = get("/v1/reports/response-time?range=last_365_days", "acme")
    assert status == 200 and body["source"] == "preset"
    assert read_requests == ["BatchGetItem", "BatchGetItem"], read_requests
    assert _both_paths("acme") == len(REPORTS) * 6


def test_an_unfiltered_read_of_a_preset_in_parts_takes_only_its_first_parts(
    stack: Any, monkeypatch: pytest.MonkeyPatch, read_requests: list[str]
) -> None:
    """A bucket in parts keeps its projections in part 0 and its counters after it (a headed
    document): the unfiltered response-time report is answered by the first BatchGetItem
    alone, and no later part is read. An advisor filter needs the author, which the
    projection dropped: the other parts follow. Every report answers as the days do. Here
    parts of 1 KB, and every bucket projected, stand for the largest tenant's megabytes."""
    from mediana.domain import projections
    from mediana.storage import blobs

    monkeypatch.setattr(blobs, "PART_BYTES", 1_000)
    monkeypatch.setattr(projections, "PROJECT_FROM_CELLS", 0)
    monkeypatch.setattr(projections, "FEWER_BY", 1)  # the demo's seconds are nearly all distinct
    _load(stack, "acme")
    pk = keys.presets_pk("acme", 0)
    rt = [base for base, n in stack.store.part_counts(pk).items() if base.startswith("last_365_days#rt#") and n > 1]
    assert rt, "no 365-day response-time bucket in parts"
    heads = [blobs.decode_head(stack.store.ddb.get_item(
        TableName=stack.store.cfg.state_table, Key={"pk": {"S": pk}, "sk": {"S": keys.part_sk(base, 0)}}
    )["Item"]["v"]["B"]) for base in rt]  # fmt: skip
    assert all(head is not None and "cur" not in head for head in heads)
    get("/v1/reports/response-time?range=last_365_days", "acme")  # the container learns the tenant
    read_requests.clear()
    status, _, unfiltered = get("/v1/reports/response-time?range=last_365_days", "acme")
    assert status == 200 and unfiltered["source"] == "preset"
    assert read_requests == ["BatchGetItem"], read_requests
    read_requests.clear()
    status, _, one = get("/v1/reports/response-time?range=last_365_days&owner=u-ana", "acme")
    assert status == 200 and one["source"] == "preset"
    assert read_requests == ["BatchGetItem", "BatchGetItem"], read_requests
    span = preset_range("last_365_days", local_today(TZ))
    for query, answer in (("", unfiltered), ("&owner=u-ana", one)):
        custom = get(f"/v1/reports/response-time?from={span.start}&to={span.end}{query}", "acme")[2]
        assert custom["source"] == "days" and custom["values"] == answer["values"], query
    assert _both_paths("acme") == len(REPORTS) * 6


# ---- presets roll on demand, not at every local midnight ---------------------------------------


def _to_the_months_last_afternoon(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's clock moved to 15:00 in ``TZ`` on the last day of this local month: the
    next midnight rolls the months (this month's and last month's presets change whole)."""
    local = now_utc().astimezone(ZoneInfo(TZ))
    first_of_next = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    target = (first_of_next - timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    monkeypatch.setenv(CLOCK_SHIFT_ENV, str(clock_shift_s() + round((target - local).total_seconds())))


@pytest.mark.parametrize("day", ["today", "a month's last day"])
def test_an_idle_tenant_is_not_woken_at_midnight_and_its_first_reader_rolls_its_presets(
    stack: Any, monkeypatch: pytest.MonkeyPatch, day: str
) -> None:
    """The day rolls with nobody reading: nothing runs. The first read of a preset then sums the
    day documents (the same numbers) and asks for one roll; after it the preset answers. On a
    month's last day too, whatever the date the suite runs on."""
    from mediana.services.scheduling import schedule

    if day != "today":
        _to_the_months_last_afternoon(monkeypatch)
    monkeypatch.setattr(readapi, "_ROLLED", {})  # a new container
    _load(stack, "acme")
    assert aggregate.refresh_tenant(stack.store, "acme").idle
    state = stack.store.get_state("acme")
    # due at no local midnight (only for the audit it owes, a week after its first batch)
    assert state.sched is None or int(state.due_at) == int(state.audit_due_at) > now_s() + 6 * 86_400
    tomorrow = local_today(TZ) + timedelta(days=1)
    for module in (aggregate, readapi):
        monkeypatch.setattr(module, "local_today", lambda tz, at_ns=None: tomorrow)
    assert schedule(stack.store).enqueued == []

    sent: list[str] = []
    real_enqueue = type(stack.store).enqueue

    def enqueue(self: Any, t: str, reason: str, *a: Any, **k: Any) -> Any:
        sent.append(reason)
        return real_enqueue(self, t, reason, *a, **k)  # its own answer (a tuple with None was returned before)

    monkeypatch.setattr(type(stack.store), "enqueue", enqueue)
    span = preset_range("last_30_days", tomorrow)
    custom = get(f"/v1/reports/response-time?from={span.start}&to={span.end}", "acme")[2]
    first = get("/v1/reports/response-time?range=last_30_days", "acme")[2]
    again = get("/v1/reports/new-contacts?range=last_7_days", "acme")[2]
    assert first["source"] == again["source"] == "days" and sent == ["presets"]  # one roll asked, per day
    assert first["values"] == custom["values"] and first["comparison"] == custom["comparison"]

    pk = keys.presets_pk("acme", 0)
    stored = stack.store.part_counts(pk)
    written = _bases_written(stack, monkeypatch, pk)
    while stack.pump.queue():  # the aggregator takes the message
        pass
    assert stack.store.get_state("acme").presets_as_of == aggregate.presets_mark(tomorrow)
    buckets = [b for b in stored if b.count("#") == 2]
    rewritten = {b for b in written if b in buckets}
    assert rewritten and rewritten <= _rolled_buckets(tomorrow - timedelta(days=1), tomorrow)
    assert len(rewritten) < len(buckets) / 2  # the edges of each range (all of last month's when it changes)
    monkeypatch.setattr(sys.modules[__name__], "local_today", lambda tz, at_ns=None: tomorrow)
    assert _both_paths("acme") == len(REPORTS) * 6  # every report, every preset: the days' numbers
    rolled = get("/v1/reports/response-time?range=last_30_days", "acme")[2]
    assert rolled["source"] == "preset" and rolled["values"] == first["values"]
    assert rolled["comparison"] == first["comparison"] and sent == ["presets"]
    if day != "today":  # the month rolled: last month is the one that just ended, through its preset
        span = preset_range("last_month", tomorrow)
        last_month = get("/v1/reports/response-time?range=last_month", "acme")[2]
        summed = get(f"/v1/reports/response-time?from={span.start}&to={span.end}", "acme")[2]
        assert last_month["source"] == "preset" and last_month["values"] == summed["values"]
        assert last_month["comparison"] == summed["comparison"]
    assert aggregate.refresh_tenant(stack.store, "acme").idle  # a second copy of the message: one read
