"""A measured spike of issue 11's columnar redesign: a tenant's full build from a JSON Lines
file with no record ever a Python dict on the hot path, timed beside the product's build
(bench/compute.py's stages) and checked against it: the same day documents and presets.

What it does, as the redesign would:
- **read**: pyarrow's JSON reader, a chunk of lines at a time, into typed columns (instants
  kept as text). A chunk Arrow refuses (a value of another type, a duplicate key, a lone
  surrogate, bad UTF-8) is parsed by the product's ``parse_lines``, whole.
- **validate**: every check of the contract on whole columns, conservatively: a row any
  check doubts -- or of a rare kind (tenant, user, group), or a tombstone -- is parsed by
  ``parse_lines`` alone, so its answer and any rejection reason stay the product's. Instants
  take the fast path only in the usual form (``YYYY-MM-DDTHH:MM:SSZ``).
- **latest versions** and **what counts**: the product's ``domain/recount.py`` (the audit's
  build, proven equal to the incremental day documents): per kind, one sort of the repeated
  ids by (erased, updated_at), ties decided by ``versions.newer`` on those rows only; then the
  contract's joins (a conversation counts when its contact is live, a message when its
  conversation counts, an interaction when its contact is live).
- **figures**: the product's ``contrib.frame_contributions`` on those frames (one definition),
  then ``merge_days``, ``encoded_presets`` and ``preset_doc`` as compute.py runs them.

What it leaves out, and the redesign must add: the per-contact state an incremental refresh
loads (here nothing is stored), quarantine entries for the rejected lines (counted here), and
differential tests on hostile input (here: the demo file, compared whole).
Usage: python bench/columnar_build.py FILE --tenant T [--duckdb-seconds S] [--runs N]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as arrow_compute
import pyarrow.json as pj

sys.path[:0] = ["shared", str(Path(__file__).parent)]

import compute  # noqa: E402  (the product's stages, timed the same way)
from mediana.domain.batch import tenant_timezone  # noqa: E402
from mediana.domain.cells import decode_counter  # noqa: E402
from mediana.domain.collector import collector_paused  # noqa: E402
from mediana.domain.contest import STAMP  # noqa: E402
from mediana.domain.contrib import frame_contributions  # noqa: E402
from mediana.domain.parse_batch import parse_lines  # noqa: E402
from mediana.domain.projections import STORED  # noqa: E402
from mediana.domain.records import (  # noqa: E402
    AUTHOR_TYPES,
    CALL_OUTCOMES,
    CHANNELS,
    INTERACTION_TYPES,
    MAX_DURATION_SECONDS,
    Record,
    Rejection,
)
from mediana.domain.recount import counting_frames, latest  # noqa: E402  (the product's audit build)
from mediana.domain.timeutil import MAX_INSTANT_NS, MIN_INSTANT_NS  # noqa: E402
from mediana.domain.versions import newer  # noqa: E402
from mediana.domain.world import LoadedState, empty_directory  # noqa: E402
from mediana.storage import blobs  # noqa: E402

pc: Any = arrow_compute  # its functions are made at import: no stubs
CHUNK_LINES = 20_000
_S = pa.string()
FIELDS: dict[str, pa.DataType] = {
    "kind": _S, "tenant_id": _S, "id": _S, "updated_at": _S, "erased": pa.bool_(),
    "created_at": _S, "origin": _S, "entry_group_id": _S, "group_id": _S, "owner_id": _S, "deleted_at": _S,
    "contact_id": _S, "channel": _S, "closed_at": _S, "conversation_id": _S, "direction": _S,
    "author_type": _S, "author_id": _S, "occurred_at": _S, "type": _S, "call_type": _S, "outcome": _S,
    "duration_seconds": pa.float64(),
}  # fmt: skip
_PARSE = pj.ParseOptions(explicit_schema=pa.schema(FIELDS), unexpected_field_behavior="ignore")
_READ = pj.ReadOptions(use_threads=False, block_size=1 << 26)
_USUAL_INSTANT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
# the fields of each kind's records, and which are instants (required or not)
KIND_FIELDS = {
    "contact": ["created_at", "origin", "entry_group_id", "group_id", "owner_id", "deleted_at"],
    "conversation": ["contact_id", "channel", "created_at", "closed_at", "group_id", "owner_id"],
    "message": ["conversation_id", "direction", "author_type", "author_id", "created_at"],
    "interaction": ["contact_id", "owner_id", "occurred_at", "type", "call_type", "outcome", "duration_seconds"],
}
_CALL_FIELDS = ("call_type", "outcome", "duration_seconds")


def _instant(col: pa.ChunkedArray, required: bool) -> tuple[pa.Array, pa.Array]:
    """(ns as int64, ok): ok where the value is the usual form of a valid in-window instant,
    or null when not required. Anything else is not ok (the reference judges it)."""
    usual = pc.fill_null(pc.match_substring_regex(col, _USUAL_INSTANT), False)
    text = pc.if_else(usual, col, pa.scalar("1970-01-01T00:00:00Z"))
    try:
        ns = pc.cast(pc.strptime(text, format="%Y-%m-%dT%H:%M:%SZ", unit="ns", error_is_null=True), pa.int64())
    except pa.ArrowInvalid:
        ns = pa.nulls(len(col), pa.int64())
    valid = pc.fill_null(pc.and_(pc.greater_equal(ns, MIN_INSTANT_NS), pc.less_equal(ns, MAX_INSTANT_NS)), False)
    ok = pc.and_(usual, valid)
    ns = pc.if_else(ok, ns, pa.scalar(None, pa.int64()))
    if not required:
        ok = pc.or_(ok, pc.is_null(col))
    return ns, ok


def _nonempty(col: pa.ChunkedArray) -> pa.Array:
    return pc.fill_null(pc.greater(pc.utf8_length(col), 0), False)


def _member(col: pa.ChunkedArray, allowed: tuple[str, ...], required: bool) -> pa.Array:
    hit = pc.is_in(col, value_set=pa.array(allowed))
    return pc.fill_null(hit, False) if required else pc.or_(hit, pc.is_null(col))


def _fast_rows(t: pa.Table, kind: str, tenant: str, line: pa.Array) -> tuple[pa.Table, pa.Array]:
    """The rows of ``kind`` every check passes, as typed columns (instants as ns), and the
    mask of the kind's rows that some check doubts."""
    ok = pc.and_(pc.fill_null(pc.equal(t["tenant_id"], tenant), False), pc.invert(pc.fill_null(t["erased"], False)))
    id_len = pc.utf8_length(t["id"])
    ok = pc.and_(ok, pc.fill_null(pc.and_(pc.greater_equal(id_len, 1), pc.less_equal(id_len, 128)), False))
    cols: dict[str, Any] = {"row": line, "id": t["id"]}
    cols["updated_at"], good = _instant(t["updated_at"], True)
    ok = pc.and_(ok, good)
    for name in KIND_FIELDS[kind]:
        col = t[name]
        if name.endswith("_at"):
            cols[name], good = _instant(col, name in ("created_at", "occurred_at"))
            ok = pc.and_(ok, good)
        elif name in ("contact_id", "conversation_id"):
            cols[name], ok = col, pc.and_(ok, _nonempty(col))
        else:
            cols[name] = col
    if kind == "conversation":
        ok = pc.and_(ok, _member(t["channel"], CHANNELS, False))
        cols["channel"] = pc.fill_null(t["channel"], "other")
    elif kind == "message":
        inbound = pc.and_(pc.equal(t["direction"], "inbound"), pc.equal(t["author_type"], "contact"))
        outbound = pc.and_(
            pc.equal(t["direction"], "outbound"), pc.is_in(t["author_type"], value_set=pa.array(AUTHOR_TYPES[1:]))
        )
        ok = pc.and_(ok, pc.fill_null(pc.or_(inbound, outbound), False))
    elif kind == "interaction":
        ok = pc.and_(ok, _member(t["type"], INTERACTION_TYPES, True))
        call = pc.fill_null(pc.equal(t["type"], "call_log"), False)
        duration = t["duration_seconds"]
        in_bounds = pc.and_(pc.greater_equal(duration, 0), pc.less_equal(duration, MAX_DURATION_SECONDS))
        call_ok = pc.and_(_member(t["outcome"], CALL_OUTCOMES, False), pc.or_(pc.is_null(duration), in_bounds))
        ok = pc.and_(ok, pc.or_(pc.invert(call), pc.fill_null(call_ok, False)))
        for name in _CALL_FIELDS:  # a record of another type has none of them
            cols[name] = pc.if_else(call, cols[name], pa.nulls(len(t), cols[name].type))
    ok = pc.fill_null(ok, False)
    return pa.table(cols).filter(ok), pc.invert(ok)


