"""The aggregator's compute alone, on a JSON Lines file: the functions the Lambda runs
(parse and validate, fold into worlds, day contributions, day documents, presets), with
storage left out -- everything starts empty in memory, as a tenant's first full build.

Baseline: DuckDB reading the same file and computing the same figures; the goal is within
2x of it. Issue 11 measured ~0.7 s on the 365-day demo file; bench/duckdb_baseline.py
measures it on this machine (machines here differ by 20 % from day to day): pass its
figure as --duckdb-seconds. Prints seconds per stage and peak memory, then the audit's
columnar recount of the same days from their log texts (``domain/recount.py``, not part of
compute_seconds); the last line is `compute_seconds=S records=N`.
Usage: python bench/compute.py FILE --tenant T [--duckdb-seconds S]
  (a file: .venv/bin/mediana demo-data --tenant acme --days 365 > acme-365.jsonl)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = ["shared"]

from mediana.domain.batch import merge_days, tenant_timezone  # noqa: E402
from mediana.domain.cells import decode_counter  # noqa: E402
from mediana.domain.collector import collector_paused  # noqa: E402
from mediana.domain.contrib import contributions  # noqa: E402
from mediana.domain.parse_batch import parse_lines  # noqa: E402
from mediana.domain.preset_frames import encoded_presets  # noqa: E402
from mediana.domain.records import Rejection  # noqa: E402
from mediana.domain.recount import recount_days  # noqa: E402
from mediana.domain.timeutil import local_today  # noqa: E402
from mediana.domain.world import LoadedState, fold  # noqa: E402
from mediana.services.preset_items import preset_doc  # noqa: E402
from mediana.storage import blobs  # noqa: E402
from mediana.storage.log import stored_text  # noqa: E402


def _stages(raw: list[bytes], tenant: str, stages: dict[str, float]) -> tuple[Any, ...]:
    t = time.perf_counter()
    records, rejected = [], 0
    for seq, parsed in enumerate(parse_lines(raw, tenant), start=1):
        if isinstance(parsed, Rejection):
            rejected += 1
        elif parsed is not None:
            parsed["seq"] = seq  # as the log numbers them
            records.append(parsed)
    stages["parse+validate"] = time.perf_counter() - t
    t = time.perf_counter()
    state = LoadedState()
    fold(records, state)
    tz = tenant_timezone(state)
    stages["fold (latest versions into worlds)"] = time.perf_counter() - t

    t = time.perf_counter()
    delta = contributions(state.worlds.values(), tz)
    stages["contributions (day sections)"] = time.perf_counter() - t

    t = time.perf_counter()
    days, docs = day_documents_and_presets(delta, tz)
    stages["day documents + presets"] = time.perf_counter() - t

    return records, rejected, state, tz, days, docs


def day_documents_and_presets(delta: Any, tz: str) -> tuple[dict[Any, Any], list[dict[str, Any]]]:
    """A first build's day documents, and its preset items, as the writer makes them."""
    days = merge_days({}, delta)
    today = local_today(tz)
    return days, [preset_doc(key, summary, today) for key, summary in encoded_presets(today, days).items()]


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("file", type=Path)
    cli.add_argument("--tenant", required=True)
    cli.add_argument("--duckdb-seconds", type=float, default=0.7, help="the baseline (default: issue 11's 0.7 s)")
    args = cli.parse_args()
    raw = args.file.read_bytes().splitlines()
    stages: dict[str, float] = {}

    with collector_paused():  # as the aggregator runs a batch (domain/collector.py)
        records, rejected, state, tz, days, docs = _stages(raw, args.tenant, stages)

    total = sum(stages.values())
    for name, seconds in stages.items():
        print(f"{name:<38}{seconds:>8.2f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'total':<38}{total:>8.2f} s   peak RSS {peak_mb:.0f} MB")
    print(f"lines {len(raw)}, records {len(records)}, rejected {rejected}, contacts {len(state.worlds)}, "
          f"day documents {len(days)}, preset items (buckets) {len(docs)}, timezone {tz}")  # fmt: skip
    stored = sorted(((blobs.encode(d), d) for d in docs), key=lambda x: -sum(map(len, x[0])))
    for parts, doc in stored[:3]:  # items are compressed JSON in parts of blobs.PART_BYTES (< 400 KB each)
        bucket = f"#{doc['bucket']}" if "bucket" in doc else ""
        print(f"preset {doc['preset']}#{doc['section']}{bucket}: {sum(map(len, parts)):,} bytes in {len(parts)} "
              f"part(s), {len(decode_counter(doc['cur']))} cells")  # fmt: skip
    texts = [stored_text(r) for r in records]
    with collector_paused():
        t = time.perf_counter()
        recounted = recount_days(texts, tz)  # from the texts the log stores
        recount_seconds = time.perf_counter() - t
    same = recounted == {key: cells for key, cells in days.items() if cells}
    ratio = recount_seconds / args.duckdb_seconds
    print(f"the audit's recount of these days from their log texts (domain/recount.py, columnar): "
          f"{recount_seconds:.2f} s, {ratio:.1f}x DuckDB; same days: {same}")  # fmt: skip
    comparable = sum(stages[name] for name in list(stages)[:3])  # what DuckDB does: read, keep latest, figures
    duck = args.duckdb_seconds
    print(f"against DuckDB's {duck:.2f} s: {total / duck:.1f}x; its stages (parse, fold, contributions) "
          f"{comparable:.2f} s, {comparable / duck:.1f}x")  # fmt: skip
    print(f"compute_seconds={total:.2f} records={len(records)}")


if __name__ == "__main__":
    main()
