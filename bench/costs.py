"""Metered monthly cost of the largest demo tenant and of an idle one (moto, real handlers).

One simulated day, times 30: the busy tenant's day of new data (its whole local today, as
when each quarter-hour is refreshed within it) arrives as 96 quarter-hour files, each
followed by a scheduler tick and the aggregator; the SPA reads the 12 reports 20 times a
day; the local midnight rolls the presets once.
The idle tenant has history but no new data and no readers: nothing runs for it, since
presets roll on demand; "quiet-read" is the same tenant read once that day (its first read
sums the day documents, then the roll).
Baseline: one full rebuild of the busy tenant, metered, times every tick of the
month (what a non-incremental design pays), priced with the same table.
Usage: python bench/costs.py [history_days] [contacts_per_day] [reads_per_day]
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path[:0] = ["shared", "cli", "."]


SLICES = 96  # a 15-minute schedule


def main() -> None:
    history = int(sys.argv[1]) if len(sys.argv) > 1 else 365
    per_day = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    reads = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    from mediana_cli.local import LocalStack, call_api, upload

    os.environ["METER_FLUSH_SECONDS"] = "0"
    stack = LocalStack(aws_port=5124, announce=False)  # the same moto server and resources as `make run`
    store = stack.start()
    pump = stack.pump
    from mediana.domain.definitions import REPORTS
    from mediana.domain.ranges import preset_range
    from mediana.domain.timeutil import CLOCK_SHIFT_ENV, local_today, now_s, now_utc
    from mediana.metering.meter import METER
    from mediana.services.aggregate import presets_mark
    from mediana.services.auth import mint
    from mediana.storage import keys
    from mediana_cli.demo import end_of_local_day, generate, write_jsonl

    # the simulated day is the busy tenant's whole local today: each quarter-hour's delta is
    # today's, as when every delta is refreshed within its quarter-hour. (Before, it was the last
    # 24 hours: run after the tenant's midnight, the day was yesterday's, rewriting the buckets of
    # yesterday 96 times, as only a catch-up after an outage would: 65-123 WRU by the hour run.)
    end = end_of_local_day("busy", 3)
    # The stack's clock (timeutil) is pinned to that day's local noon: the day cannot roll during
    # the run, whatever the hour it starts (it refused to start within 10 minutes of midnight).
    noon = end - timedelta(seconds=86399) + timedelta(hours=12)
    os.environ[CLOCK_SHIFT_ENV] = str(math.ceil((noon - datetime.now(UTC)).total_seconds()))
    print(f"the stack's clock starts at {now_utc():%Y-%m-%dT%H:%M:%SZ}, the busy tenant's local noon")
    cutoff = (end - timedelta(seconds=86399)).strftime("%Y-%m-%dT%H:%M:%SZ")
    busy = [json.loads(x) for x in write_jsonl(generate("busy", history + 1, 3, per_day, now=end))]
    old = [r for r in busy if r["updated_at"] < cutoff]
    day = sorted((r for r in busy if r["updated_at"] >= cutoff), key=lambda r: r["updated_at"])
    quiet = list(write_jsonl(generate("quiet", history, 5, per_day)))
    t0 = time.perf_counter()
    upload(store, "busy", "history.jsonl", "\n".join(json.dumps(r) for r in old).encode())
    upload(store, "quiet", "history.jsonl", "\n".join(quiet).encode())
    pump.drain()
    print(f"history: busy {len(old)} lines, quiet {len(quiet)} lines, loaded in {time.perf_counter() - t0:.0f}s")
    month = now_utc().strftime("%Y-%m")
    span = preset_range("last_365_days", now_utc().date())

    def ledger() -> dict[str, dict[str, float]]:
        METER.flush(store)
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for item in store.month_costs(month):
            for k, v in item.items():
                if isinstance(v, (int, float)):
                    out[item["tenant_id"]][k] = out[item["tenant_id"]].get(k, 0.0) + float(v)
        return out

    def midnight(tenant: str, wake: bool) -> None:
        """The local day rolls: the presets are from yesterday (the clock stays, so the state says
        so, and the roll writes what a real one would: the buckets at the edges). Nothing wakes
        the tenant (presets roll on demand); ``wake`` stands in for the busy tenant's next delta."""
        state = store.get_state(tenant)
        yesterday = local_today((state.tz if state else None) or "UTC") - timedelta(days=1)
        store.ddb.update_item(
            TableName=store.cfg.state_table,
            Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
            UpdateExpression="SET presets_as_of = :d",
            ExpressionAttributeValues={":d": {"S": presets_mark(yesterday)}},
        )
        if wake:
            store.mark_due(tenant, now_s())

    def one_day() -> tuple[dict[str, dict[str, float]], float]:
        before = ledger()
        started = time.perf_counter()
        token = mint("busy", ["viewer"])
        per_slice = max(1, len(day) // SLICES + 1)
        for i in range(SLICES):
            chunk = day[i * per_slice : (i + 1) * per_slice]
            if chunk:
                upload(store, "busy", f"slice-{i:02d}.jsonl", "\n".join(map(json.dumps, chunk)).encode())
            quarter_hour(pump)
        sliced = ledger()["busy"]
        wru = (sliced.get("ddb_wru", 0.0) - before.get("busy", {}).get("ddb_wru", 0.0)) / SLICES
        print(f"per quarter-hour (a ~{per_slice}-line delta: its ingest + its refresh): {wru:.1f} WRU")
        for _ in range(reads):
            for report_id in REPORTS:
                call_api("GET", f"/v1/reports/{report_id}", {"Authorization": f"Bearer {token}"})
        midnight("busy", wake=True)
        midnight("quiet", wake=False)
        quarter_hour(pump)
        after = ledger()
        delta = {t: {k: after[t].get(k, 0.0) - before.get(t, {}).get(k, 0.0) for k in after[t]} for t in after}
        # the idle tenant read once that day: its first reader sums the day documents (here the
        # worst case, a 365-day custom range) and asks for the roll, which the aggregator does
        call_api(
            "GET",
            f"/v1/reports/response-time?from={span.start}&to={span.end}",
            {"Authorization": f"Bearer {mint('quiet', ['viewer'])}"},
        )
        store.enqueue("quiet", "presets", f"quiet:presets:{now_s()}")
        quarter_hour(pump)
        read = ledger()["quiet"]
        delta["quiet-read"] = {k: read.get(k, 0.0) - before.get("quiet", {}).get(k, 0.0) for k in read}
        return delta, time.perf_counter() - started

    delta, secs = one_day()
    print(f"\nincremental: one simulated day in {secs:.0f}s ({len(day)} new lines in {SLICES} files, {reads}x12 reads)")
    report(scaled(delta, 30, month))
    # baseline: what rebuilding the busy tenant from its whole log on every tick would meter
    before = ledger()
    started = time.perf_counter()
    store.mark_due("busy", now_s(), rebuild=True)
    pump.drain()
    after = ledger()
    one = {k: after["busy"].get(k, 0.0) - before["busy"].get(k, 0.0) for k in after["busy"]}
    print(f"\nbaseline: one full rebuild of busy took {time.perf_counter() - started:.0f}s; x{SLICES} ticks x 30 days:")
    report(scaled({"busy": one}, SLICES * 30, month))
    stack.stop()


def quarter_hour(pump: Any) -> None:
    """What AWS does in one 15-minute period: S3 notifications, one tick, the queue drained."""
    pump.ingest()
    pump.tick()
    while pump.queue():
        pass


def scaled(delta: dict[str, dict[str, float]], factor: float, month: str) -> dict[str, Any]:
    from mediana.metering.costs import month_rows

    items = [{"tenant_id": t, "day": "x", **{k: v * factor for k, v in c.items()}} for t, c in delta.items()]
    return month_rows(items, month, "us-east-1")


def report(month: dict[str, Any]) -> None:
    print(f"per month (x30), {month['region']}, prices as of {month['prices_as_of']}:")
    for row in [*month["rows"], month["total"]]:
        print(f"  {row['tenant_id']:<11} total ${row['total_usd']:.4f}")
        for line in row["lines"]:
            print(f"      {line['line']:<16} {line['quantity']:>16,.2f} {line['unit']:<28} ${line['usd']:.5f}")


if __name__ == "__main__":
    main()
