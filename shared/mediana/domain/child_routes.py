"""Interactions and messages, routed by their own id (pure Python).

An interaction counts in the world of its latest version's contact; a message, in the
world of its latest version's conversation. A CRM reassigns them (a contact merge moves a
timeline, a conversation merge moves messages), so each has a route: where its latest
version lies, and that version's stamp. A newer version is contested against the stamp
and takes the record out of where it lay; an older one loses, in any order, even once the
record itself is gone (an interaction buried under an erased contact).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mediana.domain.contest import STAMP, FoldOutcome, bury, contest, erased_contact, version_stamp
from mediana.domain.contrib import World
from mediana.domain.records import Record

Route = dict[str, Any]
WorldOf = Callable[[str], World]


def interaction_ids(delta: Iterable[Record]) -> set[str]:
    return {r["id"] for r in delta if r["kind"] == "interaction"}


def message_ids(delta: Iterable[Record]) -> set[str]:
    return {r["id"] for r in delta if r["kind"] == "message"}


def fold_interaction(rec: Record, world: WorldOf, routes: dict[str, Route], out: FoldOutcome) -> None:
    """Routes: interaction id -> {"c": contact id, "v": stamp}."""
    iid, cid = rec["id"], rec["contact_id"]
    route = routes.get(iid)
    target = world(cid)
    # no route: a first version, or one stored before interactions had routes (where it lies)
    current = target["ints"].get(iid) if route is None else route["v"]
    if not contest(rec, current, out):
        return
    if route is not None and route["c"] != cid and world(route["c"])["ints"].pop(iid, None) is not None:
        out.worlds.add(route["c"])
    routes[iid] = {"c": cid, "v": version_stamp(rec)}
    out.int_routes.add(iid)
    if erased_contact(target) or rec.get(STAMP):
        bury([rec], out)  # counts nowhere: only its stamp is kept
        if target["ints"].pop(iid, None) is not None:
            out.worlds.add(cid)
    else:
        target["ints"][iid] = rec
        out.worlds.add(cid)


def fold_message(
    rec: Record, world: WorldOf, routes: dict[str, Route], msg_routes: dict[str, Route], out: FoldOutcome
) -> None:
    """Routes: message id -> {"c": conversation id, "v": stamp}; ``routes`` are the
    conversations' (``mediana.domain.world``), which say where a conversation's messages lie."""
    mid = rec["id"]
    route = msg_routes.get(mid)
    if route is None:  # a first version, or one stored before messages had routes: contested where it lands
        if not place_message(rec, world, routes, out):
            return
    else:
        if not contest(rec, route["v"], out):
            return
        held, changed, key = _held(route["c"], world, routes, out)
        if held.pop(mid, None) is not None:  # the version it beats, wherever it lies
            changed.add(key)
        place_message(rec, world, routes, out, contested=False)
    msg_routes[mid] = {"c": rec["conversation_id"], "v": version_stamp(rec)}
    out.msg_routes.add(mid)


def place_message(
    rec: Record, world: WorldOf, routes: dict[str, Route], out: FoldOutcome, contested: bool = True
) -> bool:
    """Into its conversation's world (an erased contact's too, where it waits, never
    counted), or parked in the conversation's route until the conversation arrives."""
    held, changed, key = _held(rec["conversation_id"], world, routes, out)
    if contested and not contest(rec, held.get(rec["id"]), out):
        return False
    held[rec["id"]] = rec
    changed.add(key)
    return True


def _held(
    vid: str, world: WorldOf, routes: dict[str, Route], out: FoldOutcome
) -> tuple[dict[str, Record], set[str], str]:
    """Where conversation ``vid``'s messages lie: its world's, or parked in its route; and
    the set of changed documents, and the key, to mark if they change."""
    route = routes.get(vid)
    if route is None:
        route = routes[vid] = {"c": None, "m": {}}
    cid = route.get("c")
    if cid is None:
        return route.setdefault("m", {}), out.routes, vid
    return world(cid)["msgs"], out.worlds, cid
