"""The least any build that holds a record as a Python dict can spend on a JSON Lines file.

It decodes each line (orjson, as the parse does), makes one record dict per line, groups the
records into per-contact worlds (a message under its conversation's contact), and turns the
worlds' messages back into Arrow-backed columns for pandas, as ``contrib._frames`` does. It
checks nothing, contests no versions, parses no instant, computes no figure and builds no
preset: each stage the product must also do costs more than this, so the total is a floor,
not an estimate.

Baseline: DuckDB's whole job on the same file (``duckdb_baseline.py``, run in the same
minutes) and issue 11's goal of 2x it; ``compute.py`` gives the product's figure.
Usage: python bench/dict_floor.py FILE [--duckdb-seconds S]
The last line is `floor_seconds=S`, the best of three runs.
"""

from __future__ import annotations

import argparse
import gc
import time
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

_MESSAGE = ("id", "conversation_id", "created_at", "direction", "author_type", "author_id")


def _worlds(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Contact id -> {"contact", "convs", "ints", "msgs"}, each record where it counts."""
    worlds: dict[str, dict[str, Any]] = {}
    contact_of: dict[str, str] = {}

    def world(cid: str) -> dict[str, Any]:
        found = worlds.get(cid)
        if found is None:
            found = worlds[cid] = {"contact": None, "convs": {}, "ints": {}, "msgs": {}}
        return found

    for rec in records:
        kind = rec["kind"]
        if kind == "contact":
            world(rec["id"])["contact"] = rec
        elif kind == "conversation":
            world(rec["contact_id"])["convs"][rec["id"]] = rec
            contact_of[rec["id"]] = rec["contact_id"]
        elif kind == "interaction":
            world(rec["contact_id"])["ints"][rec["id"]] = rec
    for rec in records:
        if rec["kind"] == "message" and (cid := contact_of.get(rec["conversation_id"])) is not None:
            worlds[cid]["msgs"][rec["id"]] = rec
    return worlds


def run(lines: list[bytes]) -> dict[str, float]:
    stages: dict[str, float] = {}
    t = time.perf_counter()
    decoded = list(map(orjson.loads, lines))
    stages["decode (orjson)"] = time.perf_counter() - t

    t = time.perf_counter()
    head = itemgetter("kind", "id", "updated_at")
    records = [dict(zip(("kind", "id", "updated_at"), head(raw), strict=True)) | raw for raw in decoded]
    stages["one record dict a line"] = time.perf_counter() - t

    t = time.perf_counter()
    worlds = _worlds(records)
    stages["group into worlds"] = time.perf_counter() - t

    t = time.perf_counter()
    messages = [m for w in worlds.values() for m in w["msgs"].values()]
    columns = list(zip(*map(itemgetter(*_MESSAGE), messages), strict=True))
    pa.table({name: pa.array(col) for name, col in zip(_MESSAGE, columns, strict=True)}).to_pandas()
    stages["messages back to columns"] = time.perf_counter() - t
    return stages


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("file", type=Path)
    cli.add_argument("--duckdb-seconds", type=float, default=0.7, help="the baseline (default: issue 11's 0.7 s)")
    args = cli.parse_args()
    lines = args.file.read_bytes().splitlines()
    gc.disable()  # as the aggregator builds a batch (domain/collector.py)
    runs = [run(lines) for _ in range(3)]
    best = min(runs, key=lambda stages: sum(stages.values()))
    for name, seconds in best.items():
        print(f"{name:<30}{seconds:>8.3f} s")
    total = sum(best.values())
    duck = args.duckdb_seconds
    print(f"{'floor':<30}{total:>8.3f} s   ({total / duck:.2f}x DuckDB's {duck:.2f} s; 2x is {2 * duck:.2f} s)")
    print(f"lines {len(lines)}; runs {', '.join(f'{sum(r.values()):.3f}' for r in runs)} s")
    print(f"floor_seconds={total:.3f}")


if __name__ == "__main__":
    main()
