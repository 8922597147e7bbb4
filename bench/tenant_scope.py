"""What tenant-scoped credentials (mediana.services.tenancy) add to a read, through the API handler on
the local stack (moto server over HTTP).

Baseline: the same requests with the function's own credentials (no AssumeRole), i.e. the
API before scoping. Prints the median per warm request with and without scoping, and a cold
tenant's first request split into AssumeRole + client creation and the request itself.
moto answers AssumeRole on loopback: add STS's own round trip on AWS (in-region, typically
tens of milliseconds) to the cold figure; the warm figure needs no STS call at all.
Usage: python bench/tenant_scope.py [tenants] [requests_per_tenant]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path[:0] = ["shared", "cli"]

from mediana.services import tenancy  # noqa: E402
from mediana.services.auth import mint  # noqa: E402
from mediana.services.ingest import ingest_lines  # noqa: E402
from mediana_cli.demo import generate, write_jsonl  # noqa: E402
from mediana_cli.local import LocalStack, call_api  # noqa: E402

PATH = "/v1/reports/response-time?range=last_7_days"


def _request(tenant: str, token: str) -> float:
    t = time.perf_counter()
    status, _, _ = call_api("GET", PATH, {"Authorization": f"Bearer {token}"})
    assert status == 200, status
    return time.perf_counter() - t


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.2f} ms (median of {len(values)})"


def main() -> None:
    n_tenants = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    per_tenant = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    stack = LocalStack(aws_port=5124, api_port=8124, announce=False)
    store = stack.start()
    from mediana.services.aggregate import refresh_tenant

    tenants = [f"t{i:02d}" for i in range(n_tenants)]
    for tenant in tenants:
        ingest_lines(store, tenant, "demo", [line.encode() for line in write_jsonl(generate(tenant, 3, 2, 5))])
        refresh_tenant(store, tenant)
    tokens = {t: mint(t, ["viewer"]) for t in tenants}
    role = os.environ["TENANT_ROLE_ARN"]  # the local TenantAccessRole, made by the stack from the template
    print(f"{n_tenants} tenants, {per_tenant} warm requests each, GET {PATH}")

    tenancy._DEFAULT = tenancy.TenantStores(store, None)  # baseline: the function's own credentials
    for t in tenants:
        _request(t, tokens[t])  # containers warm: the handler's import and first-use work done
    baseline = [_request(t, tokens[t]) for t in tenants for _ in range(per_tenant)]

    scoped = tenancy.TenantStores(store, role)
    tenancy._DEFAULT = scoped
    assume, first = [], []
    for t in tenants:
        started = time.perf_counter()
        scoped.for_tenant(t)  # AssumeRole (session tag) + a DynamoDB client with those credentials
        assume.append(time.perf_counter() - started)
        first.append(_request(t, tokens[t]))
    warm = [_request(t, tokens[t]) for t in tenants for _ in range(per_tenant)]

    base_ms = statistics.median(baseline) * 1000
    print(f"baseline warm request (own role)       {_ms(baseline)}")
    print(f"scoped warm request (cached client)    {_ms(warm)}  "
          f"added {statistics.median(warm) * 1000 - base_ms:+.2f} ms")  # fmt: skip
    print(f"cold tenant: AssumeRole + client       {_ms(assume)}  (moto's STS on loopback)")
    print(f"cold tenant: its first request         {_ms(first)}")
    cold_added = statistics.median(assume) * 1000 + statistics.median(first) * 1000 - base_ms
    print(f"cold tenant added over baseline        {cold_added:+7.2f} ms  + STS's round trip on AWS")
    print(f"AssumeRole calls: {scoped.assumed} for {n_tenants} tenants ({n_tenants * (per_tenant + 1)} requests)")
    stack.stop()


if __name__ == "__main__":
    main()
