"""Folding a delta of source records into the per-contact worlds (pure Python).

A *world* holds the latest version of a contact and of every record that hangs
off it. Conversations are routed through a *route* (conversation -> contact) that
also parks messages whose conversation has not arrived yet, so a missing parent
is kept and counts once it arrives. Interactions have routes too (interaction ->
contact, and its latest version's stamp), so a version naming another contact moves
the interaction instead of leaving a copy behind. Merging is "latest ``updated_at`` wins, ties
broken by version hash", a commutative, idempotent max: any split, order or
duplication of the same records folds to the same worlds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mediana.domain.contrib import World, empty_world
from mediana.domain.records import NS_MARK, Record, upgrade
from mediana.domain.versions import newer, version_of

STAMP = "stamp"  # marks a conversation's stamp record in the log (``stamp_record``)
Route = dict[str, Any]  # {"c": contact id or None, "m": {message id: record}} (m = parked messages)
# an interaction's: {"c": its latest version's contact id, "v": that version's ``version_stamp``}
_KIND_ORDER = {"tenant": 0, "user": 1, "group": 2, "contact": 3, "conversation": 4, "interaction": 5, "message": 6}


def empty_directory() -> dict[str, Any]:
    return {"tenant": None, "users": {}, "groups": {}}


@dataclass
class LoadedState:
    """The part of a tenant's stored state a delta needs."""

    worlds: dict[str, World] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    int_routes: dict[str, Route] = field(default_factory=dict)  # interaction id -> its route
    directory: dict[str, Any] = field(default_factory=empty_directory)


@dataclass
class FoldOutcome:
    worlds: set[str] = field(default_factory=set)  # contact ids whose world changed
    routes: set[str] = field(default_factory=set)  # conversation ids whose route changed
    int_routes: set[str] = field(default_factory=set)  # interaction ids whose route changed
    directory: bool = False
    log_deletes: set[int] = field(default_factory=set)  # superseded or erased source versions
    # seq -> the stamp record that replaces a buried conversation version in the log
    log_stamps: dict[int, Record] = field(default_factory=dict)


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


def route_ids(delta: Iterable[Record]) -> set[str]:
    """Conversations whose route the delta needs (first load)."""
    ids: set[str] = set()
    for r in delta:
        if r["kind"] == "conversation":
            ids.add(r["id"])
        elif r["kind"] == "message":
            ids.add(r["conversation_id"])
    return ids


def interaction_ids(delta: Iterable[Record]) -> set[str]:
    """Interactions whose route the delta needs (first load, with the conversations')."""
    return {r["id"] for r in delta if r["kind"] == "interaction"}


def touched_contacts(
    delta: Iterable[Record], routes: Mapping[str, Route], int_routes: Mapping[str, Route] | None = None
) -> set[str]:
    """Contacts whose world the delta may change (second load)."""
    ids: set[str] = set()
    for r in delta:
        kind = r["kind"]
        if kind == "contact":
            ids.add(r["id"])
        elif kind in ("conversation", "interaction"):
            ids.add(r["contact_id"])
        if kind == "interaction":
            found = (int_routes or {}).get(r["id"])
            if found:
                ids.add(found["c"])  # where its latest version counts now
        if kind in ("conversation", "message"):
            vid = r["id"] if kind == "conversation" else r["conversation_id"]
            route = routes.get(vid)
            if route and route.get("c"):
                ids.add(route["c"])
    return ids


def version_stamp(rec: Record) -> Record:
    """What ``newer`` needs of a version, and none of its content.

    An erased contact's world keeps one per conversation whose latest version names it,
    so that version keeps winning once the record itself is gone: an older version naming
    another contact, arriving later, must not bring the conversation back there (the
    latest version wins, in any order). A newer one does move it, and removes the stamp."""
    stamp: Record = {"updated_at": rec["updated_at"], "h": version_of(rec)}
    if rec.get("erased"):
        stamp["erased"] = True
    if rec.get("seq") is not None:
        stamp["seq"] = rec["seq"]  # its log entry, deleted once a newer version wins
    return stamp


def stamp_record(rec: Record) -> Record:
    """The log entry that replaces a buried conversation or interaction version: its
    stamp, with its own and its contact's ids, and none of its content. A rebuild from the log folds it
    back into the same stamp, so the version keeps winning after a rebuild too."""
    kept = ("kind", "id", "contact_id", "updated_at", "erased", "seq", "_at", NS_MARK)
    return {**{k: rec[k] for k in kept if k in rec}, "h": version_of(rec), STAMP: True}


def _seq(rec: Mapping[str, Any] | None) -> int | None:
    return None if rec is None else rec.get("seq")


def _contest(candidate: Record, current: Record | None, out: FoldOutcome) -> bool:
    """Does ``candidate`` replace ``current``? Records the loser's log entry for deletion."""
    if current is None:
        return True  # a first version: nothing to contest, no loser (most records of a batch)
    if newer(candidate, current):
        old = _seq(current)
        if old is not None and old != _seq(candidate):
            out.log_deletes.add(old)
        return True
    if _seq(candidate) is not None and _seq(candidate) != _seq(current):
        out.log_deletes.add(_seq(candidate))  # type: ignore[arg-type]
    return False


