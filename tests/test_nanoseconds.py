"""Instants exact to the nanosecond (source-records.md): hand-computed cases where a
microsecond cut would give other numbers, and stored microsecond data still read right."""

from __future__ import annotations

import json
from datetime import date

from helpers import Model, build, normalise
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain.contrib import empty_world
from mediana.domain.records import INSTANT_FIELDS, NS_MARK, parse_record, upgrade
from mediana.domain.timeutil import parse_instant
from mediana.domain.world import LoadedState, upgrade_stored
from test_definitions import contact, conv, msg, reply

TODAY = date(2026, 3, 10)


def test_first_response_of_0_9999992_seconds_is_0() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T14:31:51.000000900Z"),
            conv("v1", "c1", "2026-03-05T14:31:51Z"),
            reply("r1", "v1", "2026-03-05T14:31:52.000000100Z"),  # 0.9999992 s -> 0
            contact("c2", "2026-03-05T15:00:00.000000001Z"),
            conv("v2", "c2", "2026-03-05T15:00:00Z"),
            reply("r2", "v2", "2026-03-05T15:00:01.000000001Z"),  # exactly 1 s -> 1
        ]
    )
    out = m.report("first-response-time", TODAY, "last_7_days")["values"]
    assert out == {"median_seconds": 0.5, "count": 2, "pending": 0}  # samples 0 and 1
    only_c1 = build(
        [
            contact("c1", "2026-03-05T14:31:51.000000900Z"),
            conv("v1", "c1", "2026-03-05T14:31:51Z"),
            reply("r1", "v1", "2026-03-05T14:31:52.000000100Z"),
        ]
    )
    assert only_c1.report("first-response-time", TODAY, "last_7_days")["values"]["median_seconds"] == 0


def test_a_reply_400_ns_before_an_inbound_in_the_same_microsecond_answers_nothing() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T14:00:00Z"),
            conv("v1", "c1", "2026-03-05T14:00:00Z"),
            # cut to the microsecond these tie and id "a" < "b" would put the inbound first
            msg("a", "v1", "2026-03-05T14:33:31.000000700Z"),
            reply("b", "v1", "2026-03-05T14:33:31.000000300Z"),
            conv("v2", "c1", "2026-03-05T14:00:00Z"),
            msg("c", "v2", "2026-03-05T14:40:00Z"),
            reply("d", "v2", "2026-03-05T14:40:01Z"),  # 1 s
        ]
    )
    assert m.report("response-time", TODAY, "last_7_days")["values"] == {"median_seconds": 1, "count": 1}
    assert m.report("response-time", TODAY, "last_7_days", filters={"channel": ["whatsapp"]})["values"] == {
        "median_seconds": 1,
        "count": 1,
    }


def test_response_of_0_9999996_seconds_is_0_and_sub_microsecond_waits_order_exactly() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T14:00:00Z"),
            conv("v1", "c1", "2026-03-05T14:00:00Z"),
            msg("m1", "v1", "2026-03-05T14:10:00.000000001Z"),
            msg("m2", "v1", "2026-03-05T14:10:00.000000000Z"),  # the wait starts here, 1 ns earlier
            reply("r1", "v1", "2026-03-05T14:10:00.999999999Z"),  # 0.999999999 s -> 0
            msg("m3", "v1", "2026-03-05T14:20:00.000000999Z"),
            reply("r2", "v1", "2026-03-05T14:20:03.000000998Z"),  # 2.999999999 s -> 2
        ]
    )
    assert m.report("response-time", TODAY, "last_7_days")["values"] == {"median_seconds": 1, "count": 2}


def test_local_days_split_at_the_exact_nanosecond_of_midnight() -> None:
    """2**53 ns is ~104 days: an instant that went through float64 would round to
    the next local midnight. Optional instants (closed_at) must stay integers."""
    tz = "America/Argentina/Buenos_Aires"
    m = build(
        [
            contact("c1", "2026-03-05T23:59:59.999999999-03:00"),
            conv("v1", "c1", "2026-03-05T23:59:59.999999999-03:00", closed="2026-03-06T23:59:59.999999999-03:00"),
            contact("c2", "2026-03-06T00:00:00-03:00"),
            conv("v2", "c2", "2026-03-06T00:00:00-03:00"),  # open: its closed_at is null
        ],
        tz,
    )
    created = m.report("new-contacts", TODAY, None, "2026-03-05", "2026-03-06")["values"]["series"]
    assert created == [{"date": "2026-03-05", "count": 1}, {"date": "2026-03-06", "count": 1}]
    closed = m.report("closed-conversations", TODAY, None, "2026-03-06", "2026-03-07")["values"]["series"]
    assert closed == [{"date": "2026-03-06", "count": 1}, {"date": "2026-03-07", "count": 0}]
    heat = m.report("activity-heatmap", TODAY, None, "2026-03-05", "2026-03-06")["values"]["matrix"]
    assert heat[3][23] == 1 and heat[4][0] == 1  # Thursday 23h and Friday 00h, local


def test_ratio_changes_are_rounded_like_the_ratios() -> None:
    from mediana.domain.reports import scalar

    assert scalar(0.61, 0.7) == {"current": 0.61, "previous": 0.7, "change": -0.09, "change_pct": -12.86}
    assert scalar(1.1, 2.2)["change"] == -1.1
    assert scalar(2.5, 1)["change"] == 1.5
    assert scalar(3, 1) == {"current": 3, "previous": 1, "change": 2, "change_pct": 200.0}


