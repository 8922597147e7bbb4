"""Records whose versions name another parent: an interaction reassigned to another
contact (a CRM's contact merge), a message moved to another conversation (a conversation
merge). Each counts once, where its latest version puts it, in any order and split and
after a rebuild from the log; an interaction not at all once that contact is erased
(``mediana.domain.child_routes``). Deterministic regressions for what the latest-versions
oracle in test_incremental_property found."""

from __future__ import annotations

from datetime import date
from typing import Any

from helpers import fed
from mediana.services import aggregate
from mediana.storage import keys
from mediana.storage.generations import LAYOUT, read_view
from mediana.storage.models import TenantState
from test_definitions import call, contact, conv, msg, reply

TZ = "America/Santiago"
CREATED, AT = "2026-03-30T00:00:00Z", "2026-03-31T15:00:00Z"  # a contact's creation, the call
OLD, NEW = "2026-05-01T00:00:00Z", "2026-05-03T00:00:00Z"  # two versions of the call
ERASED = {"kind": "contact", "id": "c2", "updated_at": "2026-05-04T00:00:00Z", "erased": True}


def _calls(days: dict[Any, Any]) -> dict[str, int]:
    """Answered calls per contact, over the days (the calls-per-contact section)."""
    out: dict[str, int] = {}
    for (section, _), cells in days.items():
        if section == "cc":
            for (_, _, _, cid), n in cells.items():
                out[cid] = out.get(cid, 0) + n
    return {cid: n for cid, n in out.items() if n}


def _orders(contacts: list[dict[str, Any]], older: dict[str, Any], latest: dict[str, Any]) -> list[Any]:
    return [
        [[*contacts, older, latest]],
        [[*contacts, latest, older]],
        [[*contacts, older], [latest]],
        [[*contacts, latest], [older]],
        [[*contacts], [older], [latest], [older]],
    ]


def test_a_call_reassigned_to_another_contact_counts_once_where_its_latest_version_puts_it() -> None:
    contacts = [contact("c1", CREATED), contact("c2", CREATED)]
    older, latest = call("i1", "c1", AT, updated=OLD), call("i1", "c2", AT, updated=NEW)
    for batches in _orders(contacts, older, latest):
        live, _ = fed(batches, TZ)
        assert _calls(live.days) == {"c2": 1}, batches
        for cuts in ([], [1], [2, 3]):
            assert live.rebuilt(cuts).days == live.days, (batches, cuts)


def test_a_call_whose_latest_version_names_an_erased_contact_counts_nowhere_even_after_a_rebuild() -> None:
    contacts = [contact("c1", CREATED), contact("c2", CREATED)]
    older, latest = call("i1", "c1", AT, updated=OLD), call("i1", "c2", AT, updated=NEW)
    for batches in [[*b, [ERASED]] for b in _orders(contacts, older, latest)] + [[[*contacts, ERASED, latest, older]]]:
        live, seq = fed(batches, TZ)
        assert _calls(live.days) == {}, batches
        rebuilt = live.rebuilt([1])
        late, _ = fed([[older]], TZ, seq)  # numbered after the rest, as a late arrival is
        for model in (live, rebuilt):
            model.apply([dict(r) for r in late.log.values()])
            assert _calls(model.days) == {}, batches


def _replies(days: dict[Any, Any]) -> dict[str, list[int]]:
    """Response-time samples (seconds) per channel, over the days."""
    out: dict[str, list[int]] = {}
    for (section, _), cells in days.items():
        if section == "rt":
            for (_, _, channel, _, seconds), n in cells.items():
                out.setdefault(channel, []).extend([seconds] * n)
    return {channel: sorted(v) for channel, v in out.items() if v}


def _two_conversations() -> list[dict[str, Any]]:
    """c1's WhatsApp conversation v1 and c2's e-mail v2, each opened by an inbound message at 10:00."""
    return [
        contact("c1", CREATED),
        contact("c2", CREATED),
        conv("v1", "c1", CREATED, channel="whatsapp"),
        conv("v2", "c2", CREATED, channel="email"),
        msg("m1", "v1", "2026-03-31T10:00:00Z"),
        msg("m2", "v2", "2026-03-31T10:00:00Z"),
    ]


def test_a_reply_moved_to_another_conversation_answers_there_only() -> None:
    """r1 answered v1 after 5 minutes; a newer version moves it to v2 (answered after 5
    minutes there). Before message routes, both versions counted: one reply in each."""
    older = reply("r1", "v1", "2026-03-31T10:05:00Z", updated=OLD)
    latest = reply("r1", "v2", "2026-03-31T10:05:00Z", updated=NEW)
    for batches in _orders(_two_conversations(), older, latest):
        live, _ = fed(batches, TZ)
        assert _replies(live.days) == {"email": [300]}, batches
        for cuts in ([], [3], [5, 7]):
            assert live.rebuilt(cuts).days == live.days, (batches, cuts)


