"""A tenant's day documents counted again from its log, in columns: the audit's build.

The aggregator keeps the day documents incrementally (``mediana.domain.batch``); its
invariant is that they equal a build from the log's latest versions alone. This module
makes that build without a record ever a Python dict on the hot path -- Arrow reads the
log's stored texts into typed columns, the latest version of each id is taken by sorting,
the contract's joins say what counts, and the product's ``contrib.frame_contributions``
gives the figures (one definition) -- so a year of a busy tenant is counted again in
about a second (``mediana audit``, ``services/audit.py``).

It is also the first part of issue 11's columnar build inside the product: the same
latest-version and join steps are what a columnar aggregator would run.

Texts Arrow refuses, and rows stored before instants were nanoseconds, are read as the
aggregator reads them (``json.loads`` then ``records.upgrade``); ties between different
versions of one instant are decided by ``versions.newer`` on those rows alone.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as arrow_compute
import pyarrow.json as pj

from mediana.domain.batch import merge_days
from mediana.domain.contest import STAMP
from mediana.domain.contrib import Contributions, DayKey, frame_contributions, subtract
from mediana.domain.records import NS_MARK, Record, upgrade
from mediana.domain.sections import Counter
from mediana.domain.versions import newer

pc: Any = arrow_compute  # its functions are made at import: no stubs

_S, _I = pa.string(), pa.int64()
# What the day figures read of each kind, beside kind, id, updated_at, erased and stamp.
KIND_FIELDS: dict[str, dict[str, pa.DataType]] = {
    "contact": {"created_at": _I, "origin": _S, "entry_group_id": _S, "group_id": _S, "owner_id": _S,
                "deleted_at": _I},
    "conversation": {"contact_id": _S, "channel": _S, "created_at": _I, "closed_at": _I, "group_id": _S,
                     "owner_id": _S},
    "message": {"conversation_id": _S, "direction": _S, "author_type": _S, "author_id": _S, "created_at": _I},
    "interaction": {"contact_id": _S, "owner_id": _S, "occurred_at": _I, "type": _S, "call_type": _S,
                    "outcome": _S, "duration_seconds": pa.float64()},
}  # fmt: skip
_COMMON = {"kind": _S, "id": _S, "updated_at": _I, "erased": pa.bool_(), STAMP: pa.bool_(), NS_MARK: _I}
LOG_SCHEMA = pa.schema({**_COMMON, **{n: t for fields in KIND_FIELDS.values() for n, t in fields.items()}})
_PARSE = pj.ParseOptions(explicit_schema=LOG_SCHEMA, unexpected_field_behavior="ignore")
_READ = pj.ReadOptions(use_threads=False, block_size=1 << 26)

Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]


def recount_days(texts: Sequence[str | bytes], tz: str) -> dict[DayKey, Counter]:
    """The day documents a build from these stored log texts (one record each, as
    ``LogOps.write_log`` stores them) gives, in zone ``tz``; empty ones left out."""
    return count_days(log_columns([texts]), tz)


@dataclass(frozen=True)
class LogColumns:
    """A log read page by page: its typed columns (``log_table``), and each row's text kept
    as one Arrow binary value -- a few bytes over its length, where a Python string costs ~50
    more, and a list of them, their bytes and their join ~3 times it -- for the rare rows
    ``latest`` must read as records (versions of one instant that differ)."""

    table: pa.Table
    texts: pa.LargeBinaryArray

    @property
    def rows(self) -> int:
        return len(self.texts)

    def record(self, row: int) -> Record:
        return _stored_record(self.texts[row].as_py())


def log_columns(pages: Iterable[Sequence[str | bytes]]) -> LogColumns:
    """The stored texts, one page at a time (as a paginated Query returns them), as columns:
    a page's Python strings are dropped once Arrow has read it."""
    tables, texts, offset = [], [], 0
    for page in pages:
        raw = [t.encode() if isinstance(t, str) else t for t in page]
        tables.append(log_table(raw, offset))
        texts.append(pa.array(raw, pa.large_binary()))
        offset += len(raw)
    table = pa.concat_tables(tables) if tables else log_table([])
    return LogColumns(table, pa.concat_arrays(texts) if texts else pa.array([], pa.large_binary()))


def count_days(log: LogColumns, tz: str) -> dict[DayKey, Counter]:
    """``recount_days`` of a log read into columns."""
    latest_of = {kind: latest(_rows_of(log.table, kind), log.record) for kind in KIND_FIELDS}
    days = merge_days({}, frame_contributions(*counting_frames(latest_of), tz))
    return {key: cells for key, cells in days.items() if cells}


