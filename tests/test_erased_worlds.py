"""Conversations whose latest version names an erased contact, their messages, and a rebuild
from the compacted log (``mediana.domain.world``). Deterministic regressions for what the
property tests in test_incremental_property found."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from helpers import Model, normalise
from mediana.domain.sections import SECTIONS
from mediana.services import aggregate
from mediana.storage.generations import read_view
from mediana_cli.local import upload

TZ = "America/Santiago"


def _contact(cid: str, updated_at: str = "2026-05-01T00:00:00Z") -> dict[str, Any]:
    return {
        "kind": "contact",
        "id": cid,
        "updated_at": updated_at,
        "created_at": "2026-03-30T00:00:00Z",
        "origin": "Ads",
        "entry_group_id": "g1",
        "group_id": "g1",
        "owner_id": "u1",
        "deleted_at": None,
    }


def _tomb(cid: str, updated_at: str = "2026-05-02T00:00:00Z") -> dict[str, Any]:
    return {"kind": "contact", "id": cid, "updated_at": updated_at, "erased": True}


def _conv(vid: str, cid: str, updated_at: str) -> dict[str, Any]:
    return {
        "kind": "conversation",
        "id": vid,
        "updated_at": updated_at,
        "contact_id": cid,
        "channel": "whatsapp",
        "created_at": "2026-03-31T00:00:00Z",
        "closed_at": None,
        "group_id": "g1",
        "owner_id": "u1",
    }


def _msg(
    mid: str, vid: str, created_at: str, inbound: bool, updated_at: str = "2026-05-01T00:00:00Z"
) -> dict[str, Any]:
    return {
        "kind": "message",
        "id": mid,
        "updated_at": updated_at,
        "conversation_id": vid,
        "direction": "inbound" if inbound else "outbound",
        "author_type": "contact" if inbound else "advisor",
        "author_id": None if inbound else "u1",
        "created_at": created_at,
    }


def _run(batches: list[list[dict[str, Any]]]) -> tuple[Model, int]:
    model, seq = Model(TZ), 1
    for batch in batches:
        model.apply(normalise(batch, seq))
        seq += len(batch)
    return model, seq


def test_live_version_after_an_erasure_gives_the_same_result_in_any_split() -> None:
    """Regression (found by the incremental = full property): an erased contact, then a live
    version of it at the same or a later instant, with a conversation of it in between."""
    tomb, conv = _tomb("c1", "2026-05-01T00:00:00Z"), _conv("v1", "c1", "2026-05-01T00:00:00Z")
    for live_at in ("2026-05-01T00:00:00Z", "2026-05-01T00:00:05Z"):
        live = _contact("c1", live_at)
        full, _ = _run([[tomb, conv, live]])
        split, _ = _run([[tomb, conv], [live]])
        assert split.days == full.days == {}


def test_an_older_version_does_not_bring_back_a_conversation_whose_latest_names_an_erased_contact() -> None:
    """Regression: the latest version of v1 moves it to c1, which is erased; an older
    version naming c2 arrived before it, after it, or later alone (a replay). It counts
    nowhere in every order and split; before the stamp, it came back in c2's world."""
    c1, c2, tomb = _contact("c1"), _contact("c2"), _tomb("c1")
    older, latest = _conv("v1", "c2", "2026-05-01T00:00:00Z"), _conv("v1", "c1", "2026-05-03T00:00:00Z")
    base: list[dict[str, Any]] = [c1, c2, tomb]
    cases: tuple[list[list[dict[str, Any]]], ...] = (
        [[*base, older, latest]],
        [[*base, latest, older]],
        [[*base, latest], [older]],
        [[*base, older], [latest], [older]],
        [[c1, c2, older], [latest], [tomb], [older]],
    )
    for batches in cases:
        model, _ = _run(batches)
        conversation_sections = {key for key in model.days if key[0] not in ("nc", "frt", "org", "own")}
        assert conversation_sections == set(), batches


def test_messages_that_arrived_while_their_conversation_named_an_erased_contact_count_once_it_moves() -> None:
    """v1 names c2, which is erased; its messages arrive then, or before the erasure. A newer
    version moves v1 to c1: its messages count there, in every split as in one batch. Before,
    they were dropped with the erasure, and only a one-batch rebuild counted them."""
    c1, c2, tomb = _contact("c1"), _contact("c2"), _tomb("c2")
    on_erased, moved = _conv("v1", "c2", "2026-05-01T00:00:01Z"), _conv("v1", "c1", "2026-05-03T00:00:00Z")
    asked = _msg("m1", "v1", "2026-03-31T10:00:00Z", inbound=True)
    answered = _msg("m2", "v1", "2026-03-31T10:02:00Z", inbound=False)
    full, _ = _run([[c1, c2, tomb, on_erased, asked, answered, moved]])
    assert any(section == "rt" for section, _ in full.days)  # the reply counts, in c1's world
    for batches in (
        [[c1, c2, on_erased, asked, answered], [tomb], [moved]],  # messages before the erasure
        [[c1, c2, tomb, on_erased], [asked, answered], [moved]],  # messages after it
        [[c1, c2, tomb], [asked], [on_erased, answered], [moved]],  # one parked, one in the world
    ):
        assert _run(batches)[0].days == full.days, batches


