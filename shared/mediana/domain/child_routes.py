"""Interactions and messages, routed by their own id (pure Python).

An interaction counts in the world of its latest version's contact; a message, in the
world of its latest version's conversation. A CRM reassigns them (a contact merge moves a
timeline, a conversation merge moves messages), so each has a route: where its latest
version lies. A version is contested there, against the version that lies there; a
newer one takes the record out of it. Once an interaction is buried under an erased
contact, that world keeps its version's stamp, so an older version still loses, in any
order. A route is written for a record's first version and when it moves, by no other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mediana.domain.contest import GONE_INTS, STAMP, FoldOutcome, bury, contest, erased_contact, version_stamp
from mediana.domain.contrib import World
from mediana.domain.records import Record

Route = dict[str, Any]
WorldOf = Callable[[str], World]


def fold_interaction(rec: Record, world: WorldOf, routes: dict[str, Route], out: FoldOutcome) -> None:
    """Routes: interaction id -> {"c": contact id}. Contested against what lies in the
    world the route points to: the record, or the stamp an erased contact's world keeps of
    it (``GONE_INTS``)."""
    iid, cid = rec["id"], rec["contact_id"]
    route = routes.get(iid)
    here = cid if route is None else route["c"]  # no route: a first version, or stored before routes
    source = world(here)
    current = source["ints"].get(iid)
    if current is None and GONE_INTS in source:
        current = source[GONE_INTS].get(iid)
    if not contest(rec, current, out):
        return
    target = source
    if here != cid:
        if source["ints"].pop(iid, None) is not None or source.get(GONE_INTS, {}).pop(iid, None) is not None:
            out.worlds.add(here)
        target = world(cid)
    if route is None or here != cid:
        routes[iid] = {"c": cid}
        out.int_routes.add(iid)
    if rec.get(STAMP) or erased_contact(target):
        bury([rec], out)  # counts nowhere: only its stamp is kept, here and in the log
        target["ints"].pop(iid, None)
        target.setdefault(GONE_INTS, {})[iid] = version_stamp(rec)
    else:
        target["ints"][iid] = rec
        if GONE_INTS in target:
            target[GONE_INTS].pop(iid, None)
    out.worlds.add(cid)


def fold_message(
    rec: Record, world: WorldOf, routes: dict[str, Route], msg_routes: dict[str, Route], out: FoldOutcome
) -> None:
    """Routes: message id -> {"c": conversation id}; ``routes`` are the conversations'
    (``mediana.domain.world``), which say where a conversation's messages lie."""
    mid, vid = rec["id"], rec["conversation_id"]
    route = msg_routes.get(mid)
    here = vid if route is None else route["c"]  # no route: a first version, or stored before routes
    held, changed, key = _held(here, world, routes, out)
    if not contest(rec, held.get(mid), out):
        return
    if here != vid:
        if held.pop(mid, None) is not None:  # the version it beats, where it lies
            changed.add(key)
        held, changed, key = _held(vid, world, routes, out)
    held[mid] = rec  # in its conversation's world (an erased contact's too, never counted), or parked
    changed.add(key)
    if route is None or here != vid:
        msg_routes[mid] = {"c": vid}
        out.msg_routes.add(mid)


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
