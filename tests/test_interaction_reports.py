"""The five interaction reports (seed 003) against hand-computed expectations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from helpers import build
from mediana.domain.records import INTERACTION_TYPES
from mediana.domain.report_values import two_decimals
from mediana.services.schemas import VALUES

TODAY = date(2026, 3, 10)
WEEK = {"start": "2026-03-01", "end": "2026-03-07"}  # previous period: 2026-02-22 .. 2026-02-28
TZ = "America/Santiago"


def directory() -> list[dict[str, Any]]:
    up = "2026-01-01T00:00:00Z"
    return [
        {
            "kind": "tenant",
            "id": "acme",
            "updated_at": up,
            "name": "Acme",
            "timezone": TZ,
            "call_types": ["demo", "closing"],
        },
        {"kind": "user", "id": "u1", "updated_at": up, "name": "Ana"},
        {"kind": "user", "id": "u2", "updated_at": up, "name": "Beto"},
        {"kind": "user", "id": "u3", "updated_at": up, "name": "Caro"},  # active, no activity at all
        {"kind": "user", "id": "u4", "updated_at": up, "name": "Dani", "active": False},  # inactive: no row
    ]


def contact(cid: str, created: str, owner: str | None, deleted: str | None = None) -> dict[str, Any]:
    return {
        "kind": "contact",
        "id": cid,
        "updated_at": "2026-01-01T00:00:00Z",
        "created_at": created,
        "origin": "Ads",
        "entry_group_id": None,
        "group_id": None,
        "owner_id": owner,
        "deleted_at": deleted,
    }


def act(iid: str, cid: str, owner: str | None, itype: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "interaction",
        "id": iid,
        "updated_at": "2026-01-01T00:00:00Z",
        "contact_id": cid,
        "owner_id": owner,
        "type": itype,
        "occurred_at": at,
        **extra,
    }


def call(
    iid: str, cid: str, owner: str | None, ctype: str, outcome: str, secs: float | None, at: str
) -> dict[str, Any]:
    return act(iid, cid, owner, "call_log", at, call_type=ctype, outcome=outcome, duration_seconds=secs)


def dataset() -> list[dict[str, Any]]:
    return [
        *directory(),
        contact("c1", "2026-02-20T15:00:00Z", "u1"),
        contact("c2", "2026-03-01T15:00:00Z", "u1"),
        contact("c3", "2026-02-21T15:00:00Z", "u2", deleted="2026-03-03T00:00:00Z"),  # deleted: still counts
        contact("c4", "2026-03-02T15:00:00Z", None),
        contact("c5", "2026-03-08T15:00:00Z", "u2"),  # created after the range end
        call("i1", "c1", "u1", "demo", "answered", 120, "2026-03-02T15:00:00Z"),
        call("i2", "c1", "u1", "demo", "answered", 60, "2026-03-03T15:00:00Z"),
        call("i3", "c2", "u1", "demo", "busy", 0, "2026-03-03T16:00:00Z"),  # zero-duration call
        call("i4", "c1", "u2", "closing", "answered", 30, "2026-03-04T15:00:00Z"),  # c1 called by two owners
        call("i5", "c3", "u2", "mystery", "rejected", 48, "2026-03-04T16:00:00Z"),  # unknown type, deleted contact
        call("i6", "c4", None, "demo", "no_answer", None, "2026-03-05T15:00:00Z"),  # unassigned, no duration
        act("i7", "c1", "u1", "campaign_email", "2026-03-02T12:00:00Z"),
        act("i8", "c2", "u1", "campaign_email", "2026-03-02T12:00:00Z"),
        act("i9", "c1", "u1", "campaign_email", "2026-03-06T12:00:00Z"),
        act("i10", "c1", "u2", "automation_email", "2026-03-06T12:00:00Z"),
        act("i11", "c4", None, "automation_email", "2026-03-06T12:00:00Z"),
        act("i12", "c2", "u1", "whatsapp_log", "2026-03-06T13:00:00Z"),
        act("i13", "c1", "u1", "note", "2026-03-06T14:00:00Z"),
        {**call("i14", "c1", "u1", "demo", "answered", 999, "2026-03-06T15:00:00Z")},
        {"kind": "interaction", "id": "i14", "updated_at": "2026-02-01T00:00:00Z", "erased": True, "contact_id": "c1"},
        call("i15", "c1", "u1", "demo", "answered", 60, "2026-02-25T15:00:00Z"),  # previous period
        call("i16", "c-missing", "u1", "demo", "answered", 60, "2026-03-03T15:00:00Z"),  # parent not arrived
        act("i17", "c1", "u1", "note", "2026-03-08T12:00:00Z"),  # after the range
    ]


def report(report_id: str, rows: list[dict[str, Any]] | None = None, **filters: list[str]) -> dict[str, Any]:
    model = build(rows or dataset(), TZ)
    out = model.report(report_id, TODAY, None, WEEK["start"], WEEK["end"], filters)
    VALUES[report_id].model_validate(out["values"])  # the documented schema holds
    return out


def owners(values: dict[str, Any]) -> list[str | None]:
    return [row["owner_id"] for row in values["owners"]]


def test_calls_per_contact_counts_a_contact_once_in_the_total() -> None:
    out = report("calls-per-contact")
    v = out["values"]
    assert owners(v) == ["u1", "u2", "u3", None]  # Ana, Beto, Caro (no calls), unassigned
    assert v["owners"][0] == {
        "owner_id": "u1",
        "name": "Ana",
        "calls": 3,
        "contacts_called": 2,
        "calls_per_contact": 1.5,
    }
    assert v["owners"][1] == {
        "owner_id": "u2",
        "name": "Beto",
        "calls": 2,
        "contacts_called": 2,
        "calls_per_contact": 1.0,
    }
    assert v["owners"][2] == {
        "owner_id": "u3",
        "name": "Caro",
        "calls": 0,
        "contacts_called": 0,
        "calls_per_contact": None,
    }
    assert v["owners"][3] == {
        "owner_id": None,
        "name": "unassigned",
        "calls": 1,
        "contacts_called": 1,
        "calls_per_contact": 1.0,
    }
    assert v["total"] == {"calls": 6, "contacts_called": 4, "calls_per_contact": 1.5}  # c1 once, not twice
    assert out["comparison"]["calls"] == {"current": 6, "previous": 1, "change": 5, "change_pct": 500.0}


def test_calls_per_contact_filters_owner_call_type_and_outcome() -> None:
    v = report("calls-per-contact", call_type=["demo"])["values"]
    assert v["total"] == {"calls": 4, "contacts_called": 3, "calls_per_contact": 1.33}
    v = report("calls-per-contact", owner=["u1", "u2"], outcome=["answered"])["values"]
    assert owners(v) == ["u1", "u2"]
    assert [r["calls"] for r in v["owners"]] == [2, 1]
    assert v["total"] == {"calls": 3, "contacts_called": 1, "calls_per_contact": 3.0}
    v = report("calls-per-contact", owner=["none"])["values"]
    assert owners(v) == [None] and v["total"]["calls"] == 1


def test_call_duration_by_type_rows_subtotals_and_zero_types() -> None:
    out = report("call-duration-by-type")
    v = out["values"]
    ana, beto, caro, unassigned = v["owners"]
    assert (ana["calls"], ana["contacts_called"], ana["avg_duration_minutes"]) == (3, 2, 1.0)
    demo, closing = ana["call_types"]
    assert (demo["call_type"], demo["calls"], demo["contacts_called"], demo["avg_duration_minutes"]) == (
        "demo",
        3,
        2,
        1.0,
    )
    assert demo["outcomes"] == [
        {"outcome": "answered", "calls": 2, "contacts_called": 1, "avg_duration_minutes": 1.5},
        {"outcome": "busy", "calls": 1, "contacts_called": 1, "avg_duration_minutes": 0.0},  # zero-duration
    ]
    assert closing == {
        "call_type": "closing",
        "calls": 0,
        "contacts_called": 0,
        "avg_duration_minutes": None,
        "outcomes": [],
    }
    assert [t["call_type"] for t in beto["call_types"]] == ["demo", "closing", "mystery"]  # unknown type kept
    assert beto["call_types"][2]["outcomes"] == [
        {"outcome": "rejected", "calls": 1, "contacts_called": 1, "avg_duration_minutes": 0.8}
    ]
    assert (beto["calls"], beto["avg_duration_minutes"]) == (2, 0.65)
    assert caro["calls"] == 0 and [t["calls"] for t in caro["call_types"]] == [0, 0]
    assert unassigned["name"] == "unassigned" and unassigned["avg_duration_minutes"] is None  # no duration given
    assert v["total"] == {"calls": 6, "contacts_called": 4, "avg_duration_minutes": 0.86}  # 258 s / 5 timed calls
    assert out["comparison"]["avg_duration_minutes"]["previous"] == 1.0


def test_call_duration_filtered_to_one_type_hides_the_others() -> None:
    v = report("call-duration-by-type", call_type=["closing"], owner=["u2"])["values"]
    assert owners(v) == ["u2"]
    assert [t["call_type"] for t in v["owners"][0]["call_types"]] == ["closing"]
    assert v["total"] == {"calls": 1, "contacts_called": 1, "avg_duration_minutes": 0.5}


def test_emails_per_contact() -> None:
    out = report("emails-per-contact")
    assert out["values"] == {
        "campaign_emails": 3,
        "campaign_contacts": 2,
        "campaign_emails_per_contact": 1.5,
        "automation_emails": 2,
        "automation_contacts": 2,
        "automation_emails_per_contact": 1.0,
        "emails": 5,
        "contacts_emailed": 3,
        "emails_per_contact": 1.67,
    }
    v = report("emails-per-contact", owner=["u1"])["values"]
    assert (v["automation_emails"], v["automation_emails_per_contact"], v["emails_per_contact"]) == (0, None, 1.5)
    assert out["comparison"]["emails"] == {"current": 5, "previous": 0, "change": 5, "change_pct": None}


def test_interactions_by_type_lists_all_eleven_with_zeros() -> None:
    out = report("interactions-by-type")
    counts = {row["type"]: row["count"] for row in out["values"]["by_type"]}
    assert list(counts) == list(INTERACTION_TYPES)
    assert counts == {
        **dict.fromkeys(INTERACTION_TYPES, 0),
        "call_log": 6,
        "campaign_email": 3,
        "automation_email": 2,
        "whatsapp_log": 1,
        "note": 1,
    }
    assert out["values"]["total"] == 13  # the erased call, the orphan and the later note count nowhere
    assert out["comparison"]["call_log"]["previous"] == 1
    assert report("interactions-by-type", owner=["u2"])["values"]["total"] == 3


def test_touches_per_user() -> None:
    out = report("touches-per-user")
    v = out["values"]
    assert owners(v) == ["u1", "u2", "u3", None]
    assert v["owners"][0] == {
        "owner_id": "u1",
        "name": "Ana",
        "contacts": 2,
        "calls": 3,
        "emails": 3,
        "whatsapp_conversations": 1,
        "communications": 7,
        "communications_per_contact": 3.5,
    }
    # c3 is deleted and c5 is created after the range end: Beto owns no counted contact
    assert v["owners"][1]["contacts"] == 0 and v["owners"][1]["communications_per_contact"] is None
    assert v["owners"][3]["contacts"] == 1 and v["owners"][3]["communications"] == 2
    assert v["total"] == {
        "contacts": 3,
        "calls": 6,
        "emails": 5,
        "whatsapp_conversations": 1,
        "communications": 12,
        "communications_per_contact": 4.0,
    }
    assert out["comparison"]["contacts"]["previous"] == 1  # only c1 existed by 2026-02-28
    v = report("touches-per-user", outcome=["answered"])["values"]
    assert v["total"]["calls"] == 3 and v["total"]["emails"] == 5  # call filters restrict calls only


def test_a_later_version_moves_an_interaction_to_another_owner_and_type() -> None:
    rows = dataset() + [
        {
            **call("i1", "c1", "u2", "closing", "answered", 120, "2026-03-02T15:00:00Z"),
            "updated_at": "2026-03-09T00:00:00Z",
        },
        {**act("i7", "c1", "u1", "note", "2026-03-02T12:00:00Z"), "updated_at": "2026-03-09T00:00:00Z"},
    ]
    v = report("calls-per-contact", rows)["values"]
    assert [r["calls"] for r in v["owners"]] == [2, 3, 0, 1]
    assert report("emails-per-contact", rows)["values"]["campaign_emails"] == 2
    assert report("interactions-by-type", rows)["values"]["total"] == 13


def test_the_orphan_counts_once_its_contact_arrives() -> None:
    rows = dataset() + [contact("c-missing", "2026-03-01T15:00:00Z", "u3")]
    v = report("calls-per-contact", rows)["values"]
    assert v["total"] == {"calls": 7, "contacts_called": 5, "calls_per_contact": 1.4}


def test_erased_contact_takes_its_interactions_with_it() -> None:
    rows = dataset() + [{"kind": "contact", "id": "c1", "updated_at": "2026-03-09T00:00:00Z", "erased": True}]
    v = report("calls-per-contact", rows)["values"]
    assert v["total"] == {"calls": 3, "contacts_called": 3, "calls_per_contact": 1.0}


@pytest.mark.parametrize(("start", "end", "calls"), [("2026-04-04", "2026-04-04", 1), ("2026-04-05", "2026-04-05", 0)])
def test_days_follow_the_tenant_zone_across_the_dst_change(start: str, end: str, calls: int) -> None:
    # Chile leaves summer time at 2026-04-05 00:00 local (03:00Z): 03:30Z is 23:30 on the 4th
    rows = [
        *directory(),
        contact("c1", "2026-03-01T15:00:00Z", "u1"),
        call("i1", "c1", "u1", "demo", "answered", 60, "2026-04-05T03:30:00Z"),
    ]
    model = build(rows, TZ)
    out = model.report("calls-per-contact", date(2026, 4, 20), None, start, end)
    assert out["values"]["total"]["calls"] == calls
    span = model.report("calls-per-contact", date(2026, 4, 20), None, "2026-03-20", "2026-04-10")
    assert span["values"]["total"]["calls"] == 1  # a range that crosses the change


def test_default_range_is_the_last_365_days() -> None:
    model = build(dataset(), TZ)
    out = model.report("interactions-by-type", TODAY)
    assert out["values"]["total"] == 15  # every live interaction with a contact, i15 and i17 included


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        (1, 8, 0.13),  # float division and round() gave 0.12 here, and 0.38 for 3/8: halves went both ways
        (3, 8, 0.38),
        (5, 8, 0.63),
        (793_800, 2 * 60_000, 6.62),  # 782 s and 11.8 s over 2 calls, in minutes: 6.615 exactly
        (900, 60_000, 0.02),  # one call of 0.9 s: 0.015 minutes
        (-1, 8, -0.13),  # a change, half away from zero
        (0, 3, 0.0),
        (1, 3, 0.33),
        (2, 3, 0.67),
        (1.005, 1, 1.01),  # a float is the decimal it prints as (its binary value is below 1.005)
        (1, 0, None),
    ],
)
def test_ratios_round_the_exact_quotient_half_away_from_zero(num: float, den: int, expected: float | None) -> None:
    assert two_decimals(num, den) == expected
