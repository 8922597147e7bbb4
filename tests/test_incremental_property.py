"""Incremental refresh == full rebuild, for any split, order, duplication and
lateness of the same records (hypothesis). Also: presets kept up to date by day
deltas equal presets rebuilt from the final day documents."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from helpers import Model, fed, latest_versions, normalise
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediana.domain.presets import build_presets, empty_presets, update_presets
from mediana.domain.ranges import PRESETS, preset_range
from mediana.domain.timeutil import format_instant

# MEDIANA_PROPERTY_EXAMPLES=5000 for a long local hunt; CI keeps the default.
EXAMPLES = int(os.environ.get("MEDIANA_PROPERTY_EXAMPLES", "120"))
TZ = "America/Santiago"  # DST changes in April and September
BASE = datetime(2026, 3, 30, tzinfo=UTC)
TODAY = date(2026, 4, 20)

# Fractions down to the nanosecond, clustered so that instants often fall within the
# same microsecond (where a cut to microseconds would reorder or merge them).
fractions = st.sampled_from([0, 1, 300, 700, 999, 1_000, 999_999_999, 500_000_000]) | st.integers(0, 10**9 - 1)
instants = st.builds(
    lambda s, ns: format_instant((int(BASE.timestamp()) + s) * 10**9 + ns),
    st.integers(min_value=0, max_value=21 * 24 * 3600),
    fractions,
)
versions = st.builds(
    lambda s, ns: f"2026-05-01T00:00:0{s}.{ns:09d}Z", st.integers(min_value=0, max_value=5), st.sampled_from([0, 400])
)
CONTACTS = [f"c{i}" for i in range(4)] + ["c-missing"]
CONVS = [f"v{i}" for i in range(5)]
INTERACTION_REPORTS = (
    "call-duration-by-type",
    "calls-per-contact",
    "emails-per-contact",
    "interactions-by-type",
    "touches-per-user",
)


def contact_rec(i: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda up, created, origin, group, deleted, erased: (
            {"kind": "contact", "id": f"c{i}", "updated_at": up, "erased": True}
            if erased
            else {
                "kind": "contact",
                "id": f"c{i}",
                "updated_at": up,
                "created_at": created,
                "origin": origin,
                "entry_group_id": group,
                "group_id": group,
                "owner_id": "u1",
                "deleted_at": deleted,
            }
        ),
        versions,
        instants,
        st.sampled_from(["Ads", "Web", None]),
        st.sampled_from(["g1", "g2"]),
        st.one_of(st.none(), instants),
        st.booleans().map(lambda b: b and False) | st.just(False) | st.booleans(),
    )


def conv_rec(i: int, moving: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda up, cid, created, closed, channel: {
            "kind": "conversation",
            "id": f"v{i}",
            "updated_at": up,
            "contact_id": cid,
            "channel": channel,
            "created_at": created,
            "closed_at": closed,
            "group_id": "g1",
            "owner_id": "u1",
        },
        # moving: versions may name different contacts (test_records_moving_between_parents...)
        versions,
        st.sampled_from(CONTACTS) if moving else st.just(CONTACTS[i % len(CONTACTS)]),
        instants,
        st.one_of(st.none(), instants),
        st.sampled_from(["whatsapp", "email"]),
    )


def msg_rec(i: int) -> st.SearchStrategy[dict[str, Any]]:
    """Versions may name different conversations (a conversation merge moves messages),
    and the conversations may move between contacts."""
    kinds = st.sampled_from(
        [
            ("inbound", "contact", None),
            ("outbound", "advisor", "u1"),
            ("outbound", "advisor", "u2"),
            ("outbound", "bot", None),
            ("outbound", "system", None),
        ]
    )
    return st.builds(
        lambda up, vid, at, k: {
            "kind": "message",
            "id": f"m{i}",
            "updated_at": up,
            "conversation_id": vid,
            "direction": k[0],
            "author_type": k[1],
            "author_id": k[2],
            "created_at": at,
        },
        versions,
        st.sampled_from(CONVS),
        instants,
        kinds,
    )


def interaction_rec(i: int, moving: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Versions may move an interaction to another owner, type, call type or outcome;
    moving, also to another contact's timeline (a CRM's contact merge reassigns them)."""
    return st.builds(
        lambda up, cid, itype, at, outcome, owner, ctype, secs: {
            "kind": "interaction",
            "id": f"i{i}",
            "updated_at": up,
            "contact_id": cid,
            "owner_id": owner,
            "type": itype,
            "occurred_at": at,
            **({"call_type": ctype, "outcome": outcome, "duration_seconds": secs} if itype == "call_log" else {}),
        },
        versions,
        st.sampled_from(CONTACTS) if moving else st.just(CONTACTS[i % 4]),
        st.sampled_from(["call_log", "call_log", "campaign_email", "automation_email", "whatsapp_log", "note"]),
        instants,
        st.sampled_from(["answered", "rejected", "busy", None]),
        st.sampled_from(["u1", "u2", None]),
        st.sampled_from(["demo", "closing", "custom", None]),
        st.sampled_from([None, 0, 30, 45.5, 3600]),
    )


