"""Large preset counters stored a second time, as the unfiltered reports read them (pure Python).

A report reads only some dimensions of a section (``ReportDef.reads``): the unfiltered
response-time report reads a seconds histogram. A view (``cells.View``) already keeps the
read path from building the other cells, but decoding still walks every stored one: the
365-day response-time preset of the largest tenant imaginable holds 3.9 M bucket cells, 1.3 s
of one core to read a 7 k-cell histogram off them (``bench/largest_preset.py``), ~4.5 s on the
read function's third of a vCPU. So a large counter of a preset bucket is also stored
*projected* onto each view the reports read it through without filters. A request whose view
needs no dimension a projection dropped (the unfiltered report, or a filter on a dimension the
report reads anyway) decodes that projection: a few thousand cells. Any other request, and an
item written before this module, decodes the whole counter, as before.

A projection is a function of the counter stored beside it in the same item, so it is never
stale, and it answers exactly what the whole counter does through the request's view: both
drop the same dimensions and sum the same cells (tests/test_views.py holds every report to it).
A bucket too large for one item part keeps its projections in part 0 and its projected
counters after it (``storage/blobs``: a headed document), so such a read fetches part 0 alone.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from functools import cache
from typing import Any

from mediana.domain.cells import Counter, Encoded, View, decode_counter, encode_counter, project
from mediana.domain.definitions import REPORTS
from mediana.domain.report_values import section_view
from mediana.domain.sections import SECTIONS

# Below this a counter decodes through a view in about a millisecond and a half: its copy
# would cost a write more than it saves a read. The demo's largest buckets (the 365-day
# response times, ~4.4 k cells) just pass it; a tenant a few times its size passes it widely.
PROJECT_FROM_CELLS = 4096
FEWER_BY = 2  # a projection is stored when it has at most 1/FEWER_BY of its counter's cells
ROLES = ("cur", "prev")  # a bucket's counters: its range's, its previous period's
STORED = {"cur": "cur_views", "prev": "prev_views"}  # document key -> {mask: encoded projection}


def mask(keep: tuple[bool, ...]) -> str:
    """A view's kept dimensions as the stored key of its projection: "00001" keeps the last."""
    return "".join("1" if kept else "0" for kept in keep)


@cache
def unfiltered_views(section: str, role: str) -> tuple[View, ...]:
    """The views the reports reading ``section`` decode its ``role`` counter through when the
    request sets no filter (a series section's current cells are keyed by date first)."""
    dated = role == "cur" and SECTIONS[section].series
    views = {section_view(r, section, {}, dated) for r in REPORTS.values() if section in r.sections}
    return tuple(sorted((v for v in views if v is not None), key=lambda v: v.keep))


def add_projections(
    doc: MutableMapping[str, Any], section: str, counters: Mapping[str, Counter], min_cells: int | None = None
) -> list[str]:
    """Store beside each large counter of ``doc`` (``counters``: role -> counter) its projection
    onto each unfiltered view, when that has at most 1/``FEWER_BY`` of its cells (a copy as
    large as the counter would save a reader nothing). Returns the roles that have projections."""
    least = PROJECT_FROM_CELLS if min_cells is None else min_cells
    found: dict[str, dict[str, Encoded]] = {}
    for role in ROLES:
        counter = counters[role]
        if len(counter) < least:
            continue
        found[role] = {}
        for view in unfiltered_views(section, role):
            seen = project(counter, view)
            if worth_storing(len(seen), len(counter)):
                found[role][mask(view.keep)] = encode_counter(seen)
    return put_projections(doc, found)


def worth_storing(projected_cells: int, cells: int) -> bool:
    """A projection is stored when it has at most 1/``FEWER_BY`` of its counter's cells."""
    return FEWER_BY * projected_cells <= cells


def put_projections(doc: MutableMapping[str, Any], found: Mapping[str, Mapping[str, Encoded]]) -> list[str]:
    """Each role's projections (mask -> encoded) stored in ``doc``; the roles that have some."""
    roles = []
    for role in ROLES:
        if found.get(role):
            doc[STORED[role]] = dict(found[role])
            roles.append(role)
    return roles


def decode_role(doc: Mapping[str, Any], role: str, view: View | None) -> Counter:
    """``doc[role]`` through ``view``: from a stored projection that kept every dimension the
    view keeps or tests (any such one gives the same cells), else from the whole counter."""
    projected = _covering(doc, role, view)
    return decode_counter(doc[role] if projected is None else projected, view)


def answers(doc: Mapping[str, Any], role: str, view: View | None) -> bool:
    """Can ``decode_role`` answer from ``doc`` -- a whole bucket, or only its head, which has a
    counter only where it has no projections (``storage/blobs``)?"""
    return role in doc or _covering(doc, role, view) is not None


def _covering(doc: Mapping[str, Any], role: str, view: View | None) -> Encoded | None:
    stored = doc.get(STORED[role])
    if view is not None and stored:
        needed = {i for i, kept in enumerate(view.keep) if kept} | {i for i, _ in view.accept}
        for key, encoded in stored.items():
            if len(key) == len(view.keep) and all(key[i] == "1" for i in needed):
                return encoded
    return None
