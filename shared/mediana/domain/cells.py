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

from collections.abc import Iterable, Mapping
from itertools import accumulate, chain, compress, pairwise, repeat
from operator import add, itemgetter, mul, ne, sub
from typing import Any

Key = tuple[Any, ...]
Counter = dict[Key, int]
Encoded = list[list[Any]] | dict[str, Any]

COLUMNS_FROM_CELLS = 64  # smaller counters (most day documents) stay rows: cheaper to build, as small
_RUN_TYPES = {str, int, type(None)}  # values a run may join by equality without merging 1, 1.0 and True


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
    if not all(_RUN_TYPES >= kinds for kinds in types):
        return None
    place, _ = _ranks(columns[0])  # the key's rank tuple as one integer: compared in C, no tuples
    for column in columns[1:]:
        ranks, distinct = _ranks(column)
        place = list(map(add, map(mul, place, repeat(distinct)), ranks))
    cells = itemgetter(*sorted(range(len(keys)), key=place.__getitem__))
    return [cells(column) for column in columns], list(cells(list(counter.values()))), types[-1] == {int}


def _ranks(column: tuple[Any, ...]) -> tuple[list[int], int]:
    """Each value's rank among the column's distinct values (None first), and their number."""
    distinct = set(column)
    missing = None in distinct
    distinct.discard(None)
    try:
        ordered = sorted(distinct)
    except TypeError:  # numbers and text in one column: any order will do
        ordered = sorted(distinct, key=repr)
    rank = {v: i for i, v in enumerate([None, *ordered] if missing else ordered)}
    return list(map(rank.__getitem__, column)), len(rank)


def decode_counter(encoded: Encoded | Iterable[list[Any]]) -> Counter:
    """The counter ``encode_counter`` stored, in either form."""
    if not isinstance(encoded, dict):
        return {tuple(row[:-1]): int(row[-1]) for row in encoded}
    runs, last, counts = encoded["runs"], encoded["last"], encoded["counts"]
    columns = [list(chain.from_iterable(map(repeat, values, lengths))) for values, lengths in runs]
    if encoded["delta"]:  # a running sum, restarted where a leading dimension changes
        bounds = sorted(_run_starts(runs))
        last = list(chain.from_iterable(accumulate(last[a:b]) for a, b in pairwise([*bounds, len(last)])))
    columns.append(last)
    return dict(zip(zip(*columns, strict=True), map(int, counts), strict=True))


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
