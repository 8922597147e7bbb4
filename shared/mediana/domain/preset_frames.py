"""Every preset bucket's stored counters at once, from day documents (numpy; writer only).

``build_presets`` folds the day documents into ``RangeSummary`` buckets cell by cell, and
``to_doc`` then sorts and encodes each bucket's counters (``cells.encode_counter``): about a
microsecond a cell each, a third of a second for the 365-day demo tenant, spent by every full
build and every day roll. Here a section's cells become integer columns once (int32 codes, a
column at a time); each preset's range and previous period are a selection of their rows, whose
buckets are summed, sorted and run-length encoded by a few numpy passes. The 365-day demo
tenant's presets take 0.12 s instead of 0.40; two years of the largest tenant's response times
3.4 s and +538 MB instead of 9.6 s and +392 MB (bench/preset_rebuild.py). A large counter's
projections (``domain/projections``) are made here too, from its columns: decoding it again
to project it took half of those seconds.

What comes out is what ``to_doc`` stores: the same cells, in the same order for the columns
form; rows (the form of counters under ``COLUMNS_FROM_CELLS`` cells) come sorted, and any
order decodes to the same counter. tests/test_preset_frames.py proves it for any day
documents. A section whose cells ``encode_counter`` would not store as columns (keys of mixed
widths, values other than text, integers and None) is built by ``build_presets``, as before.
The read function never imports this module: it has no numpy.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from mediana.domain import projections
from mediana.domain.cells import COLUMNS_FROM_CELLS, RUN_TYPES, Counter, Encoded, View, ordered_values
from mediana.domain.presets import PresetKey, bucket_ids, build_presets, width
from mediana.domain.ranges import PRESETS, DateRange, preset_range
from mediana.domain.sections import SECTIONS, RangeSummary, kept_apart, summary_doc

DayKey = tuple[str, str]
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INT64 = 2**62  # integers beyond this take the cell-by-cell path (no overflow in sums)


@dataclass
class EncodedSummary:
    """A preset bucket as ``RangeSummary.to_doc`` stores it: its counters encoded, and how
    many cells each holds."""

    section: str
    span: DateRange
    cur: Encoded
    prev: Encoded
    cur_cells: int = 0
    prev_cells: int = 0
    views: dict[str, dict[str, Encoded]] = field(default_factory=dict)  # role -> its projections

    def to_doc(self) -> dict[str, Any]:
        return summary_doc(self.section, self.span, self.cur, self.prev)

    @property
    def cells(self) -> int:
        return self.cur_cells + self.prev_cells

    def cells_of(self, role: str) -> int:
        return self.cur_cells if role == "cur" else self.prev_cells

    @classmethod
    def of(cls, summary: RangeSummary) -> EncodedSummary:
        doc = summary.to_doc()
        projections.add_projections(doc, summary.section, {"cur": summary.cur, "prev": summary.prev})
        views = {role: doc[stored] for role, stored in projections.STORED.items() if stored in doc}
        return cls(summary.section, summary.span, doc["cur"], doc["prev"], len(summary.cur), len(summary.prev), views)


def encoded_presets(today: date, days: Mapping[DayKey, Counter]) -> dict[PresetKey, EncodedSummary]:
    """``{key: EncodedSummary.of(s) for key, s in build_presets(today, days, apart=today).items()}``,
    vectorised: every bucket of every preset of every section, today's dated cells left out."""
    apart = today.isoformat()
    spans = {p: preset_range(p, today) for p in PRESETS}
    by_section: dict[str, list[tuple[str, Counter]]] = {}
    for (section, day_key), cells in days.items():
        if cells and not kept_apart(section, day_key, apart):
            by_section.setdefault(section, []).append((day_key, cells))
    out: dict[PresetKey, EncodedSummary] = {}
    for section in SECTIONS:
        docs = by_section.get(section, [])
        built = _section(section, spans, docs) if docs else {}
        if built is None:  # cells the columns form does not take: folded one by one
            summaries = build_presets(today, {(section, d): c for d, c in docs}, apart=today)
            built = {k: EncodedSummary.of(s) for k, s in summaries.items() if k[1] == section}
        for p in PRESETS:
            for b in bucket_ids(p, section, spans[p]):
                key = (p, section, b)
                out[key] = built.get(key) or EncodedSummary(section, spans[p], [], [])
                _project_empty(out[key])
    return out


def _project_empty(summary: EncodedSummary) -> None:
    """An empty counter's projections (empty), which ``add_projections`` stores only when every
    counter is projected (a threshold of 0 cells: tests stand for large buckets so)."""
    if projections.PROJECT_FROM_CELLS > 0:
        return
    for role in projections.ROLES:
        if summary.cells_of(role) == 0:
            views = projections.unfiltered_views(summary.section, role)
            if views:
                summary.views[role] = {projections.mask(v.keep): [] for v in views}


