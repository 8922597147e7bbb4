"""Which stored documents a delta needs, round by round (pure Python).

A batch loads in rounds, each needing the one before (``mediana.services.batch_load``):
the routes of the delta's interactions and messages; then the conversations' routes (a
message's route names the conversation it lies in); then the worlds all of them point to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mediana.domain.child_routes import Route
from mediana.domain.records import Record


def interaction_ids(delta: Iterable[Record]) -> set[str]:
    """Interactions whose route the delta needs (first load)."""
    return {r["id"] for r in delta if r["kind"] == "interaction"}


def message_ids(delta: Iterable[Record]) -> set[str]:
    """Messages whose route the delta needs (first load, with the interactions')."""
    return {r["id"] for r in delta if r["kind"] == "message"}


def route_ids(delta: Iterable[Record], msg_routes: Mapping[str, Route] | None = None) -> set[str]:
    """Conversations whose route the delta needs (second load, after the routes of its
    interactions and messages: a message's route names the conversation it lies in)."""
    ids: set[str] = set()
    for r in delta:
        if r["kind"] == "conversation":
            ids.add(r["id"])
        elif r["kind"] == "message":
            ids.add(r["conversation_id"])
            found = (msg_routes or {}).get(r["id"])
            if found:
                ids.add(found["c"])
    return ids


def touched_contacts(
    delta: Iterable[Record],
    routes: Mapping[str, Route],
    int_routes: Mapping[str, Route] | None = None,
    msg_routes: Mapping[str, Route] | None = None,
) -> set[str]:
    """Contacts whose world the delta may change (third load)."""
    ids: set[str] = set()

    def world_of(vid: str) -> None:
        route = routes.get(vid)
        if route and route.get("c"):
            ids.add(route["c"])

    for r in delta:
        kind = r["kind"]
        if kind == "contact":
            ids.add(r["id"])
        elif kind == "conversation":
            ids.add(r["contact_id"])
            world_of(r["id"])
        elif kind == "interaction":
            ids.add(r["contact_id"])
            found = (int_routes or {}).get(r["id"])
            if found:
                ids.add(found["c"])  # where its latest version counts now
        elif kind == "message":
            world_of(r["conversation_id"])
            found = (msg_routes or {}).get(r["id"])
            if found:
                world_of(found["c"])  # where its latest version lies now
    return ids
