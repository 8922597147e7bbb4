"""Every conversation-report definition against hand-computed expectations."""

from __future__ import annotations

from datetime import date
from typing import Any

from helpers import build
from mediana.domain.reports import median

TODAY = date(2026, 3, 10)


def contact(
    cid: str,
    created: str,
    origin: str | None = "Ads",
    group: str = "g1",
    entry: str = "g1",
    deleted: str | None = None,
    updated: str = "2026-03-01T00:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": "contact",
        "id": cid,
        "updated_at": updated,
        "created_at": created,
        "origin": origin,
        "entry_group_id": entry,
        "group_id": group,
        "owner_id": "u1",
        "deleted_at": deleted,
        **extra,
    }


def conv(
    vid: str,
    cid: str,
    created: str,
    closed: str | None = None,
    channel: str = "whatsapp",
    group: str = "g1",
    owner: str = "u1",
    updated: str = "2026-03-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "kind": "conversation",
        "id": vid,
        "updated_at": updated,
        "contact_id": cid,
        "channel": channel,
        "created_at": created,
        "closed_at": closed,
        "group_id": group,
        "owner_id": owner,
    }


def msg(
    mid: str,
    vid: str,
    at: str,
    direction: str = "inbound",
    author: str = "contact",
    author_id: str | None = None,
    updated: str = "2026-03-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "kind": "message",
        "id": mid,
        "updated_at": updated,
        "conversation_id": vid,
        "direction": direction,
        "author_type": author,
        "author_id": author_id,
        "created_at": at,
    }


def reply(mid: str, vid: str, at: str, who: str = "u1", updated: str = "2026-03-01T00:00:00Z") -> dict[str, Any]:
    return msg(mid, vid, at, "outbound", "advisor", who, updated)


def call(
    iid: str,
    cid: str,
    at: str,
    outcome: str = "answered",
    owner: str | None = "u1",
    updated: str = "2026-03-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "kind": "interaction",
        "id": iid,
        "updated_at": updated,
        "contact_id": cid,
        "owner_id": owner,
        "type": "call_log",
        "occurred_at": at,
        "call_type": "demo",
        "outcome": outcome,
        "duration_seconds": 60,
    }


def test_median_is_exact_middle_or_mean_of_two_and_null_when_empty() -> None:
    assert median({}) is None
    assert median({5: 1}) == 5
    assert median({1: 1, 2: 1, 10: 1}) == 2
    assert median({1: 1, 2: 1}) == 1.5
    assert median({1: 2, 9: 2}) == 5
    assert median({3: 4}) == 3


def test_response_time_ignores_bots_and_system_and_starts_waits_at_first_inbound() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T09:00:00Z"),
            conv("v1", "c1", "2026-03-05T09:00:00Z"),
            msg("m1", "v1", "2026-03-05T10:00:00Z"),
            msg("m2", "v1", "2026-03-05T10:00:05Z", "outbound", "bot"),  # bot: neither starts nor ends a wait
            msg("m3", "v1", "2026-03-05T10:01:00Z"),  # second inbound: the wait still started at m1
            reply("m4", "v1", "2026-03-05T10:02:00.900Z"),  # 120.9 s -> 120 (truncated)
            reply("m5", "v1", "2026-03-05T10:03:00Z"),  # no inbound since the last reply: no sample
            msg("m6", "v1", "2026-03-05T11:00:00Z", "outbound", "system"),
            msg("m7", "v1", "2026-03-05T12:00:00Z"),
            reply("m8", "v1", "2026-03-05T12:00:30Z", "u2"),  # 30 s, by u2
        ]
    )
    out = m.report("response-time", TODAY, "last_7_days")
    assert out["values"] == {"median_seconds": 75, "count": 2}  # even count: mean of 30 and 120
    by_u2 = m.report("response-time", TODAY, "last_7_days", filters={"owner": ["u2"]})
    assert by_u2["values"] == {"median_seconds": 30, "count": 1}


def test_response_ties_order_by_id_and_sample_belongs_to_reply_date() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T09:00:00Z"),
            conv("v1", "c1", "2026-03-05T09:00:00Z"),
            msg("a", "v1", "2026-03-05T23:59:00Z"),
            reply("b", "v1", "2026-03-06T00:01:00Z"),  # reply on the 6th
            msg("c", "v1", "2026-03-06T05:00:00Z"),
            reply("d", "v1", "2026-03-06T05:00:00Z"),  # same instant, id d > c: inbound first, 0 s
        ]
    )
    assert m.report("response-time", TODAY, None, "2026-03-05", "2026-03-05")["values"]["count"] == 0
    day6 = m.report("response-time", TODAY, None, "2026-03-06", "2026-03-06")["values"]
    assert day6 == {"median_seconds": 60, "count": 2}  # samples 120 and 0


