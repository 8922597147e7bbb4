"""The scheduler's fan-out for a fleet: N tenants due at once (the worst tick: every tenant had
new data), one scheduler tick on the local stack (moto over HTTP), its seconds and requests.

Baseline: one SQS SendMessage per due tenant, the scheduler before batching: 1,001 requests
for 1,000 due tenants. Extrapolated to 10,000 tenants from the measured requests per tenant.
moto's seconds are not extrapolated: its FIFO queue costs more per message the longer the
queue (11 ms a message at 300, 35 ms at 1,000). The AWS estimate takes the stated latency per
request.
Usage: python bench/fanout.py [tenants]
"""

from __future__ import annotations

import collections
import sys
import time
from typing import Any

sys.path[:0] = ["shared", "cli"]

import botocore.client  # noqa: E402
from mediana.services.scheduling import schedule  # noqa: E402
from mediana_cli.local import LocalStack  # noqa: E402

AWS_REQUEST_MS = 10  # an assumption: SQS SendMessage(Batch) and a DynamoDB Query in-region
CALLS: collections.Counter[str] = collections.Counter()
_real = botocore.client.BaseClient._make_api_call


def _counting(self: Any, name: str, params: Any) -> Any:
    CALLS[name] += 1
    return _real(self, name, params)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    stack = LocalStack(aws_port=5127, api_port=8127, announce=False)
    store = stack.start()
    now = int(time.time())
    for i in range(n):
        store.mark_due(f"t{i:05d}", now - 1)
    started = time.perf_counter()
    due = store.due_tenants(now)
    query_s = time.perf_counter() - started
    print(f"the due index's Query alone: {query_s:.2f} s for {len(due)} tenants")
    botocore.client.BaseClient._make_api_call = _counting  # type: ignore[method-assign]
    started = time.perf_counter()
    enqueued = schedule(store, now).enqueued
    seconds = time.perf_counter() - started
    botocore.client.BaseClient._make_api_call = _real  # type: ignore[method-assign]
    assert len(enqueued) == n, (len(enqueued), n)
    requests = sum(CALLS.values())
    print(f"{n} due tenants: one tick in {seconds:.2f} s, {requests} requests {dict(CALLS)}")
    per_10k = requests / n * 10_000
    print(f"per tenant: {requests / n:.3f} requests (baseline: 1.001)")
    print(f"10,000 tenants (extrapolated): {per_10k:,.0f} requests (baseline: 10,001); on AWS at "
          f"{AWS_REQUEST_MS} ms a request, one after another: {per_10k * AWS_REQUEST_MS / 1000:.0f} s "
          f"(the scheduler's timeout: 120 s)")  # fmt: skip
    stack.stop()


if __name__ == "__main__":
    main()