def _section(
    section: str, spans: Mapping[str, DateRange], docs: list[tuple[str, Counter]]
) -> dict[PresetKey, EncodedSummary] | None:
    """One section's buckets, or None when its cells do not all take the columns form."""
    info = SECTIONS[section]
    keys = list(chain.from_iterable(cells for _, cells in docs))
    if set(map(len, keys)) != {len(info.dims)}:
        return None
    try:
        counts = np.fromiter(chain.from_iterable(c.values() for _, c in docs), dtype=np.int64, count=len(keys))
    except (OverflowError, TypeError, ValueError):
        return None
    codes: list[np.ndarray] = []
    values: list[_Values] = []
    for i in range(len(info.dims)):  # a column at a time: only its codes stay (int32: a third of the tuples)
        column = list(map(itemgetter(i), keys))
        kinds = set(map(type, column))
        if not RUN_TYPES >= kinds or (info.cumulative and i == 0 and kinds != {str}):
            return None
        ordered = ordered_values(column)
        if len(ordered) >= 2**31 or any(type(v) is int and abs(v) >= _INT64 for v in ordered):
            return None
        rank = {v: code for code, v in enumerate(ordered)}
        codes.append(np.fromiter(map(rank.__getitem__, column), dtype=np.int32, count=len(column)))
        values.append(_Values(ordered))
    del keys

    encoded: dict[PresetKey, dict[str, tuple[Encoded, int, dict[str, Encoded]]]] = {}
    if info.cumulative:  # the creation date is the first dimension; a range counts it up to its end
        for p in PRESETS:
            span = spans[p]
            for role, end in (("cur", span.end), ("prev", span.previous.end)):
                rows = np.flatnonzero(codes[0] < bisect_right(values[0].values, end.isoformat()))
                made = _encode_all(
                    np.zeros(len(rows), np.int64),
                    [c[rows] for c in codes[1:]],
                    values[1:],
                    counts[rows],
                    projections.unfiltered_views(section, role),
                )
                for _, enc, size, projected in made:
                    encoded.setdefault((p, section, None), {})[role] = (enc, size, projected)
    else:
        ordinals = np.repeat(
            np.array([date.fromisoformat(d).toordinal() for d, _ in docs], dtype=np.int64),
            [len(cells) for _, cells in docs],
        )
        for p in PRESETS:
            span, w = spans[p], width(p, section)
            for role, r in (("cur", span), ("prev", span.previous)):
                rows = np.flatnonzero((ordinals >= r.start.toordinal()) & (ordinals <= r.end.toordinal()))
                bucket = np.zeros(len(rows), np.int64) if w is None else (ordinals[rows] - _EPOCH_ORDINAL) // w
                cols, vals = [c[rows] for c in codes], values
                if role == "cur" and info.series:  # a series keeps the local date first in its current cells
                    days, day_codes = np.unique(ordinals[rows], return_inverse=True)
                    cols = [day_codes.astype(np.int32), *cols]
                    vals = [_Values([date.fromordinal(int(o)).isoformat() for o in days]), *values]
                onto = projections.unfiltered_views(section, role)
                for b, enc, size, projected in _encode_all(bucket, cols, vals, counts[rows], onto):
                    encoded.setdefault((p, section, None if w is None else b), {})[role] = (enc, size, projected)
    out: dict[PresetKey, EncodedSummary] = {}
    for key, roles in encoded.items():
        cur, cur_cells, cur_views = roles.get("cur", ([], 0, {}))
        prev, prev_cells, prev_views = roles.get("prev", ([], 0, {}))
        by_role = {role: v for role, v in (("cur", cur_views), ("prev", prev_views)) if v}
        out[key] = EncodedSummary(section, spans[key[0]], cur, prev, cur_cells, prev_cells, by_role)
    return out


