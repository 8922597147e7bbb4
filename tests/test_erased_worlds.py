"""Conversations whose latest version names an erased contact, their messages, and a rebuild
from the compacted log (``mediana.domain.world``). Deterministic regressions for what the
property tests in test_incremental_property found."""

from __future__ import annotations

from datetime import date
from typing import Any

from helpers import fed, normalise
from mediana.domain.sections import SECTIONS
from mediana.services import aggregate
from mediana.storage.generations import read_view
from test_definitions import contact, conv, msg, reply

TZ = "America/Santiago"
CREATED, STARTED = "2026-03-30T00:00:00Z", "2026-03-31T00:00:00Z"  # a contact's, a conversation's
V = "2026-05-01T00:00:00Z"  # the version of most records


def _tomb(cid: str, updated_at: str = "2026-05-02T00:00:00Z") -> dict[str, Any]:
    return {"kind": "contact", "id": cid, "updated_at": updated_at, "erased": True}


def test_live_version_after_an_erasure_gives_the_same_result_in_any_split() -> None:
    """Regression (found by the incremental = full property): an erased contact, then a live
    version of it at the same or a later instant, with a conversation of it in between."""
    tomb, talk = _tomb("c1", V), conv("v1", "c1", STARTED, updated=V)
    for live_at in ("2026-05-01T00:00:00Z", "2026-05-01T00:00:05Z"):
        live = contact("c1", CREATED, updated=live_at)
        full, _ = fed([[tomb, talk, live]], TZ)
        split, _ = fed([[tomb, talk], [live]], TZ)
        assert split.days == full.days == {}


def test_an_older_version_does_not_bring_back_a_conversation_whose_latest_names_an_erased_contact() -> None:
    """Regression: the latest version of v1 moves it to c1, which is erased; an older
    version naming c2 arrived before it, after it, or later alone (a replay). It counts
    nowhere in every order and split; before the stamp, it came back in c2's world."""
    c1, c2, tomb = contact("c1", CREATED, updated=V), contact("c2", CREATED, updated=V), _tomb("c1")
    older, latest = (
        conv("v1", "c2", STARTED, updated=V),
        conv("v1", "c1", STARTED, updated="2026-05-03T00:00:00Z"),
    )
    base: list[dict[str, Any]] = [c1, c2, tomb]
    cases: tuple[list[list[dict[str, Any]]], ...] = (
        [[*base, older, latest]],
        [[*base, latest, older]],
        [[*base, latest], [older]],
        [[*base, older], [latest], [older]],
        [[c1, c2, older], [latest], [tomb], [older]],
    )
    for batches in cases:
        model, _ = fed(batches, TZ)
        conversation_sections = {key for key in model.days if key[0] not in ("nc", "frt", "org", "own")}
        assert conversation_sections == set(), batches


def test_messages_that_arrived_while_their_conversation_named_an_erased_contact_count_once_it_moves() -> None:
    """v1 names c2, which is erased; its messages arrive then, or before the erasure. A newer
    version moves v1 to c1: its messages count there, in every split as in one batch. Before,
    they were dropped with the erasure, and only a one-batch rebuild counted them."""
    c1, c2, tomb = contact("c1", CREATED, updated=V), contact("c2", CREATED, updated=V), _tomb("c2")
    on_erased, moved = (
        conv("v1", "c2", STARTED, updated="2026-05-01T00:00:01Z"),
        conv("v1", "c1", STARTED, updated="2026-05-03T00:00:00Z"),
    )
    asked = msg("m1", "v1", "2026-03-31T10:00:00Z", updated=V)
    answered = reply("m2", "v1", "2026-03-31T10:02:00Z", updated=V)
    full, _ = fed([[c1, c2, tomb, on_erased, asked, answered, moved]], TZ)
    assert any(section == "rt" for section, _ in full.days)  # the reply counts, in c1's world
    for batches in (
        [[c1, c2, on_erased, asked, answered], [tomb], [moved]],  # messages before the erasure
        [[c1, c2, tomb, on_erased], [asked, answered], [moved]],  # messages after it
        [[c1, c2, tomb], [asked], [on_erased, answered], [moved]],  # one parked, one in the world
    ):
        assert fed(batches, TZ)[0].days == full.days, batches


