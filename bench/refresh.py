"""Refresh cost on a moto server: full build vs a small delta vs an idle run (and what a
weekly audit of the tenant, services/audit.py, reads: its log, day documents and preset items).

Baseline: the full build of the same tenant (what a non-incremental design pays on
every refresh). Prints seconds, DynamoDB/S3/SQS requests and DynamoDB write/read units
(from item sizes, DynamoDB's rules: mediana.metering.capacity) for each case.
Usage: python bench/refresh.py [days] [contacts_per_day]
"""

from __future__ import annotations

import collections
import json
import sys
import time
from typing import Any

sys.path[:0] = ["shared", "cli"]

import botocore.client  # noqa: E402
from mediana_cli.demo import generate, write_jsonl  # noqa: E402
from mediana_cli.local import LocalStack  # noqa: E402

CALLS: collections.Counter[str] = collections.Counter()
_real = botocore.client.BaseClient._make_api_call


def _counting(self: Any, name: str, params: Any) -> Any:
    CALLS[name] += 1
    return _real(self, name, params)


botocore.client.BaseClient._make_api_call = _counting  # type: ignore[method-assign]


def _units() -> tuple[float, float]:
    """DynamoDB write and read units metered so far (every tenant's row: the bench's calls
    are made outside a handler, so some are booked to the shared row)."""
    from mediana.metering.meter import METER

    rows = METER.counts.values()
    return sum(r.get("ddb_wru", 0.0) for r in rows), sum(r.get("ddb_rru", 0.0) for r in rows)


def measure(label: str, fn: Any) -> Any:
    CALLS.clear()
    wru0, rru0 = _units()
    t = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t
    wru, rru = (a - b for a, b in zip(_units(), (wru0, rru0), strict=True))
    print(f"{label:<28} {seconds:7.2f}s  requests={sum(CALLS.values()):6d}  WRU={wru:9.1f}  RRU={rru:8.1f}  "
          f"{dict(CALLS)}")  # fmt: skip
    return out


def largest_items(store: Any) -> None:
    """The biggest stored items (DynamoDB's limit is 400 KB per item)."""
    sizes: list[tuple[int, str, str]] = []
    pages = store.ddb.get_paginator("scan").paginate(TableName=store.cfg.state_table)
    for page in pages:
        for item in page["Items"]:
            size = sum(len(k) + len(json.dumps(v, default=str)) for k, v in item.items())
            if "v" in item:
                size = len(item["v"]["B"]) + len(item["pk"]["S"]) + len(item["sk"]["S"]) + 16
            sizes.append((size, item["pk"]["S"], item["sk"]["S"]))
    sizes.sort(reverse=True)
    print("largest items (bytes, pk, sk):")
    for size, pk, sk in sizes[:5]:
        print(f"   {size:8d}  {pk}  {sk}")


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 90
    per_day = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    stack = LocalStack(aws_port=5123, announce=False)  # the same moto server and resources as `make run`
    store = stack.start()
    from mediana.services.aggregate import refresh_tenant
    from mediana.services.ingest import ingest_lines

    lines = [line.encode() for line in write_jsonl(generate("big", days, 3, per_day))]
    print(f"tenant 'big': {days} days, {len(lines)} lines")
    measure("ingest (all)", lambda: ingest_lines(store, "big", "all", lines))
    full = measure("full build (baseline)", lambda: refresh_tenant(store, "big"))
    print("   ", json.dumps(full.as_dict()))
    # ten newer versions of recent records: a real delta, not a replay
    newer = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    edited = [json.dumps({**json.loads(line), "updated_at": newer}).encode() for line in lines[-10:]]
    measure("ingest (10-line delta)", lambda: ingest_lines(store, "big", "small", edited))
    small = measure("refresh after small delta", lambda: refresh_tenant(store, "big"))
    print("   ", json.dumps(small.as_dict()))
    measure("idle refresh (stray message)", lambda: refresh_tenant(store, "big"))
    from mediana.services.audit import audit_tenant

    found = measure("audit (recount from the log, presets checked)", lambda: audit_tenant(store, "big"))
    print(f"    {found.status}: {found.records} log records, {found.days_counted} days counted, "
          f"{found.presets_stored} preset items checked, read {found.read_seconds:.2f} s, "
          f"recount and check {found.count_seconds:.2f} s")  # fmt: skip
    from mediana.domain.timeutil import local_today
    from mediana.services.readapi import get_report

    end = local_today(store.get_state("big").tz or "UTC")  # type: ignore[union-attr]
    start = end.fromordinal(end.toordinal() - 364).isoformat()
    for report_id in ("calls-per-contact", "touches-per-user", "response-time"):
        measure(f"read {report_id} (preset)", lambda r=report_id: get_report(store, "big", r, {}))
        measure(
            f"read {report_id} (365-day custom)",
            lambda r=report_id: get_report(store, "big", r, {"from": [start], "to": [end.isoformat()]}),
        )
    largest_items(store)
    from mediana.services.scheduling import schedule

    measure("scheduler tick (fleet)", lambda: schedule(store))
    stack.stop()


if __name__ == "__main__":
    main()