def _encode_all(
    cid: np.ndarray,
    cols: list[np.ndarray],
    values: list[_Values],
    counts: np.ndarray,
    views: tuple[View, ...] = (),
) -> list[tuple[int, Encoded, int, dict[str, Encoded]]]:
    """(counter id, encoded counter, cells, projections) of every counter the rows make: each
    row adds its count to the cell of its key columns (codes into ``values``, ranked as cells
    ranks them) in the counter ``cid``; cells that sum to zero are left out, as ``add_into``
    leaves them. A counter of ``projections.PROJECT_FROM_CELLS`` cells or more comes with its
    projections onto ``views`` worth storing (mask -> encoded), as ``add_projections`` makes them."""
    if not len(cid):
        return []
    low = int(cid.min())
    order = _order([cid - low, *cols], [int(cid.max()) - low + 1, *(len(v) for v in values)])
    cid, cols, counts = cid[order], [c[order] for c in cols], counts[order]
    new = np.ones(len(cid), dtype=bool)
    new[1:] = cid[1:] != cid[:-1]
    for c in cols:
        new[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    sums = np.add.reduceat(counts, starts)
    starts, sums = starts[sums != 0], sums[sums != 0]
    if not len(sums):
        return []
    cid, cols = cid[starts], [c[starts] for c in cols]

    n = len(cid)
    first = np.ones(n, dtype=bool)  # a counter's first cell
    first[1:] = cid[1:] != cid[:-1]
    bounds = [*np.flatnonzero(first).tolist(), n]
    any_start = first.copy()  # a cell that starts a run of some leading dimension
    lead_starts = []
    for c in cols[:-1]:
        change = first.copy()
        change[1:] |= c[1:] != c[:-1]
        any_start |= change
        lead_starts.append(np.flatnonzero(change))
    objects = [v.objects for v in values]
    last_values = objects[-1][cols[-1]]
    is_int, numbers = values[-1].is_int[cols[-1]], values[-1].numbers[cols[-1]]
    differences = numbers.copy()
    differences[1:] -= numbers[:-1]
    differences[any_start] = numbers[any_start]
    all_int = np.logical_and.reduceat(is_int, bounds[:-1])

    least = projections.PROJECT_FROM_CELLS
    out: list[tuple[int, Encoded, int, dict[str, Encoded]]] = []
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        size = hi - lo
        counts_list = sums[lo:hi].tolist()
        encoded: Encoded
        if size < COLUMNS_FROM_CELLS:
            slices = [obj[c[lo:hi]].tolist() for obj, c in zip(objects, cols, strict=True)]
            encoded = [[*key, count] for key, count in zip(zip(*slices, strict=True), counts_list, strict=True)]
        else:
            runs = []
            for obj, c, run_starts in zip(objects, cols, lead_starts, strict=False):
                a, b = np.searchsorted(run_starts, [lo, hi])
                at = run_starts[a:b]
                runs.append([obj[c[at]].tolist(), np.diff(np.append(at, hi)).tolist()])
            delta = bool(all_int[k])
            last = differences[lo:hi].tolist() if delta else last_values[lo:hi].tolist()
            encoded = {"runs": runs, "last": last, "delta": delta, "counts": counts_list}
        found = _projections([c[lo:hi] for c in cols], sums[lo:hi], values, views) if size >= least else {}
        out.append((int(cid[lo]), encoded, size, found))
    return out


def _projections(
    cols: list[np.ndarray], counts: np.ndarray, values: list[_Values], views: tuple[View, ...]
) -> dict[str, Encoded]:
    """One counter's projections onto ``views`` (its cells as codes and counts), those worth
    storing: the cells each view accepts, its dropped dimensions None, equal keys summed."""
    found: dict[str, Encoded] = {}
    for view in views:
        rows = np.ones(len(counts), dtype=bool)
        for i, accepted in view.accept:
            rows &= np.array([v in accepted for v in values[i].values], dtype=bool)[cols[i]]
        at = np.flatnonzero(rows)
        kept = [c[at] if keep else np.zeros(len(at), np.int32) for c, keep in zip(cols, view.keep, strict=True)]
        tables = [v if keep else _NONE for v, keep in zip(values, view.keep, strict=True)]
        seen = _encode_all(np.zeros(len(at), np.int64), kept, tables, counts[at])
        encoded, cells = (seen[0][1], seen[0][2]) if seen else ([], 0)
        if projections.worth_storing(cells, len(counts)):
            found[projections.mask(view.keep)] = encoded
    return found


def _order(columns: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """The rows in the order of their columns (the first, then the next...): as one integer
    each when the codes fit one (a single sort), else by ``lexsort``."""
    if float(np.prod(np.array(sizes, dtype=np.float64))) >= 2.0**62:
        return np.lexsort(columns[::-1])
    place = columns[0].astype(np.int64)
    for column, size in zip(columns[1:], sizes[1:], strict=True):
        place *= size
        place += column
    return np.argsort(place, kind="stable")


class _Values:
    """A key column's distinct values, in cell order, as ``_encode_all`` takes them by code:
    Python values, whether each is an integer, and the integers (0 for any other value)."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values
        self.objects = np.empty(len(values), dtype=object)
        self.objects[:] = values
        self.is_int = np.array([type(v) is int for v in values], dtype=bool)
        self.numbers = np.array([v if type(v) is int else 0 for v in values], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.values)


_NONE = _Values([None])  # a dimension a projection dropped: every cell holds None