def _bury(records: Iterable[Record], out: FoldOutcome) -> None:
    """Latest conversation and interaction versions that name an erased contact: their log entries
    become stamp records (not deleted), so the stamps outlive a rebuild from the log."""
    for rec in records:
        if rec.get("seq") is not None and not rec.get(STAMP):
            out.log_stamps[rec["seq"]] = stamp_record(rec)


def _erased_contact(world: World) -> bool:
    contact = world.get("contact")
    return bool(contact and contact.get("erased"))


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
        """Into its conversation's world: an erased contact's too, where it waits, never
        counted (see ``_fold_conversation``)."""
        target = world(cid)
        if _contest(rec, target["msgs"].get(rec["id"]), out):
            target["msgs"][rec["id"]] = rec
            out.worlds.add(cid)

    for rec in sorted(delta, key=lambda r: _KIND_ORDER[r["kind"]]):
        kind = rec["kind"]
        if kind == "tenant":
            if _contest(rec, directory["tenant"], out):
                directory["tenant"], out.directory = rec, True
        elif kind in ("user", "group"):
            book = directory[kind + "s"]
            if _contest(rec, book.get(rec["id"]), out):
                book[rec["id"]], out.directory = rec, True
        elif kind == "contact":
            target = world(rec["id"])
            if _contest(rec, target["contact"], out):
                target["contact"] = rec
                if rec.get("erased"):
                    gone = target.setdefault("gone", {})
                    gone.update((vid, version_stamp(cv)) for vid, cv in target["convs"].items())
                    _bury([*target["convs"].values(), *target["ints"].values()], out)  # routes keep their stamps
                    target["convs"], target["ints"] = {}, {}  # messages stay: see ``_fold_conversation``
                out.worlds.add(rec["id"])
        elif kind == "conversation":
            _fold_conversation(rec, world, routes, out, merge_message)
        elif kind == "interaction":
            _fold_interaction(rec, world, state.int_routes, out)
        elif kind == "message":
            vid = rec["conversation_id"]
            route = routes.get(vid)
            if route is None:
                route = routes[vid] = {"c": None, "m": {}}
            if route.get("c") is None:
                parked = route.setdefault("m", {})
                if _contest(rec, parked.get(rec["id"]), out):
                    parked[rec["id"]] = rec
                    out.routes.add(vid)
            else:
                merge_message(route["c"], rec)
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
        current = source["convs"].get(vid) or source.get("gone", {}).get(vid)
    if not _contest(rec, current, out):
        return
    moved: list[Record] = []
    if old_cid is not None and old_cid != new_cid:
        source["convs"].pop(vid, None)
        source.get("gone", {}).pop(vid, None)
        moved = [m for m in source["msgs"].values() if m["conversation_id"] == vid]
        for m in moved:
            del source["msgs"][m["id"]]
        out.worlds.add(old_cid)
    target = world(new_cid)
    parked = list((route or {}).get("m", {}).values())
    routes[vid] = {"c": new_cid, "m": {}}
    out.routes.add(vid)
    if _erased_contact(target) or rec.get(STAMP):
        # The conversation counts nowhere, and only its stamp is kept. Its messages name
        # the conversation, not the contact: they wait in this world, never counted (the
        # world has no live contact, or a stamp replayed before the erasure is not in
        # ``convs``), and move with the conversation if a newer version names a live
        # contact, as a rebuild in one batch would count them.
        _bury([rec], out)
        target.setdefault("gone", {})[vid] = version_stamp(rec)
    else:
        target["convs"][vid] = rec
    out.worlds.add(new_cid)
    for m in [*moved, *parked]:  # contested: the world may hold another version of the message
        merge_message(new_cid, m)


def _fold_interaction(rec: Record, world: Any, routes: dict[str, Route], out: FoldOutcome) -> None:
    """The latest version decides the contact whose timeline counts an interaction (a
    contact merge reassigns it). It is contested against its route's stamp, which outlives
    the record when that contact is erased, so an older version loses in any order."""
    iid, cid = rec["id"], rec["contact_id"]
    route = routes.get(iid)
    target = world(cid)
    # no route: a first version, or one stored before interactions had routes (where it lies)
    current = target["ints"].get(iid) if route is None else route["v"]
    if not _contest(rec, current, out):
        return
    if route is not None and route["c"] != cid and world(route["c"])["ints"].pop(iid, None) is not None:
        out.worlds.add(route["c"])
    routes[iid] = {"c": cid, "v": version_stamp(rec)}
    out.int_routes.add(iid)
    if _erased_contact(target) or rec.get(STAMP):
        _bury([rec], out)  # counts nowhere: only its stamp is kept
        if target["ints"].pop(iid, None) is not None:
            out.worlds.add(cid)
    else:
        target["ints"][iid] = rec
        out.worlds.add(cid)
