"""moto's DynamoDB Query, answered from an index of each partition: the same answers,
in time that grows with the result, as DynamoDB's does.

moto 5.2 answers every Query by sorting every item of the table (``Table.all_items``),
keeping the partition's, sorting those again and comparing each one's range key. On the
local stack at a 365-day history (a tenant's log is 170 k items) that is ~1 s for any
Query, even one returning a single item, against DynamoDB's few milliseconds; benchmarks
booked it as the aggregator's Lambda time. Here a base-table Query picks its candidates
by bisecting a sorted index of the partition's range keys (kept up to date on every put
and delete), and moto's own code does everything else with them: the key and range
conditions again, order, pagination, limits, filters, projections. A Query on an index
(GSI/LSI) still walks the table, unsorted (moto re-sorts its matches itself).

One corner differs: moto also ends a page at ~1 MB counting the size of items beyond the
range, so near 1 MB it may mark a page continued (the next one then empty, which DynamoDB
also allows) where this one does not, or the reverse; the items are the same.

Installed by ``start_moto_server`` (the local stack, the benches, the HTTP tests);
tests/test_motoindex.py proves (hypothesis) that every answer equals moto's own.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any

_override = threading.local()  # what all_items returns for the Query in progress on this thread
_INDEX = "_mediana_range_index"  # per table: hash key -> _Partition
_NAMES = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}


class _Partition:
    """The range keys of one partition, sorted by moto's own order (their cast values)."""

    def __init__(self, range_keys: Any) -> None:
        pairs = sorted(((k.cast_value, k) for k in range_keys), key=lambda p: p[0])
        self.values = [v for v, _ in pairs]
        self.keys = [k for _, k in pairs]
        self.present = set(self.keys)

    def add(self, key: Any) -> None:
        if key not in self.present:
            at = bisect.bisect_right(self.values, key.cast_value)
            self.values.insert(at, key.cast_value)
            self.keys.insert(at, key)
            self.present.add(key)

    def remove(self, key: Any) -> None:
        if key in self.present:
            value = key.cast_value
            at = bisect.bisect_left(self.values, value)
            while self.keys[at] != key:
                at += 1
            del self.values[at], self.keys[at]
            self.present.discard(key)

    def select(self, comparison: str | None, objs: list[Any]) -> list[Any] | None:
        """The range keys a condition matches, and the one just outside it at either end
        (None: a condition not handled here). moto looks at the next item to decide
        whether a page that reached its Limit is continued: with it, the same answer."""
        values = [o.cast_value for o in objs]
        comparison = _NAMES.get(comparison or "", comparison)  # moto passes "<=" as often as "LE"
        lo, hi = 0, len(self.values)
        if comparison is None:
            pass
        elif comparison == "EQ":
            lo, hi = bisect.bisect_left(self.values, values[0]), bisect.bisect_right(self.values, values[0])
        elif comparison in ("LT", "LE"):
            hi = (bisect.bisect_left if comparison == "LT" else bisect.bisect_right)(self.values, values[0])
        elif comparison in ("GT", "GE"):
            lo = (bisect.bisect_right if comparison == "GT" else bisect.bisect_left)(self.values, values[0])
        elif comparison == "BETWEEN":
            lo, hi = bisect.bisect_left(self.values, values[0]), bisect.bisect_right(self.values, values[1])
        elif comparison == "BEGINS_WITH" and isinstance(values[0], str):
            lo = hi = bisect.bisect_left(self.values, values[0])
            while hi < len(self.values) and isinstance(self.values[hi], str) and self.values[hi].startswith(values[0]):
                hi += 1
        else:
            return None
        return self.keys[max(lo - 1, 0) : hi + 1]


def _partition(table: Any, hash_key: Any) -> _Partition:
    index = table.__dict__.setdefault(_INDEX, {})
    if hash_key not in index:
        index[hash_key] = _Partition(table.items.get(hash_key, {}).keys())
    return index[hash_key]


def install() -> None:
    """Patch moto's Table (idempotent)."""
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_mediana_indexed", False):
        return
    real_all_items, real_query = Table.all_items, Table.query
    real_put, real_delete = Table.put_item, Table.delete_item

    def all_items(self: Any) -> list[Any]:
        chosen = getattr(_override, "items", None)
        return real_all_items(self) if chosen is None else chosen(self)

    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[4] if len(args) > 4 else None)
        several = len(kwargs.get("range_key_conditions") or ()) > 1
        chosen = None
        if index_name:  # moto sorts an index's matches itself: the table's order is not needed
            chosen = _unsorted
        elif self.range_key_attr and hash_key is not None and not several:
            keys = _partition(self, hash_key).select(range_comparison, list(range_objs or ()))
            if keys is not None:
                items = self.items.get(hash_key, {})

                def chosen(table: Any, keys: list[Any] = keys, items: dict[Any, Any] = items) -> list[Any]:
                    return [items[k] for k in keys]

        _override.items = chosen
        try:
            return real_query(self, hash_key, range_comparison, range_objs, *args, **kwargs)
        finally:
            _override.items = None

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = real_put(self, *args, **kwargs)
        index = self.__dict__.get(_INDEX, {})
        if item.range_key is not None and item.hash_key in index:
            index[item.hash_key].add(item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = real_delete(self, hash_key, range_key)
        index = self.__dict__.get(_INDEX, {})
        if item is not None and range_key and hash_key in index:
            index[hash_key].remove(range_key)
        return item

    Table.all_items, Table.query = all_items, query  # type: ignore[method-assign]
    Table.put_item, Table.delete_item = put_item, delete_item  # type: ignore[method-assign]
    Table._mediana_real_query = real_query  # type: ignore[attr-defined]
    Table._mediana_indexed = True  # type: ignore[attr-defined]


def _unsorted(table: Any) -> list[Any]:
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]
