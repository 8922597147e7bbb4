"""Generations of a tenant's derived items, so a rebuild never shows partial numbers.

The aggregator writes into the state's ``gen``. A rebuild (asked for, or forced by a
time-zone change) starts generation ``gen + 1`` from an empty set of items and keeps
the previous complete one readable: its reader-facing fields are frozen in ``live``.
The conditional write that commits the new generation's last batch also drops
``live``, so readers switch in one atomic step; until then they get the old numbers
with the old ``data_through``. Superseded generations are listed in ``retired`` and
deleted a grace period later (a reader that read the state just before the switch
may still be reading them). Pure functions over the state's fields: no AWS here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from mediana.storage.state_fields import object_or_none

RETIRE_GRACE_S = 300  # far longer than a read (state, then documents) can take
# How a generation's documents are folded. 2: interactions and messages have routes
# (mediana.domain.child_routes); none: before them, when a record moved to another parent
# stayed counted where it was. A generation folded in a former layout is rebuilt once.
LAYOUT = 2


class _State(Protocol):
    gen: Any
    live: Any
    retired: Any
    tz: Any
    data_through: Any
    computed_at: Any
    cursor: Any
    presets_as_of: Any
    layout: Any


@dataclass(frozen=True)
class ReadView:
    """What readers use: the newest complete generation and its fields."""

    gen: int
    tz: str
    data_through: str | None
    computed_at: str | None
    rebuilding: bool = False
    exists: bool = True  # False: no state item (no data ever arrived, no refresh was asked)
    damaged: bool = False  # True: ``live`` does not decode, so which generation is complete is unknown


def building_gen(state: _State | None) -> int:
    return int(state.gen or 0) if state is not None else 0


def read_view(state: _State | None) -> ReadView:
    if state is None:
        return ReadView(0, "UTC", None, None, exists=False)
    if state.live:
        live = object_or_none(state.live) or {}
        try:
            return ReadView(int(live["gen"]), live["tz"], live["data_through"], live["computed_at"], rebuilding=True)
        except (KeyError, TypeError, ValueError):  # readers answer 503 until the rebuild switches (state_fields)
            return ReadView(building_gen(state), state.tz or "UTC", None, None, rebuilding=True, damaged=True)
    return ReadView(building_gen(state), state.tz or "UTC", state.data_through, state.computed_at)


def retired(state: _State) -> dict[int, int]:
    """{generation: when it was superseded, epoch s}; empty when the field does not decode
    (``state_fields``: those generations' items are then never deleted)."""
    found = object_or_none(state.retired) or {}
    try:
        return {int(g): int(at) for g, at in found.items()}
    except (TypeError, ValueError):
        return {}


def _encode_retired(gens: dict[int, int]) -> str | None:
    return json.dumps({str(g): at for g, at in sorted(gens.items())}) if gens else None


def rebuild_fields(state: _State, tz: str, now_s: int) -> dict[str, Any]:
    """State fields that start a new, empty generation in ``tz``. The generation readers
    use stays: the current one if it ever committed a batch, else the one they already
    had (an unfinished build is abandoned and retired at once)."""
    gen = building_gen(state)
    old = retired(state)
    live = state.live
    if not live and (int(state.cursor or 0) > 0 or state.presets_as_of):
        view = read_view(state)
        live = json.dumps({k: v for k, v in asdict(view).items() if k not in ("rebuilding", "exists", "damaged")})
    else:
        old[gen] = now_s - RETIRE_GRACE_S  # never read by anyone: no grace needed
    return {
        "gen": gen + 1,
        "live": live,
        "retired": _encode_retired(old),
        "cursor": 0,
        "tz": tz,
        "presets_as_of": None,
        "rebuild": None,
        "layout": LAYOUT,
    }


def former_layout(state: _State) -> bool:
    """Has the building generation folded data in a layout before ``LAYOUT``? Its stored
    documents lack what today's fold relies on (routes): only a rebuild from the log mends
    them. An empty generation takes today's layout with its first batch."""
    return state.layout != LAYOUT and (int(state.cursor or 0) > 0 or bool(state.presets_as_of))


def layout_fields(state: _State) -> dict[str, Any]:
    """The layout a batch commits: today's, into a generation that had folded nothing."""
    return {"layout": LAYOUT} if state.layout != LAYOUT and not former_layout(state) else {}


def switch_fields(state: _State, now_s: int) -> dict[str, Any]:
    """Fields that make the building generation the one readers use (nothing if it is already)."""
    if not state.live:
        return {}
    old = retired(state)
    view = read_view(state)
    if not view.damaged:  # else that generation is unknown: its items are never deleted (state_fields)
        old[view.gen] = now_s
    return {"live": None, "retired": _encode_retired(old)}


def ripe(state: _State, now_s: int) -> list[int]:
    """Retired generations past their grace period: safe to delete."""
    return sorted(g for g, at in retired(state).items() if at + RETIRE_GRACE_S <= now_s)


def after_deleting(state: _State, gens: list[int]) -> dict[str, Any]:
    rest = {g: at for g, at in retired(state).items() if g not in gens}
    return {"retired": _encode_retired(rest)}


def next_collection_s(state: _State) -> int | None:
    """When the next retired generation may be deleted (None: nothing retired)."""
    pending = retired(state)
    return min(pending.values()) + RETIRE_GRACE_S if pending else None