def test_a_rebuild_from_the_log_keeps_the_stamp_of_a_conversation_whose_latest_names_an_erased_contact() -> None:
    """The latest version of v1 names c1, then erased: its log entry becomes a stamp record
    (ids, updated_at, hash), not a deletion. A rebuild from the log, in any split, still has
    the stamp, so an older version naming c2 arriving late counts nowhere, as live. Had the
    entry been deleted, the rebuilt world would take the older version and count v1 in c2."""
    latest, older = _conv("v1", "c1", "2026-05-03T00:00:00Z"), _conv("v1", "c2", "2026-05-01T00:00:00Z")
    live, seq = _run([[_contact("c1"), _contact("c2"), latest], [_tomb("c1")]])
    stamps = [rec for rec in live.log.values() if rec["kind"] == "conversation"]
    assert len(stamps) == 1 and stamps[0].get("stamp") and "channel" not in stamps[0]  # no content kept
    for cuts in ([], [1], [2]):
        rebuilt = live.rebuilt(cuts)
        assert rebuilt.days == live.days
        for model in (live, rebuilt):
            model.apply(normalise([older], seq))
        assert rebuilt.days == live.days
        assert not any(section in ("cv", "cl", "rt") for section, _ in rebuilt.days), cuts
        live = _run([[_contact("c1"), _contact("c2"), latest], [_tomb("c1")]])[0]


def test_a_message_moved_with_its_conversation_is_contested_where_it_lands() -> None:
    """Two versions of m5 name two conversations; a move brings v0 (with one version) into the
    world holding v4 (with the other). The moved version must be contested there, as any
    arrival is: it used to overwrite the other without a trace in the log, so a rebuild from
    the log kept both and answered the inbound message of v4 that live had lost."""
    c1 = _contact("c1", "2026-05-01T00:00:05Z")
    m5_v0 = _msg("m5", "v0", "2026-03-30T00:04:45Z", inbound=False)
    m5_v4 = _msg("m5", "v4", "2026-03-30T00:05:43Z", inbound=True)
    reply = _msg("m7", "v4", "2026-03-30T00:06:39Z", inbound=False, updated_at="2026-05-01T00:00:02Z")
    batches = [
        [m5_v0, c1, reply, _conv("v4", "c-missing", "2026-05-01T00:00:02Z"), _conv("v0", "c3", "2026-05-01T00:00:04Z")],
        [m5_v4],
        [_conv("v0", "c-missing", "2026-05-01T00:00:05Z")],  # v0 joins v4 in one world
        [_conv("v4", "c1", "2026-05-01T00:00:05Z")],  # v4 leaves for c1
    ]
    live, _ = _run(batches)
    kept = {seq: rec for seq, rec in live.log.items() if rec["kind"] == "message" and rec["id"] == "m5"}
    assert len(kept) == 1  # the loser's entry is deleted: the log holds what the worlds hold
    assert live.rebuilt().days == live.days


# ---- through the store on moto: the stamp is written to the log and read back by a rebuild ----


def _upload(stack: Any, name: str, recs: list[dict[str, Any]]) -> None:
    lines = [json.dumps({**rec, "tenant_id": "acme"}) for rec in recs]
    upload(stack.store, "acme", name, "\n".join(lines).encode())
    stack.pump.ingest()
    aggregate.refresh_tenant(stack.store, "acme")


def _conversation_days(stack: Any) -> dict[Any, Any]:
    state = stack.store.get_state("acme")
    days = stack.store.day_docs(
        "acme", read_view(state).gen, SECTIONS, date(2026, 3, 1), date(2026, 4, 30), consistent=True
    )
    return {key: cells for key, cells in days.items() if key[0] not in ("nc", "frt", "org", "own") and cells}


def test_a_rebuilt_generation_reads_the_stamp_back_from_the_log_and_a_late_older_version_counts_nowhere(
    stack: Any,
) -> None:
    latest, older = _conv("v1", "c1", "2026-05-03T00:00:00Z"), _conv("v1", "c2", "2026-05-01T00:00:00Z")
    _upload(stack, "a.jsonl", [_contact("c1"), _contact("c2"), latest, _msg("m1", "v1", "2026-03-31T10:00:00Z", True)])
    assert _conversation_days(stack)  # v1 counts in c1's world
    _upload(stack, "b.jsonl", [_tomb("c1")])
    assert _conversation_days(stack) == {}
    stamps = [r for r in stack.store.read_log("acme", 0, 10**6, 1000) if r["kind"] == "conversation"]
    assert len(stamps) == 1 and stamps[0].get("stamp") and "channel" not in stamps[0]

    stack.store.mark_due("acme", 0, rebuild=True)
    aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert read_view(state).gen == 1 and not state.rebuild  # rebuilt from the log, and switched
    _upload(stack, "c.jsonl", [older])  # late: it loses to the stamp, so v1 counts nowhere
    assert _conversation_days(stack) == {}