def read_columns(lines: list[bytes], tenant: str) -> tuple[dict[str, list[pa.Table]], list[Record], int]:
    """Each kind's rows that passed every check, the records ``parse_lines`` gave for the rest,
    and the number of rejected lines."""
    fast: dict[str, list[pa.Table]] = {k: [] for k in KIND_FIELDS}
    slow: list[bytes] = []
    for start in range(0, len(lines), CHUNK_LINES):
        end = min(start + CHUNK_LINES, len(lines))
        at: Any = np.arange(start, end)
        chunk = lines[start:end]
        table = _arrow_rows(chunk)
        if table is not None and table.num_rows != len(chunk):  # blank lines are none of Arrow's rows
            at = [i for i in range(start, end) if lines[i].strip()]
            chunk = [lines[i] for i in at]
            table = _arrow_rows(chunk)
        if table is None or table.num_rows != len(chunk):
            slow.extend(chunk)
            continue
        rest = pc.invert(pc.fill_null(pc.is_in(table["kind"], value_set=pa.array(list(KIND_FIELDS))), False))
        for kind in KIND_FIELDS:
            mine = pc.fill_null(pc.equal(table["kind"], kind), False)
            positions = np.flatnonzero(mine.to_numpy(zero_copy_only=False))
            line = pa.array(np.asarray(at, dtype=np.int64)[positions])
            rows, doubted = _fast_rows(table.filter(mine), kind, tenant, line)
            fast[kind].append(rows)
            rest = pc.or_(rest, _scatter(positions, doubted, len(chunk)))
        slow.extend(chunk[i] for i in np.flatnonzero(rest.to_numpy(zero_copy_only=False)))
    records, rejected = [], 0
    for parsed in parse_lines(slow, tenant):
        if isinstance(parsed, Rejection):
            rejected += 1
        elif parsed is not None:
            records.append(parsed)
    return fast, records, rejected


