"""A stored item the read function cannot decode -- written by a newer aggregator while a deploy
replaces the functions one by one, or damaged -- never turns a report into a 500. A preset
bucket is answered from the day documents (the same numbers, `source: days`); any other item is
a 503 with Retry-After, not cached: a read to retry. The writer that meets a damaged preset
bucket rebuilds the presets from the days, and writes it whole again: no tenant is stuck on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mediana.domain.presets import bucket_of
from mediana.domain.ranges import preset_range
from mediana.domain.timeutil import local_today
from mediana.services import aggregate, unreadable
from mediana.storage import keys
from test_pipeline_moto import get
from test_presets_apart import TZ, _load, _newer

FUTURE = b"\x00z a document in a format of a later writer"


def _overwrite_part0(stack: Any, pk: str, base: str) -> None:
    table, ddb = stack.store.cfg.state_table, stack.store.ddb
    key = {"pk": {"S": pk}, "sk": {"S": keys.part_sk(base, 0)}}
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    ddb.put_item(TableName=table, Item={**item, "v": {"B": FUTURE}})


def test_a_preset_bucket_no_decoder_reads_is_answered_from_the_days(stack: Any) -> None:
    _load(stack, "acme")
    pk = keys.presets_pk("acme", 0)
    stored = sorted(base for base in stack.store.part_counts(pk) if base.startswith("last_30_days#rt#"))
    assert len(stored) > 1, stored
    query = "/v1/reports/response-time?range=last_30_days"
    status, _, before = get(query, "acme")
    assert status == 200 and before["source"] == "preset"

    # the oldest bucket of the run: left out, it would read as an empty one (a wrong answer)
    _overwrite_part0(stack, pk, stored[0])
    status, _, after = get(query, "acme")
    assert status == 200 and after["source"] == "days"
    assert after["values"] == before["values"]
    span = preset_range("last_30_days", local_today(TZ))
    custom = get(f"/v1/reports/response-time?from={span.start}&to={span.end}", "acme")[2]
    assert custom["values"] == after["values"]


def test_a_preset_bucket_a_reader_reports_is_rewritten_from_the_days(stack: Any, monkeypatch: Any) -> None:
    """No delta may ever touch the damaged bucket again: the reader reports it, and the
    aggregator rewrites the presets from the day documents (no rebuild of the generation)."""
    monkeypatch.setattr(unreadable, "_REPORTED", {})  # a new container: no report made yet
    _load(stack, "acme")
    pk = keys.presets_pk("acme", 0)
    base = sorted(b for b in stack.store.part_counts(pk) if b.startswith("last_30_days#rt#"))[0]
    query = "/v1/reports/response-time?range=last_30_days"
    before = get(query, "acme")[2]
    _overwrite_part0(stack, pk, base)
    status, _, degraded = get(query, "acme")
    assert status == 200 and degraded["source"] == "days" and degraded["values"] == before["values"]

    stack.pump.drain()  # the reader's report: the aggregator reads the bucket, marks the presets, rewrites them
    state = stack.store.get_state("acme")
    assert state.gen in (None, 0) and not state.live and state.damaged_key is None
    assert stack.store.get_docs(pk, [base])[base][0]["preset"] == "last_30_days"  # readable again
    status, _, after = get(query, "acme")
    assert status == 200 and after["source"] == "preset" and after["values"] == before["values"]


def test_any_other_unreadable_item_is_a_503_to_retry(stack: Any) -> None:
    _load(stack, "acme")
    _overwrite_part0(stack, keys.tenant_pk("acme"), keys.directory_base(0))
    status, headers, body = get("/v1/reports/response-time?range=last_30_days&owner=u-ana", "acme")
    assert status == 503, body
    assert body["error"]["code"] == "unreadable_item"
    assert headers.get("Retry-After") == "5" and headers.get("Cache-Control") == "no-store"
    status, _, unfiltered = get("/v1/reports/response-time?range=last_30_days", "acme")  # no directory needed
    assert status == 200 and unfiltered["source"] == "preset"


def test_a_day_item_a_range_sums_that_does_not_decode_is_a_503_to_retry(stack: Any) -> None:
    """A custom range sums day items (and so does a preset answered from the days)."""
    _load(stack, "acme")
    day = local_today(TZ) - timedelta(days=2)
    _overwrite_part0(stack, keys.days_pk("acme", 0), keys.day_base("rt", day.isoformat()))
    for query in (f"from={day - timedelta(days=3)}&to={day}", f"from={day}&to={day}&owner=u-ana"):
        status, headers, body = get(f"/v1/reports/response-time?{query}", "acme")
        assert status == 503, body
        assert body["error"]["code"] == "unreadable_item" and "rt#" in body["error"]["message"]
        assert headers.get("Retry-After") == "5" and headers.get("Cache-Control") == "no-store"
    later = day + timedelta(days=2)  # (its previous period, the day before, is not the damaged one)
    assert get(f"/v1/reports/response-time?from={later}&to={later}", "acme")[0] == 200  # other days read


def test_a_damaged_preset_bucket_never_stops_the_tenant_and_is_rewritten(stack: Any) -> None:
    """The writer meets the damaged bucket its delta updates in place: it rebuilds the presets
    from the days instead of failing every retry, and that bucket is written whole again."""
    _load(stack, "acme")
    day = local_today(TZ) - timedelta(days=3)
    pk = keys.presets_pk("acme", 0)
    base = keys.preset_base("last_30_days", "rt", bucket_of("last_30_days", "rt", day))
    _overwrite_part0(stack, pk, base)
    _newer(stack, "acme", 3)  # a reply three days ago: that bucket's cells change
    run = aggregate.refresh_tenant(stack.store, "acme")
    assert run.records == 4 and run.presets_written > 0
    assert stack.store.get_docs(pk, [base])[base][0]["preset"] == "last_30_days"  # readable again
    query = "/v1/reports/response-time?range=last_30_days"
    status, _, body = get(query, "acme")
    assert status == 200 and body["source"] == "preset"
    span = preset_range("last_30_days", local_today(TZ))
    assert get(f"/v1/reports/response-time?from={span.start}&to={span.end}", "acme")[2]["values"] == body["values"]
