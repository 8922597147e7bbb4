"""Folding a delta of source records into the per-contact worlds (pure Python).

A *world* holds the latest version of a contact and of every record that hangs
off it. Conversations are routed through a *route* (conversation -> contact) that
also parks messages whose conversation has not arrived yet, so a missing parent
is kept and counts once it arrives. Interactions and messages have routes of their
own (``mediana.domain.child_routes``), so a version naming another parent moves the
record instead of leaving a copy behind. Merging is "latest ``updated_at`` wins, ties
broken by version hash", a commutative, idempotent max: any split, order or
duplication of the same records folds to the same worlds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mediana.domain.child_routes import Route, fold_interaction, fold_message
from mediana.domain.contest import (
    GONE_CONVS,
    GONE_INTS,
    STAMP,
    FoldOutcome,
    bury,
    contest,
    erased_contact,
    version_stamp,
)
from mediana.domain.contrib import World, empty_world
from mediana.domain.records import Record, upgrade

# A conversation's Route: {"c": contact id or None, "m": {message id: record}} (m = parked
# messages); an interaction's or a message's: {"c": its latest version's contact or
# conversation id} (``mediana.domain.child_routes``).
_KIND_ORDER = {"tenant": 0, "user": 1, "group": 2, "contact": 3, "conversation": 4, "interaction": 5, "message": 6}


def empty_directory() -> dict[str, Any]:
    return {"tenant": None, "users": {}, "groups": {}}


@dataclass
class LoadedState:
    """The part of a tenant's stored state a delta needs."""

    worlds: dict[str, World] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    int_routes: dict[str, Route] = field(default_factory=dict)  # interaction id -> its route
    msg_routes: dict[str, Route] = field(default_factory=dict)  # message id -> its route
    directory: dict[str, Any] = field(default_factory=empty_directory)


def upgrade_stored(state: LoadedState) -> LoadedState:
    """Loaded worlds, routes and directory in today's record encoding (in place)."""
    for world in state.worlds.values():
        if world.get("contact"):
            upgrade(world["contact"])
        for bucket in ("convs", "msgs", "ints"):
            for rec in world[bucket].values():
                upgrade(rec)
    for route in state.routes.values():
        for rec in route.get("m", {}).values():
            upgrade(rec)
    upgrade_directory(state.directory)
    return state


def upgrade_directory(directory: dict[str, Any]) -> dict[str, Any]:
    if directory.get("tenant"):
        upgrade(directory["tenant"])
    for book in ("users", "groups"):
        for rec in directory[book].values():
            upgrade(rec)
    return directory


def fold(delta: Iterable[Record], state: LoadedState) -> FoldOutcome:
    """Apply ``delta`` to ``state`` in place; returns what changed."""
    out = FoldOutcome()
    worlds, routes, directory = state.worlds, state.routes, state.directory

    def world(cid: str) -> World:
        found = worlds.get(cid)
        if found is None:  # setdefault would build an empty world for every record
            found = worlds[cid] = empty_world()
        return found

    def merge_message(cid: str, rec: Record) -> None:
        """A message moving with its conversation, into its new world: contested there,
        as any arrival (an erased contact's world too, where it waits, never counted)."""
        target = world(cid)
        if contest(rec, target["msgs"].get(rec["id"]), out):
            target["msgs"][rec["id"]] = rec
            out.worlds.add(cid)

    for rec in sorted(delta, key=lambda r: _KIND_ORDER[r["kind"]]):
        kind = rec["kind"]
        if kind == "tenant":
            if contest(rec, directory["tenant"], out):
                directory["tenant"], out.directory = rec, True
        elif kind in ("user", "group"):
            book = directory[kind + "s"]
            if contest(rec, book.get(rec["id"]), out):
                book[rec["id"]], out.directory = rec, True
        elif kind == "contact":
            target = world(rec["id"])
            if contest(rec, target["contact"], out):
                target["contact"] = rec
                if rec.get("erased"):
                    gone = target.setdefault(GONE_CONVS, {})
                    gone.update((vid, version_stamp(cv)) for vid, cv in target["convs"].items())
                    target.setdefault(GONE_INTS, {}).update((i, version_stamp(it)) for i, it in target["ints"].items())
                    bury([*target["convs"].values(), *target["ints"].values()], out)
                    target["convs"], target["ints"] = {}, {}  # messages stay: see ``_fold_conversation``
                out.worlds.add(rec["id"])
        elif kind == "conversation":
            _fold_conversation(rec, world, routes, out, merge_message)
        elif kind == "interaction":
            fold_interaction(rec, world, state.int_routes, out)
        elif kind == "message":
            fold_message(rec, world, routes, state.msg_routes, out)
    for seq in out.log_deletes:  # buried, then superseded in the same delta
        out.log_stamps.pop(seq, None)
    return out


def _fold_conversation(rec: Record, world: Any, routes: dict[str, Route], out: FoldOutcome, merge_message: Any) -> None:
    vid, new_cid = rec["id"], rec["contact_id"]
    route = routes.get(vid)
    old_cid = route.get("c") if route else None
    current = None
    if old_cid is not None:
        source = world(old_cid)
        # in an erased world the latest version left only its stamp (see ``version_stamp``)
        current = source["convs"].get(vid) or source.get(GONE_CONVS, {}).get(vid)
    if not contest(rec, current, out):
        return
    moved: list[Record] = []
    if old_cid is not None and old_cid != new_cid:
        source["convs"].pop(vid, None)
        source.get(GONE_CONVS, {}).pop(vid, None)
        moved = [m for m in source["msgs"].values() if m["conversation_id"] == vid]
        for m in moved:
            del source["msgs"][m["id"]]
        out.worlds.add(old_cid)
    target = world(new_cid)
    parked = list((route or {}).get("m", {}).values())
    routes[vid] = {"c": new_cid, "m": {}}
    out.routes.add(vid)
    if erased_contact(target) or rec.get(STAMP):
        # The conversation counts nowhere, and only its stamp is kept. Its messages name
        # the conversation, not the contact: they wait in this world, never counted (the
        # world has no live contact, or a stamp replayed before the erasure is not in
        # ``convs``), and move with the conversation if a newer version names a live
        # contact, as a rebuild in one batch would count them.
        bury([rec], out)
        target.setdefault(GONE_CONVS, {})[vid] = version_stamp(rec)
    else:
        target["convs"][vid] = rec
    out.worlds.add(new_cid)
    for m in [*moved, *parked]:  # contested: the world may hold another version of the message
        merge_message(new_cid, m)