def _arrow_rows(chunk: list[bytes]) -> pa.Table | None:
    """The lines as Arrow reads them, or None where it refuses them (then the reference reads them)."""
    body = b"\n".join(chunk)
    if b"\\u" in body and (b"\\ud" in body or b"\\uD" in body):  # lone surrogates are the reference's
        return None
    try:
        return pj.read_json(io.BytesIO(body), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def _scatter(positions: np.ndarray, flags: pa.Array, n: int) -> pa.Array:
    out = np.zeros(n, dtype=bool)
    out[positions] = flags.to_numpy(zero_copy_only=False)
    return pa.array(out)


def _versions(kind: str, tables: list[pa.Table], records: list[Record]) -> pa.Table:
    """One kind's versions: the fast rows and the reference's records together, with ``erased``."""
    schema = pa.schema([("row", pa.int64()), ("id", _S), ("updated_at", pa.int64())] + [
        (n, pa.float64() if n == "duration_seconds" else pa.int64() if n.endswith("_at") else _S)
        for n in KIND_FIELDS[kind]
    ])  # fmt: skip
    flags = [pa.field("erased", pa.bool_()), pa.field(STAMP, pa.bool_())]  # a file holds no stamp
    parts = [t.append_column(flags[0], pa.array(np.zeros(t.num_rows, dtype=bool))) for t in tables]
    parts = [t.append_column(flags[1], pa.array(np.zeros(t.num_rows, dtype=bool))) for t in parts]
    mine = [(k, r) for k, r in enumerate(records) if r["kind"] == kind]
    rows = [{**{n: r.get(n) for n in schema.names}, "row": -1 - k, "erased": bool(r.get("erased")), STAMP: False}
            for k, r in mine]  # fmt: skip
    parts.append(pa.Table.from_pylist(rows, schema=pa.schema([*schema, *flags])))
    return pa.concat_tables([p.cast(parts[-1].schema) for p in parts])


def _timezone(records: list[Record]) -> str:
    """The tenant's zone as the product reads it: its winning tenant record's (``newer``)."""
    best = None
    for rec in records:
        if rec["kind"] == "tenant" and newer(rec, best):
            best = rec
    return tenant_timezone(LoadedState(directory={**empty_directory(), "tenant": best}))


def columnar_stages(lines: list[bytes], tenant: str, stages: dict[str, float]) -> tuple[Any, ...]:
    t = time.perf_counter()
    fast, records, rejected = read_columns(lines, tenant)
    stages["read + validate (Arrow)"] = time.perf_counter() - t
    t = time.perf_counter()

    def record_of(line: int) -> Record:
        return records[-1 - line] if line < 0 else parse_lines([lines[line]], tenant)[0]  # type: ignore[return-value]

    latest_of = {kind: latest(_versions(kind, fast[kind], records), record_of) for kind in KIND_FIELDS}
    frames = counting_frames(latest_of)
    tz = _timezone(records)
    stages["latest versions + what counts"] = time.perf_counter() - t
    t = time.perf_counter()
    delta = frame_contributions(*frames, tz)
    stages["contributions (product's figures)"] = time.perf_counter() - t
    t = time.perf_counter()
    days, docs = compute.day_documents_and_presets(delta, tz)
    stages["day documents + presets (product's)"] = time.perf_counter() - t
    return days, docs, rejected, sum(len(f) for f in frames)


def _decoded(docs: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Preset items by key, their counters decoded: the same cells in any order are the same item."""
    out = {}
    for doc in docs:
        whole = {k: v for k, v in doc.items() if k not in ("cur", "prev", blobs.BODY, *STORED.values())}
        for name in ("cur", "prev"):
            whole[name] = decode_counter(doc[name])
            whole[STORED[name]] = {m: decode_counter(c) for m, c in doc.get(STORED[name], {}).items()}
        out[(doc["preset"], doc["section"], doc.get("bucket"))] = whole
    return out


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("file", type=Path)
    cli.add_argument("--tenant", required=True)
    cli.add_argument("--duckdb-seconds", type=float, default=0.7)
    cli.add_argument("--runs", type=int, default=3)
    args = cli.parse_args()
    lines = args.file.read_bytes().splitlines()
    duck = args.duckdb_seconds
    with collector_paused():
        product: dict[str, float] = {}
        _, _, _, _, product_days, product_docs = compute._stages(lines, args.tenant, product)
        for run in range(1, args.runs + 1):
            stages: dict[str, float] = {}
            days, docs, rejected, rows = columnar_stages(lines, args.tenant, stages)
            total = sum(stages.values())
            print(f"run {run}: " + ", ".join(f"{name} {s:.3f}" for name, s in stages.items()))
            print(f"  columnar total {total:.2f} s = {total / duck:.1f}x DuckDB's {duck:.2f} s")
    same_days = days == product_days
    same_docs = _decoded(docs) == _decoded(product_docs)
    print(f"product's build (one run): {sum(product.values()):.2f} s; rows counted {rows}, rejected {rejected}")
    print(f"same day documents as the product: {same_days}; same preset items: {same_docs}")
    print(f"columnar_seconds={total:.2f} same={same_days and same_docs}")
    if not (same_days and same_docs):
        sys.exit(1)


if __name__ == "__main__":
    main()