def test_a_message_parked_for_a_missing_conversation_leaves_it_when_a_newer_version_moves_it() -> None:
    """r1 first names v3, which has not arrived (the message is parked in its route); a
    newer version moves it to v2. When v3 arrives, r1 is not there."""
    v3 = [conv("v3", "c1", CREATED, channel="sms"), msg("m3", "v3", "2026-03-31T10:00:00Z")]
    older = reply("r1", "v3", "2026-03-31T10:05:00Z", updated=OLD)
    latest = reply("r1", "v2", "2026-03-31T10:05:00Z", updated=NEW)
    for batches in ([[*_two_conversations(), older], [latest], v3], [[older], [*_two_conversations(), latest, *v3]]):
        live, _ = fed(batches, TZ)
        assert _replies(live.days) == {"email": [300]}, batches


# ---- through the store on moto: the route is stored, and a rebuild reads the stamp back ----


def _stored_calls(stack: Any) -> dict[str, int]:
    gen = read_view(stack.store.get_state("acme")).gen
    return _calls(stack.store.day_docs("acme", gen, ["cc"], date(2026, 3, 1), date(2026, 4, 30), consistent=True))


def test_a_reassigned_call_moves_between_stored_worlds_and_an_erasure_outlives_a_rebuild(stack: Any) -> None:
    stack.feed("a.jsonl", [contact("c1", CREATED), contact("c2", CREATED), call("i1", "c1", AT, updated=OLD)])
    assert _stored_calls(stack) == {"c1": 1}
    stack.feed("b.jsonl", [call("i1", "c2", AT, updated=NEW)])  # a merge reassigns it
    assert _stored_calls(stack) == {"c2": 1}
    route = stack.store.get_docs(keys.interaction_routes_pk("acme", 0), ["i1"])["i1"][0]
    assert route == {"c": "c2"}  # where it lies now, and nothing of its content

    stack.feed("c.jsonl", [ERASED])
    assert _stored_calls(stack) == {}
    calls = [r for r in stack.store.read_log("acme", 0, 10**6, 1000) if r["kind"] == "interaction"]
    assert len(calls) == 1 and calls[0].get("stamp") and "outcome" not in calls[0]

    stack.store.mark_due("acme", 0, rebuild=True)
    aggregate.refresh_tenant(stack.store, "acme")
    assert read_view(stack.store.get_state("acme")).gen == 1
    stack.feed("d.jsonl", [call("i1", "c1", AT, updated=OLD)])  # late and older: it loses to the stamp
    assert _stored_calls(stack) == {}


def _stored_replies(stack: Any) -> dict[str, list[int]]:
    gen = read_view(stack.store.get_state("acme")).gen
    return _replies(stack.store.day_docs("acme", gen, ["rt"], date(2026, 3, 1), date(2026, 4, 30), consistent=True))


def test_a_moved_reply_leaves_its_stored_world_and_a_late_older_version_loses_to_its_route(stack: Any) -> None:
    stack.feed("a.jsonl", [*_two_conversations(), reply("r1", "v1", "2026-03-31T10:05:00Z", updated=OLD)])
    assert _stored_replies(stack) == {"whatsapp": [300]}
    stack.feed("b.jsonl", [reply("r1", "v2", "2026-03-31T10:06:00Z", updated=NEW)])
    assert _stored_replies(stack) == {"email": [360]}
    route = stack.store.get_docs(keys.message_routes_pk("acme", 0), ["r1"])["r1"][0]
    assert route == {"c": "v2"}
    stack.feed("c.jsonl", [reply("r1", "v1", "2026-03-31T10:05:00Z", updated=OLD)])  # a replay, late
    assert _stored_replies(stack) == {"email": [360]}


def test_a_generation_folded_before_routes_is_rebuilt_once_on_its_next_delta(stack: Any) -> None:
    """A generation stored before interactions had routes (none stored, no layout on the
    state): a version moving a call would find no route and leave the first copy counted.
    Its next delta rebuilds it from the log first, so the call counts once, where it went."""
    stack.feed("a.jsonl", [contact("c1", CREATED), contact("c2", CREATED), call("i1", "c1", AT, updated=OLD)])
    state = stack.store.get_state("acme")
    assert state.layout == LAYOUT and read_view(state).gen == 0
    stack.store.delete_partition(keys.interaction_routes_pk("acme", 0))  # as the former fold left it
    TenantState(keys.tenant_pk("acme"), keys.STATE_SK).update(actions=[TenantState.layout.remove()])

    stack.feed("b.jsonl", [call("i1", "c2", AT, updated=NEW)])
    state = stack.store.get_state("acme")
    assert read_view(state).gen == 1 and state.layout == LAYOUT
    assert _stored_calls(stack) == {"c2": 1}
    stack.feed("c.jsonl", [call("i1", "c1", AT, updated=OLD)])  # and no second rebuild
    assert read_view(stack.store.get_state("acme")).gen == 1 and _stored_calls(stack) == {"c2": 1}