def test_first_response_counts_calls_and_messages_from_any_conversation_pending_and_null() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T10:00:00Z"),
            conv("v1", "c1", "2026-03-05T10:00:00Z"),
            conv("v2", "c1", "2026-03-05T10:30:00Z", channel="email"),
            msg("m1", "v1", "2026-03-05T10:00:00Z"),
            msg("b1", "v1", "2026-03-05T10:00:01Z", "outbound", "bot"),  # bots are never effective
            reply("r1", "v2", "2026-03-05T11:00:00Z"),  # 3600 s, on another conversation
            contact("c2", "2026-03-05T12:00:00Z"),
            call("k1", "c2", "2026-03-05T12:10:00Z", "rejected"),  # rejected call counts: 600 s
            call("k0", "c2", "2026-03-05T12:05:00Z", "no_answer"),  # not effective
            contact("c3", "2026-03-05T13:00:00Z"),
            call("k3", "c3", "2026-03-05T13:01:00Z", owner=None),  # no owner: not effective -> pending
            contact("c4", "2026-03-05T14:00:00Z", deleted="2026-03-06T00:00:00Z"),  # deleted still counts
            call("k4", "c4", "2026-03-05T13:00:00Z"),  # before creation: 0
        ]
    )
    out = m.report("first-response-time", TODAY, "last_7_days")["values"]
    assert out == {"median_seconds": 600, "count": 3, "pending": 1}  # samples 0, 600, 3600
    empty = m.report("first-response-time", TODAY, None, "2026-01-01", "2026-01-31")
    assert empty["values"]["median_seconds"] is None and empty["comparison"]["median_seconds"]["change_pct"] is None


def test_new_contacts_include_deleted_origins_exclude_them_and_erasure_counts_nowhere() -> None:
    m = build(
        [
            contact("c1", "2026-03-05T10:00:00Z", origin=None),
            contact("c2", "2026-03-05T11:00:00Z", deleted="2026-03-07T00:00:00Z"),
            contact("c3", "2026-03-06T11:00:00Z"),
            conv("v3", "c3", "2026-03-06T11:00:00Z", closed="2026-03-06T12:00:00Z"),
            reply("r3", "v3", "2026-03-06T11:05:00Z"),
            contact("c4", "2026-03-06T11:00:00Z"),
            conv("v4", "c4", "2026-03-06T11:00:00Z"),
            {"kind": "contact", "id": "c4", "updated_at": "2026-03-08T00:00:00Z", "erased": True},
        ]
    )
    nc = m.report("new-contacts", TODAY, "last_7_days")["values"]
    assert nc["count"] == 3
    assert [d["count"] for d in nc["series"] if d["date"] in ("2026-03-05", "2026-03-06")] == [2, 1]
    org = m.report("origins", TODAY, "last_7_days")["values"]
    assert org["rows"] == [
        {"origin": "Ads", "contacts": 1, "contacted": 1, "resolved_conversations": 1, "deleted": 1},
        {"origin": "unknown", "contacts": 1, "contacted": 0, "resolved_conversations": 0, "deleted": 0},
    ]
    assert m.report("new-conversations", TODAY, "last_7_days")["values"]["count"] == 1  # erased c4's is gone


def test_conversation_counts_channels_heatmap_and_combined_filters() -> None:
    m = build(
        [
            contact("c1", "2026-03-02T10:00:00Z", origin="Ads"),
            contact("c2", "2026-03-02T10:00:00Z", origin="Web"),
            conv("v1", "c1", "2026-03-02T10:15:00Z", closed="2026-03-03T09:00:00Z"),  # Monday 10h
            conv("v2", "c1", "2026-03-03T15:00:00Z", channel="email", owner="u2"),
            conv("v3", "c2", "2026-03-03T15:30:00Z", closed="2026-03-03T16:00:00Z", group="g2"),
        ]
    )
    new = m.report("new-conversations", TODAY, "last_30_days")["values"]
    assert new["count"] == 3
    assert new["by_channel"] == [
        {"channel": "whatsapp", "count": 2, "previous": 0},
        {"channel": "email", "count": 1, "previous": 0},
    ]
    closed = m.report("closed-conversations", TODAY, None, "2026-03-03", "2026-03-03")["values"]
    assert closed["count"] == 2
    heat = m.report("activity-heatmap", TODAY, "last_30_days")["values"]
    assert heat["matrix"][0][10] == 1 and heat["matrix"][1][15] == 2 and heat["count"] == 3
    both = m.report(
        "new-conversations", TODAY, "last_30_days", filters={"origin": ["Ads", "Web"], "channel": ["whatsapp"]}
    )["values"]
    assert both["count"] == 2  # origin OR, channel AND
    narrow = m.report(
        "new-conversations",
        TODAY,
        "last_30_days",
        filters={"origin": ["Ads"], "channel": ["whatsapp"], "owner": ["u1"], "group": ["g1"]},
    )
    assert narrow["values"]["count"] == 1