def log_table(raw: Sequence[bytes], first_row: int = 0) -> pa.Table:
    """The stored texts as typed columns with a ``row`` column (its position in ``raw``, plus
    ``first_row``), every instant in nanoseconds. Arrow reads them in one pass; a text it
    refuses, or a row of the older microsecond encoding, is read as the aggregator reads it."""
    table = _arrow(raw)
    if table is None:  # some text is not what this schema reads: every one the slow way
        return _from_records([_stored_record(t) for t in raw], np.arange(len(raw)) + first_row)
    table = table.append_column("row", pa.array(np.arange(first_row, first_row + len(raw), dtype=np.int64)))
    older = pc.is_null(table[NS_MARK])
    if not pc.any(older).as_py():
        return table
    positions = np.flatnonzero(older.to_numpy(zero_copy_only=False))
    upgraded = _from_records([_stored_record(raw[i]) for i in positions.tolist()], positions + first_row)
    return pa.concat_tables([table.filter(pc.invert(older)), upgraded.select(table.column_names)])


def _arrow(raw: Sequence[bytes]) -> pa.Table | None:
    if not raw:
        return pa.Table.from_pylist([], schema=LOG_SCHEMA)
    try:
        table = pj.read_json(io.BytesIO(b"\n".join(raw)), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    return table if table.num_rows == len(raw) else None  # a text of two lines, or none


def _stored_record(text: bytes) -> Record:
    rec = json.loads(text)
    if not isinstance(rec, dict):
        raise ValueError(f"a stored log record that is not a JSON object: {text[:200]!r}")
    return upgrade(rec)


def _from_records(records: list[Record], rows: np.ndarray) -> pa.Table:
    """Decoded records as the columns Arrow would have read (booleans and floats as the
    schema types them: a duration stored as an integer is a float here too)."""
    records = [rec if rec.get("kind") in KIND_FIELDS else {"kind": rec.get("kind")} for rec in records]
    columns: dict[str, Any] = {}
    for field in LOG_SCHEMA:
        values = [rec.get(field.name) for rec in records]
        if field.type == pa.float64():
            values = [None if v is None else float(v) for v in values]
        columns[field.name] = pa.array(values, type=field.type)
    columns["row"] = pa.array(np.asarray(rows, dtype=np.int64))
    return pa.table(columns)


def _rows_of(table: pa.Table, kind: str) -> pa.Table:
    names = ["row", "id", "updated_at", "erased", STAMP, *KIND_FIELDS[kind]]
    mine = table.filter(pc.fill_null(pc.equal(table["kind"], kind), False)).select(names)
    flags = {name: pc.fill_null(mine[name], False) for name in ("erased", STAMP)}
    return mine.set_column(3, "erased", flags["erased"]).set_column(4, STAMP, flags[STAMP])


def latest(versions: pa.Table, record_of: Callable[[int], Record]) -> pa.Table:
    """The version of each id that wins (``versions.newer``): an erasure is terminal, else
    the greatest ``updated_at``; different versions of one instant, by ``newer`` itself on
    the records ``record_of(row)`` gives (equal in every column, either one: the figures read
    nothing else). Most ids have one version: only the others sort."""
    if versions.num_rows == 0:
        return versions
    ids = pc.dictionary_encode(versions["id"].combine_chunks()).indices.to_numpy()
    repeated = np.bincount(ids)[ids] > 1
    if not repeated.any():
        return versions
    mask = pa.array(repeated)
    return pa.concat_tables([versions.filter(pc.invert(mask)), _latest_of_many(versions.filter(mask), record_of)])


def _latest_of_many(versions: pa.Table, record_of: Callable[[int], Record]) -> pa.Table:
    by = [("id", "ascending"), ("erased", "ascending"), ("updated_at", "ascending")]
    table = versions.take(pc.sort_indices(versions, sort_keys=by))
    ids = table["id"].combine_chunks()
    n = table.num_rows
    last = np.ones(n, dtype=bool)  # the last row of each id: the greatest (erased, updated_at)
    last[:-1] = pc.not_equal(ids.slice(1), ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    erased, updated = table["erased"].to_numpy(), table["updated_at"].to_numpy()
    tied = np.zeros(n, dtype=bool)  # ranked equal to the next row of its id
    tied[:-1] = ~last[:-1] & (erased[1:] == erased[:-1]) & (updated[1:] == updated[:-1])
    ends = np.flatnonzero(last & np.append(False, tied[:-1])).tolist()
    same = _same_columns(table) if ends else tied
    rows = table["row"].to_numpy()
    for end in ends:  # rare: ``newer`` decides
        start = end
        while start > 0 and tied[start - 1]:
            start -= 1
        if same[start:end].all():  # replays hold what the figures read in every column: any one counts the same
            continue
        best = start
        for i in range(start + 1, end + 1):
            if newer(record_of(int(rows[i])), record_of(int(rows[best]))):
                best = i
        last[start : end + 1] = False
        last[best] = True
    return table.filter(pa.array(last))


def _same_columns(table: pa.Table) -> np.ndarray:
    """Whether each row holds the same values as the next one in every column but ``row``."""
    n = table.num_rows
    out = np.ones(n, dtype=bool)
    out[-1] = False
    for name in table.column_names:
        if name != "row":
            col = table[name].combine_chunks()
            a, b = col.slice(0, n - 1), col.slice(1)
            same = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b)))
            out[:-1] &= same.to_numpy(zero_copy_only=False)
    return out