# ---- stored data from before nanoseconds -----------------------------------------------


def _legacy(rec: dict) -> dict:
    """What the same record looked like when instants were stored in microseconds."""
    old = {k: v for k, v in rec.items() if k != NS_MARK}
    for name in INSTANT_FIELDS:
        if isinstance(old.get(name), int):
            old[name] //= 1000
    return json.loads(json.dumps(old))


def test_a_microsecond_record_upgrades_to_the_instant_it_stood_for() -> None:
    rec = parse_record({"tenant_id": "acme", **contact("c1", "2026-03-05T14:31:51.123456Z")}, "acme")
    assert isinstance(rec, dict)
    old = _legacy(rec)
    assert NS_MARK not in old
    upgraded = upgrade(dict(old))
    assert upgraded["created_at"] == rec["created_at"] == parse_instant("2026-03-05T14:31:51.123456Z")
    assert upgraded["updated_at"] == rec["updated_at"]
    assert upgrade(dict(upgraded)) == upgraded  # idempotent


def test_worlds_stored_in_microseconds_fold_with_new_records_as_if_stored_today() -> None:
    history = normalise(
        [
            contact("c1", "2026-03-05T10:00:00Z"),
            conv("v1", "c1", "2026-03-05T10:00:00Z"),
            msg("m1", "v1", "2026-03-05T10:00:00Z"),
        ]
    )
    today = Model()
    today.apply(history)
    # the same state as it was stored before: every record in microseconds, no mark
    stored = LoadedState(
        worlds={"c1": {**empty_world(), "contact": _legacy(today.state.worlds["c1"]["contact"])}},
        routes={"v1": {"c": "c1", "m": {}}},
    )
    stored.worlds["c1"]["convs"] = {"v1": _legacy(today.state.worlds["c1"]["convs"]["v1"])}
    stored.worlds["c1"]["msgs"] = {"m1": _legacy(today.state.worlds["c1"]["msgs"]["m1"])}
    legacy = Model()
    legacy.state = upgrade_stored(stored)
    legacy.days = dict(today.days)

    late = normalise(
        [
            reply("r1", "v1", "2026-03-05T10:00:07.000000500Z"),
            contact("c1", "2026-03-05T10:00:00Z", updated="2026-03-01T00:00:00Z"),  # a replay: no-op
        ],
        10,
    )
    assert legacy.apply(late) == today.apply([dict(r) for r in late])
    assert legacy.days == today.days
    assert legacy.report("response-time", TODAY, "last_7_days")["values"] == {"median_seconds": 7, "count": 1}


def test_a_source_log_stored_in_microseconds_still_aggregates_exactly(stack: object) -> None:
    """Through moto: log items written before nanoseconds (no mark, microseconds) and new
    ones side by side; the reports are what the same records give today."""
    from mediana.storage.store import LogItem
    from mediana_cli.local import upload
    from test_pipeline_moto import _today, get, lines

    day = _today()
    store = stack.store  # type: ignore[attr-defined]
    upload(store, "acme", "a.jsonl", lines("acme", day, "30"))
    for item in LogItem.query("acme"):
        if json.loads(item.r)["kind"] != "message":  # messages stay new, the rest goes legacy
            item.r = json.dumps(_legacy(json.loads(item.r)), separators=(",", ":"))
            item.save()
    stack.pump.drain()  # type: ignore[attr-defined]
    status, _, body = get("/v1/reports/response-time?range=today", "acme")
    assert status == 200, body
    assert body["values"] == {"median_seconds": 390, "count": 1}
    frt = get("/v1/reports/first-response-time?range=today", "acme")[2]
    assert frt["values"] == {"median_seconds": 390, "count": 1, "pending": 0}  # 11:58-03:00 = 14:58Z -> 15:04:30Z


_DIGITS = st.text("0123456789", min_size=1, max_size=4)
_STAMPS = st.builds(
    lambda y, mo, d, h, mi, s, frac, off: f"{y}-{mo}-{d}T{h}:{mi}:{s}{frac}{off}",
    st.integers(1960, 2110).map(str) | _DIGITS,
    st.integers(0, 13).map(lambda v: f"{v:02d}"),
    st.integers(0, 32).map(lambda v: f"{v:02d}"),
    st.integers(0, 25).map(lambda v: f"{v:02d}"),
    st.integers(0, 61).map(lambda v: f"{v:02d}"),
    st.integers(0, 61).map(lambda v: f"{v:02d}"),
    st.just("") | st.text("0123456789", min_size=1, max_size=11).map(lambda f: "." + f),
    st.sampled_from(["Z", "z", "+00:00", "-03:00", "+05:45", "+14:00", "-23:59", "+24:00", "+01:60", "-00:30"]),
)


@settings(max_examples=3000, deadline=None)
@given(_STAMPS | st.text(max_size=40))
def test_the_fast_instant_parse_equals_the_reference(text: str) -> None:
    """parse_instant's integer fast path gives the reference's answer, or its very error."""
    from mediana.domain.timeutil import _parse_instant_checked, parse_instant

    try:
        expected: object = _parse_instant_checked(text)
    except ValueError as exc:
        expected = ("error", str(exc))
    try:
        got: object = parse_instant(text)
    except ValueError as exc:
        got = ("error", str(exc))
    assert got == expected, text
