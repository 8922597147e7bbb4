"""How a counter (``dims tuple -> int``) is stored: rows, or columns once it is large.

Rows (``[[*key, count], ...]``) are the simple form, and every stored document before
columns were introduced holds them. A large counter -- a long range's response-time
histogram has tens of thousands of cells -- compresses far better as columns: cells
sorted by key, each dimension but the last run-length encoded, the last (the seconds of
a histogram, an hour) as differences within a run of equal leading dimensions, then the
counts. On the 365-day demo tenant that is 1.9 instead of 5.2 compressed bytes a
response-time cell, and it decodes in a third of the time: fewer bytes written and read, and a
preset of the largest tenant one BatchGetItem fewer (bench/README.md). ``decode_counter``
reads both forms, so stored rows stay readable. The order is for compression only: any
order decodes to the same counter. Pure Python: the read path has no numpy.

Code older than this module reads rows only. A stack update replaces every function within
seconds, and during those seconds an old read function can meet columns that a new
aggregator has just written. It answers 500 until it is replaced. Rolling back below this
module is worse: every large counter already stored fails an older reader until a rebuild
writes it again as rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, and_, itemgetter, mul, ne, sub
from typing import Any

Key = tuple[Any, ...]
Counter = dict[Key, int]
Encoded = list[list[Any]] | dict[str, Any]

COLUMNS_FROM_CELLS = 64  # smaller counters (most day documents) stay rows: cheaper to build, as small
RUN_TYPES = {str, int, type(None)}  # values a run may join by equality without merging 1, 1.0 and True


@dataclass(frozen=True)
class View:
    """The part of a counter a reader's answer can depend on: the dimensions it keeps (a
    dropped one reads None, and cells that differ only there are summed) and, per
    dimension, the values a cell must hold to be kept at all. Decoding through a view builds
    no other cell: the 365-day response-time preset of the largest tenant sums to its
    seconds histogram, not to 1.7 M cells (bench/largest_preset.py)."""

    keep: tuple[bool, ...]
    accept: tuple[tuple[int, frozenset[Any]], ...] = ()


def encode_counter(counter: Mapping[Key, int]) -> Encoded:
    """The stored form of ``counter``: JSON-ready rows, or columns when it is large."""
    columns = _sorted_columns(counter) if len(counter) >= COLUMNS_FROM_CELLS else None
    if columns is None:
        return [[*key, value] for key, value in counter.items()]
    keys, counts, delta = columns
    runs = [_run_lengths(column) for column in keys[:-1]]
    last = list(keys[-1])
    if delta:
        differences = [last[0], *map(sub, last[1:], last[:-1])]
        for i in _run_starts(runs):
            differences[i] = last[i]
        last = differences
    return {"runs": runs, "last": last, "delta": delta, "counts": counts}


def _sorted_columns(counter: Mapping[Key, int]) -> tuple[list[tuple[Any, ...]], list[int], bool] | None:
    """The key columns, the counts, and whether the last column holds integers only (then it
    is stored as differences), cells sorted by key; None when the columns form does not
    apply: keys of different or zero widths, or values a run cannot hold. Sorted by the
    values' ranks in their columns, not by the values, which mix None with text."""
    keys = list(counter)
    if len(set(map(len, keys))) != 1 or not keys[0]:
        return None
    columns = list(zip(*keys, strict=True))
    types = [set(map(type, column)) for column in columns]
    if not all(RUN_TYPES >= kinds for kinds in types):
        return None
    place, _ = _ranks(columns[0])  # the key's rank tuple as one integer: compared in C, no tuples
    for column in columns[1:]:
        ranks, distinct = _ranks(column)
        place = list(map(add, map(mul, place, repeat(distinct)), ranks))
    cells = itemgetter(*sorted(range(len(keys)), key=place.__getitem__))
    return [cells(column) for column in columns], list(cells(list(counter.values()))), types[-1] == {int}


def _ranks(column: Sequence[Any]) -> tuple[list[int], int]:
    """Each value's rank among the column's distinct values (None first), and their number."""
    ordered = ordered_values(column)
    rank = {v: i for i, v in enumerate(ordered)}
    return list(map(rank.__getitem__, column)), len(rank)


def ordered_values(column: Iterable[Any]) -> list[Any]:
    """A column's distinct values in the order cells are stored in: None first, then sorted
    (by ``repr`` when they do not compare: numbers and text in one column)."""
    distinct = set(column)
    missing = None in distinct
    distinct.discard(None)
    try:
        ordered = sorted(distinct)
    except TypeError:  # numbers and text in one column: any order will do
        ordered = sorted(distinct, key=repr)
    return [None, *ordered] if missing else ordered