def test_null_dimensions_mixed_with_values_still_count() -> None:
    """Regression: pandas 3 stores a column mixing None and text as a string dtype with NaN,
    which a groupby silently dropped (unassigned conversations, contacts without a group)."""
    m = build(
        [
            contact("c1", "2026-03-02T10:00:00Z", origin=None, group="g1", entry="g1"),
            {**contact("c2", "2026-03-02T10:00:00Z", origin="Web"), "group_id": None, "entry_group_id": None},
            conv("v1", "c1", "2026-03-02T10:15:00Z", closed="2026-03-02T11:00:00Z"),
            {**conv("v2", "c2", "2026-03-02T10:30:00Z", closed="2026-03-02T11:00:00Z"), "owner_id": None},
        ]
    )
    assert m.report("new-contacts", TODAY, "last_30_days")["values"]["count"] == 2
    assert m.report("new-conversations", TODAY, "last_30_days")["values"]["count"] == 2
    assert m.report("closed-conversations", TODAY, "last_30_days")["values"]["count"] == 2
    unassigned = m.report("new-conversations", TODAY, "last_30_days", filters={"owner": ["none"]})
    assert unassigned["values"]["count"] == 1
    no_group = m.report("new-contacts", TODAY, "last_30_days", filters={"group": ["none"]})
    assert no_group["values"]["count"] == 1
    rows = m.report("origins", TODAY, "last_30_days")["values"]["rows"]
    assert {r["origin"]: r["contacts"] for r in rows} == {"unknown": 1, "Web": 1}


def test_local_days_follow_the_tenant_zone_across_dst() -> None:
    # Madrid springs forward on 2026-03-29: that local day lasts 23 hours.
    tz = "Europe/Madrid"
    m = build(
        [
            contact("c1", "2026-03-28T23:30:00Z"),  # 00:30 local on the 29th
            contact("c2", "2026-03-29T21:59:00Z"),  # 23:59 local (CEST) on the 29th
            contact("c3", "2026-03-29T22:00:00Z"),  # 00:00 local on the 30th
            conv("v1", "c1", "2026-03-29T01:30:00Z"),  # 03:30 local (02:xx does not exist)
        ],
        tz,
    )
    days = m.report("new-contacts", date(2026, 3, 31), None, "2026-03-29", "2026-03-30")["values"]["series"]
    assert days == [{"date": "2026-03-29", "count": 2}, {"date": "2026-03-30", "count": 1}]
    heat = m.report("activity-heatmap", date(2026, 3, 31), None, "2026-03-29", "2026-03-29")["values"]
    assert heat["matrix"][6][3] == 1  # Sunday, 03h local


def test_previous_period_and_change() -> None:
    m = build(
        [
            contact("c1", "2026-03-01T10:00:00Z"),
            contact("c2", "2026-03-02T10:00:00Z"),
            contact("c3", "2026-03-09T10:00:00Z"),
        ]
    )
    out = m.report("new-contacts", TODAY, None, "2026-03-08", "2026-03-10")
    assert out["comparison"]["count"] == {"current": 1, "previous": 0, "change": 1, "change_pct": None}
    wide = m.report("new-contacts", TODAY, None, "2026-03-06", "2026-03-10")  # previous: 1st..5th
    assert wide["comparison"]["count"] == {"current": 1, "previous": 2, "change": -1, "change_pct": -50.0}


def test_missing_parent_is_kept_and_counts_once_it_arrives() -> None:
    m = build([msg("m1", "v1", "2026-03-05T10:00:00Z"), reply("m2", "v1", "2026-03-05T10:01:00Z")])
    assert m.report("response-time", TODAY, "last_7_days")["values"]["count"] == 0
    from helpers import normalise

    m.apply(normalise([contact("c1", "2026-03-05T09:00:00Z"), conv("v1", "c1", "2026-03-05T09:59:00Z")], 10))
    assert m.report("response-time", TODAY, "last_7_days")["values"] == {"median_seconds": 60, "count": 1}
