"""Stored preset buckets checked against the presets their day documents give (pure Python).

Readers answer from the preset buckets, not from the day documents (``domain/presets``), so
an audit that checks the days alone would miss a bucket that lost a write: at the next roll
it is kept as it is (``unchanged_at_roll``), and a 365-day bucket lives for a year. Each
bucket is checked for what a reader takes from it: that readers accept it for today's range
(``valid_for``), its two counters cell by cell, and every projection it stores against the
projection of the counter it should hold (a reader of an unfiltered report reads those alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from mediana.domain.cells import Counter, View, decode_counter, project
from mediana.domain.presets import PresetKey, valid_for
from mediana.domain.projections import ROLES, STORED
from mediana.domain.ranges import preset_range

MISSING = "missing"  # not stored, but it should hold cells
REFUSED = "refused"  # stored for a range readers do not accept it for today
CELLS = "cells"  # a counter differs
PROJECTION = "projection"  # a stored projection differs from its counter's
UNREADABLE = "unreadable"  # its counters or projections do not decode

Cell = tuple[str, tuple[Any, ...], int, int]  # (role or role:mask, cell, stored count, expected count)


@dataclass(frozen=True)
class PresetDrift:
    """A preset bucket readers would answer wrongly from: why, how many cells differ, and the
    first few."""

    item: str
    why: str
    differing: int
    sample: tuple[Cell, ...]


def preset_drifts(
    stored: Mapping[str, Any],
    expected: Mapping[str, tuple[PresetKey, Counter, Counter]],
    today: date,
    sample: int = 5,
) -> list[PresetDrift]:
    """Every bucket of ``expected`` (item name -> its key and the two counters it should
    hold, the presets of ``today``) that ``stored`` (item name -> document, or anything else
    for one that does not decode) holds otherwise.
    A bucket that should be empty may be absent; stored items no range reads are not checked."""
    out = []
    for item, (key, cur, prev) in sorted(expected.items()):
        doc = stored.get(item)
        should = {"cur": cur, "prev": prev}
        if doc is None:
            if cur or prev:
                out.append(_drift(item, MISSING, [(r, k, 0, n) for r in ROLES for k, n in should[r].items()], sample))
            continue
        if not isinstance(doc, Mapping):  # stored, but it does not decode (``storage.documents.Unreadable``)
            out.append(PresetDrift(item, UNREADABLE, 0, ()))
            continue
        if not valid_for(doc, preset_range(key[0], today), today):
            out.append(PresetDrift(item, REFUSED, 0, ()))
            continue
        try:
            found = _cells_drift(item, doc, should, sample)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):  # what a reader could not decode either
            found = PresetDrift(item, UNREADABLE, 0, ())
        if found is not None:
            out.append(found)
    return out


def _cells_drift(item: str, doc: Mapping[str, Any], should: dict[str, Counter], sample: int) -> PresetDrift | None:
    """The bucket's counters against ``should``, then its projections against theirs."""
    differ = [cell for role in ROLES for cell in _differ(role, decode_counter(doc[role]), should[role])]
    if differ:
        return _drift(item, CELLS, differ, sample)
    stale = [
        cell
        for role in ROLES
        for mask, encoded in (doc.get(STORED[role]) or {}).items()
        for cell in _differ(f"{role}:{mask}", decode_counter(encoded), _projection(should[role], mask))
    ]
    return _drift(item, PROJECTION, stale, sample) if stale else None


def _projection(counter: Counter, mask: str) -> Counter:
    return project(counter, View(tuple(c == "1" for c in mask)))


def _differ(role: str, got: Counter, want: Counter) -> list[Cell]:
    keys = got.keys() | want.keys()
    return [(role, k, got.get(k, 0), want.get(k, 0)) for k in keys if got.get(k, 0) != want.get(k, 0)]


def _drift(item: str, why: str, cells: list[Cell], sample: int) -> PresetDrift:
    shown = sorted(cells, key=repr)[:sample]
    return PresetDrift(item, why, len(cells), tuple((r, tuple(k), s, e) for r, k, s, e in shown))