@st.composite
def datasets(draw: st.DrawFn, moving: bool = False) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for i in range(4):
        recs += draw(st.lists(contact_rec(i), min_size=0, max_size=3))
    for i in range(5):
        recs += draw(st.lists(conv_rec(i, moving), min_size=0, max_size=3 if moving else 2))
    for i in range(8 if moving else 14):
        recs += draw(st.lists(msg_rec(i), min_size=0, max_size=2))
    for i in range(8):
        recs += draw(st.lists(interaction_rec(i, moving), min_size=0, max_size=3 if moving else 2))
    erase = draw(st.lists(st.sampled_from(["c0", "c1", "v0", "m0", "i0"]), max_size=2))
    for target in erase:
        kind = {"c": "contact", "v": "conversation", "m": "message", "i": "interaction"}[target[0]]
        tomb: dict[str, Any] = {"kind": kind, "id": target, "updated_at": "2026-05-02T00:00:00Z", "erased": True}
        if kind == "conversation":
            tomb["contact_id"] = "c0"
        if kind == "message":
            tomb["conversation_id"] = "v0"
        if kind == "interaction":
            tomb["contact_id"] = "c0"
        recs.append(tomb)
    return recs


@st.composite
def arrivals(draw: st.DrawFn, moving: bool = False) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """A data set, and the same records as deltas: shuffled, duplicated, split."""
    recs = draw(datasets(moving))
    stream = list(recs) + draw(st.lists(st.sampled_from(recs), max_size=6)) if recs else []
    stream = draw(st.permutations(stream))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    deltas, last = [], 0
    for cut in cuts + [len(stream)]:
        deltas.append(stream[last:cut])
        last = cut
    return recs, deltas


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrivals())
def test_incremental_refresh_equals_full_rebuild(case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]) -> None:
    _check_incremental_equals_full(case)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrivals(moving=True))
def test_records_moving_between_parents_give_the_same_result_in_any_split(
    case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]],
) -> None:
    """Conversations and interactions whose versions name different contacts, some of
    them erased, and messages whose versions name different conversations: the latest
    version decides where each counts, or that it counts nowhere, in any order and split.
    A message that arrives while its conversation names an erased contact counts again
    once a newer version moves the conversation to a live one."""
    _check_incremental_equals_full(case)


def _check_incremental_equals_full(case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]) -> None:
    """Also against an oracle: the build from only the latest version of each record, as if
    no other had ever arrived (the contract's reading; a build in one batch meets them all)."""
    recs, deltas = case
    full = Model(TZ)
    assert full.apply(normalise(recs)) == Model(TZ).apply(latest_versions(normalise(recs)))

    incremental = Model(TZ)
    presets = empty_presets(TODAY)  # every bucket of every preset
    seq = 1
    for delta in deltas:
        batch = normalise(delta, seq)
        seq += len(batch)
        update_presets(presets, incremental.apply(batch))

    assert incremental.days == full.days
    rebuilt = build_presets(TODAY, full.days)
    for key, summary in rebuilt.items():
        assert presets[key].cur == summary.cur and presets[key].prev == summary.prev, key
    for report in ("response-time", "first-response-time", "origins", "new-conversations"):
        assert incremental.report(report, TODAY, "last_30_days") == full.report(report, TODAY, "last_30_days")
    for report in INTERACTION_REPORTS:
        assert incremental.report(report, TODAY) == full.report(report, TODAY)
        assert incremental.report(report, TODAY, None, "2026-04-01", "2026-04-10") == full.report(
            report, TODAY, None, "2026-04-01", "2026-04-10"
        )


@st.composite
def rebuilds(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], list[int], list[dict[str, Any]]]:
    """Arrivals, where a rebuild's replay of the log splits, and records arriving after it."""
    recs, deltas = draw(arrivals(moving=draw(st.booleans())))
    cuts = draw(st.lists(st.integers(0, len(recs) + 6), max_size=4))
    late = draw(st.lists(st.sampled_from(recs), max_size=6)) if recs else []
    return deltas, cuts, late


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rebuilds())
def test_a_rebuild_from_the_compacted_log_gives_the_same_result_now_and_after_late_records(
    case: tuple[list[list[dict[str, Any]]], list[int], list[dict[str, Any]]],
) -> None:
    """The log keeps what later records still need to lose to: replayed in any split into a
    new generation (a rebuild), it gives the same days, and still the same days once any of
    the records, older versions among them, arrive again."""
    deltas, cuts, late = case
    live, seq = fed(deltas, TZ)
    rebuilt = live.rebuilt(cuts)
    assert rebuilt.days == live.days
    for model in (live, rebuilt):
        model.apply(normalise(late, seq))
    assert rebuilt.days == live.days


@settings(max_examples=max(EXAMPLES // 2, 1), deadline=None)
@given(datasets(), st.integers(min_value=1, max_value=366), st.integers(min_value=0, max_value=40))
def test_custom_range_equal_to_a_preset_gives_identical_numbers(
    recs: list[dict[str, Any]], span: int, back: int
) -> None:
    model = Model(TZ)
    model.apply(normalise(recs))
    for preset in PRESETS:
        r = preset_range(preset, TODAY)
        for report in (
            "response-time",
            "new-contacts",
            "activity-heatmap",
            "closed-conversations",
            *INTERACTION_REPORTS,
        ):
            assert model.report(report, TODAY, preset) == model.report(
                report, TODAY, None, r.start.isoformat(), r.end.isoformat()
            )