def test_a_rebuild_from_the_log_keeps_the_stamp_of_a_conversation_whose_latest_names_an_erased_contact() -> None:
    """The latest version of v1 names c1, then erased: its log entry becomes a stamp record
    (ids, updated_at, hash), not a deletion. A rebuild from the log, in any split, still has
    the stamp, so an older version naming c2 arriving late counts nowhere, as live. Had the
    entry been deleted, the rebuilt world would take the older version and count v1 in c2."""
    latest, older = (
        conv("v1", "c1", STARTED, updated="2026-05-03T00:00:00Z"),
        conv("v1", "c2", STARTED, updated=V),
    )
    history = [[contact("c1", CREATED, updated=V), contact("c2", CREATED, updated=V), latest], [_tomb("c1")]]
    live, seq = fed(history, TZ)
    stamps = [rec for rec in live.log.values() if rec["kind"] == "conversation"]
    assert len(stamps) == 1 and stamps[0].get("stamp") and "channel" not in stamps[0]  # no content kept
    for cuts in ([], [1], [2]):
        rebuilt = live.rebuilt(cuts)
        assert rebuilt.days == live.days
        for model in (live, rebuilt):
            model.apply(normalise([older], seq))
        assert rebuilt.days == live.days
        assert not any(section in ("cv", "cl", "rt") for section, _ in rebuilt.days), cuts
        live = fed(history, TZ)[0]


def test_a_message_moved_with_its_conversation_is_contested_where_it_lands() -> None:
    """Two versions of m5 name two conversations; a move brings v0 (with one version) into the
    world holding v4 (with the other). The moved version must be contested there, as any
    arrival is: it used to overwrite the other without a trace in the log, so a rebuild from
    the log kept both and answered the inbound message of v4 that live had lost."""
    c1 = contact("c1", CREATED, updated="2026-05-01T00:00:05Z")
    m5_v0 = reply("m5", "v0", "2026-03-30T00:04:45Z", updated=V)
    m5_v4 = msg("m5", "v4", "2026-03-30T00:05:43Z", updated=V)
    answer = reply("m7", "v4", "2026-03-30T00:06:39Z", updated="2026-05-01T00:00:02Z")
    batches = [
        [
            m5_v0,
            c1,
            answer,
            conv("v4", "c-missing", STARTED, updated="2026-05-01T00:00:02Z"),
            conv("v0", "c3", STARTED, updated="2026-05-01T00:00:04Z"),
        ],
        [m5_v4],
        [conv("v0", "c-missing", STARTED, updated="2026-05-01T00:00:05Z")],  # v0 joins v4 in one world
        [conv("v4", "c1", STARTED, updated="2026-05-01T00:00:05Z")],  # v4 leaves for c1
    ]
    live, _ = fed(batches, TZ)
    kept = {seq: rec for seq, rec in live.log.items() if rec["kind"] == "message" and rec["id"] == "m5"}
    assert len(kept) == 1  # the loser's entry is deleted: the log holds what the worlds hold
    assert live.rebuilt().days == live.days


# ---- through the store on moto: the stamp is written to the log and read back by a rebuild ----


def _conversation_days(stack: Any) -> dict[Any, Any]:
    state = stack.store.get_state("acme")
    days = stack.store.day_docs(
        "acme", read_view(state).gen, SECTIONS, date(2026, 3, 1), date(2026, 4, 30), consistent=True
    )
    return {key: cells for key, cells in days.items() if key[0] not in ("nc", "frt", "org", "own") and cells}


def test_a_rebuilt_generation_reads_the_stamp_back_from_the_log_and_a_late_older_version_counts_nowhere(
    stack: Any,
) -> None:
    latest, older = (
        conv("v1", "c1", STARTED, updated="2026-05-03T00:00:00Z"),
        conv("v1", "c2", STARTED, updated=V),
    )
    stack.feed(
        "a.jsonl",
        [
            contact("c1", CREATED, updated=V),
            contact("c2", CREATED, updated=V),
            latest,
            msg("m1", "v1", "2026-03-31T10:00:00Z", updated=V),
        ],
    )
    assert _conversation_days(stack)  # v1 counts in c1's world
    stack.feed("b.jsonl", [_tomb("c1")])
    assert _conversation_days(stack) == {}
    stamps = [r for r in stack.store.read_log("acme", 0, 10**6, 1000) if r["kind"] == "conversation"]
    assert len(stamps) == 1 and stamps[0].get("stamp") and "channel" not in stamps[0]

    stack.store.mark_due("acme", 0, rebuild=True)
    aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert read_view(state).gen == 1 and not state.rebuild  # rebuilt from the log, and switched
    stack.feed("c.jsonl", [older])  # late: it loses to the stamp, so v1 counts nowhere
    assert _conversation_days(stack) == {}