def decode_counter(encoded: Encoded | Iterable[list[Any]], view: View | None = None) -> Counter:
    """The counter ``encode_counter`` stored, in either form; through ``view``, only its part."""
    if not isinstance(encoded, dict):
        rows = {tuple(row[:-1]): int(row[-1]) for row in encoded}
        return rows if view is None else project(rows, view)
    runs, last, counts = encoded["runs"], encoded["last"], encoded["counts"]
    needed = _needed(view, len(runs) + 1)
    columns: list[Sequence[Any] | None] = [
        list(chain.from_iterable(map(repeat, values, lengths))) if needed[i] else None
        for i, (values, lengths) in enumerate(runs)
    ]
    if needed[-1] and encoded["delta"]:
        last = _undelta(last, sorted(_run_starts(runs)))
    columns.append(last if needed[-1] else None)
    if view is None:
        return dict(zip(zip(*columns, strict=True), map(int, counts), strict=True))  # type: ignore[arg-type]
    return _viewed(columns, counts, view)


def project(counter: Mapping[Key, int], view: View | None) -> Counter:
    """``counter`` seen through ``view`` (a copy of it, without one)."""
    if view is None or not counter:
        return dict(counter)
    width = len(next(iter(counter)))
    if any(len(key) != width for key in counter):
        raise ValueError("cells of different widths")
    needed = _needed(view, width)  # only the columns the view reads: a projection keeps one or two
    columns = [list(map(itemgetter(i), counter)) if needed[i] else None for i in range(width)]
    return _viewed(columns, list(counter.values()), view)


def _fits(view: View, width: int) -> None:
    if len(view.keep) != width:
        raise ValueError(f"a view of {len(view.keep)} dimensions on cells of {width}")


def _needed(view: View | None, width: int) -> list[bool]:
    """The columns a view reads: those it keeps and those whose values it tests."""
    if view is None:
        return [True] * width
    _fits(view, width)
    tested = {i for i, _ in view.accept}
    return [keep or i in tested for i, keep in enumerate(view.keep)]


def _viewed(columns: Sequence[Sequence[Any] | None], counts: Sequence[Any], view: View) -> Counter:
    """Cells from their key columns (None: a column the view does not read) and counts:
    those the view accepts, dropped dimensions as None, equal keys summed, zeros left out."""
    mask: list[bool] | None = None
    for i, accepted in view.accept:
        hits = list(map(accepted.__contains__, columns[i]))  # type: ignore[arg-type]
        mask = hits if mask is None else list(map(and_, mask, hits))
    values: Iterable[int] = map(int, counts)
    kept: list[Iterable[Any]] = [col for col, keep in zip(columns, view.keep, strict=True) if keep]  # type: ignore[misc]
    if mask is not None:
        kept, values = [compress(col, mask) for col in kept], compress(values, mask)
    blank = [None] * len(view.keep)
    if not kept:  # every dimension dropped: one cell at most
        total = sum(values)
        return {tuple(blank): total} if total else {}
    # summed by the kept values alone (one column: the values themselves, no tuples), then
    # widened to whole keys: one tuple per distinct cell, not one per stored cell
    single = len(kept) == 1
    narrow: dict[Any, int] = {}
    get = narrow.get
    for key, count in zip(kept[0] if single else zip(*kept, strict=True), values, strict=True):
        narrow[key] = get(key, 0) + count
    at = [i for i, keep in enumerate(view.keep) if keep]
    out: Counter = {}
    for key, count in narrow.items():
        if count:
            whole = blank.copy()
            for i, v in zip(at, (key,) if single else key, strict=True):
                whole[i] = v
            out[tuple(whole)] = count
    return out


def _undelta(differences: list[int], starts: list[int]) -> list[int]:
    """The last column from its differences: a running sum restarted at each run start (where
    the value is stored whole). One running sum over the whole column, less the sum it had
    reached before each run: C work per cell, none per run (a long histogram has runs of a few)."""
    total = [0, *accumulate(differences)]
    lengths = map(sub, [*starts[1:], len(differences)], starts)
    before = chain.from_iterable(map(repeat, map(total.__getitem__, starts), lengths))
    return list(map(sub, islice(total, 1, None), before))


def _run_lengths(column: tuple[Any, ...]) -> list[list[Any]]:
    """[values, lengths] of the runs of equal values (in C: no Python step per value)."""
    n = len(column)
    starts = [0, *compress(range(1, n), map(ne, column[1:], column[:-1]))]
    return [list(map(column.__getitem__, starts)), list(map(sub, [*starts[1:], n], starts))]


def _run_starts(runs: list[list[Any]]) -> set[int]:
    """Rows where some leading dimension starts a new run (row 0 always does)."""
    starts = {0}
    for _, lengths in runs:
        starts.update(accumulate(lengths[:-1]))
    return starts