def counting_frames(latest_of: dict[str, pa.Table]) -> Frames:
    """What counts, as the frames ``contrib.frame_contributions`` reads (the ones
    ``contrib._frames`` builds from worlds): a live contact; a conversation or an interaction
    whose latest version names one; a message whose conversation counts. Tombstones and
    stamps (buried versions) count nowhere."""

    def live(kind: str, parent: str | None = None, parents: pa.Array | None = None) -> pa.Table:
        t = latest_of[kind]
        keep = pc.invert(pc.or_(t["erased"], t[STAMP]))
        if parent:
            keep = pc.and_(keep, pc.fill_null(pc.is_in(t[parent], value_set=parents), False))
        return t.filter(keep)

    ct = live("contact")
    cv = live("conversation", "contact_id", ct["id"].combine_chunks())
    ms = live("message", "conversation_id", cv["id"].combine_chunks())
    it = live("interaction", "contact_id", ct["id"].combine_chunks())
    given = pc.fill_null(pc.not_equal(ct["origin"], ""), False)  # ``origin or "unknown"``
    duration = it["duration_seconds"].to_numpy(zero_copy_only=False)
    ms_col = np.where(np.isnan(duration), -1, np.rint(np.nan_to_num(duration) * 1000)).astype(np.int64)  # round()
    tables = (
        {"cid": ct["id"], "created": ct["created_at"], "origin": pc.if_else(given, ct["origin"], "unknown"),
         "entry_group": ct["entry_group_id"], "group": ct["group_id"], "owner": ct["owner_id"],
         "deleted": pc.is_valid(ct["deleted_at"])},
        {"vid": cv["id"], "cid": cv["contact_id"], "created": cv["created_at"], "closed": cv["closed_at"],
         "channel": cv["channel"], "group": cv["group_id"], "owner": cv["owner_id"]},
        {"mid": ms["id"], "vid": ms["conversation_id"], "created": ms["created_at"], "direction": ms["direction"],
         "author_type": ms["author_type"], "author": ms["author_id"]},
        {"cid": it["contact_id"], "at": it["occurred_at"], "type": it["type"], "owner": it["owner_id"],
         "call_type": it["call_type"], "outcome": it["outcome"], "ms": pa.array(ms_col)},
    )  # fmt: skip
    closed = tables[1].pop("closed")
    contacts, convs, msgs, ints = (pa.table(t).to_pandas() for t in tables)
    # nullable integers, as _frames makes them (to_pandas would pass them through float64)
    mask = pc.is_null(closed).to_numpy(zero_copy_only=False)
    values = pc.fill_null(closed, 0).to_numpy(zero_copy_only=False)
    convs.insert(3, "closed", pd.arrays.IntegerArray(values.astype(np.int64), mask))
    return contacts, convs, msgs, ints


@dataclass(frozen=True)
class Drift:
    """A day document whose stored cells differ from the recount's: how many cells differ,
    and the first few as (cell key, stored count, recounted count)."""

    section: str
    day: str
    differing: int
    sample: tuple[tuple[tuple[Any, ...], int, int], ...]


def drifts(stored: Contributions, counted: Contributions, sample: int = 5) -> list[Drift]:
    """Every day document where ``stored`` and ``counted`` differ: the days and cells
    ``contrib.subtract`` finds a difference in (a missing day or cell holds zero)."""
    out = []
    for key, diff in sorted(subtract(counted, stored).items()):
        old, new = stored.get(key, {}), counted.get(key, {})
        cells = sorted(diff, key=repr)
        shown = tuple((tuple(k), old.get(k, 0), new.get(k, 0)) for k in cells[:sample])
        out.append(Drift(key[0], key[1], len(cells), shown))
    return out
