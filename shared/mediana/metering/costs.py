"""Finance's view of the ledger: per-tenant monthly rows priced from the price
table, a breakdown by service, and a total row that adds up to everything metered
(the shared fan-out row included). Plain Python: the read function serves it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mediana.metering.meter import SHARED
from mediana.metering.pricing import LINES, REPORTED, cost_lines, price_table

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")  # use fullmatch ("$" lets "2026-11\n" through)
SERVICES = tuple(dict.fromkeys(line.service for line in LINES))


def month_rows(items: Iterable[Mapping[str, Any]], month: str, region: str) -> dict[str, Any]:
    """Sum a month's ledger items per tenant and price them."""
    per_tenant: dict[str, dict[str, float]] = {}
    days: dict[str, set[str]] = {}
    for item in items:
        tenant = str(item["tenant_id"])
        row = per_tenant.setdefault(tenant, {})
        for name, value in item.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[name] = row.get(name, 0.0) + float(value)
        days.setdefault(tenant, set()).add(str(item.get("day")))
    priced = {tenant: cost_lines(counters, region) for tenant, counters in per_tenant.items()}
    rows = [
        _present(tenant, len(days[tenant]), priced[tenant], {v: c[v] for v in REPORTED.values() if c.get(v)})
        for tenant, c in per_tenant.items()
    ]
    rows.sort(key=lambda r: (r["tenant_id"] == SHARED, -r["total_usd"], r["tenant_id"]))
    # the total adds the rows line by line (each row already chose reported or computed units)
    total_lines = [
        {
            **line,
            "quantity": sum(p[i]["quantity"] for p in priced.values()),
            "usd": sum(p[i]["usd"] for p in priced.values()),
        }
        for i, line in enumerate(cost_lines({}, region))
    ]
    table = price_table()
    return {
        "month": month,
        "region": region,
        "currency": table["currency"],
        "prices_as_of": table["as_of"],
        "rows": rows,
        "total": _present("total", max((len(d) for d in days.values()), default=0), total_lines, {}),
    }


def _present(tenant: str, days: int, lines: list[dict[str, Any]], reported: dict[str, float]) -> dict[str, Any]:
    """One row: USD by service and in total, and the non-zero lines, rounded once here."""
    by_service = dict.fromkeys(SERVICES, 0.0)
    for line in lines:
        by_service[line["service"]] += line["usd"]
    return {
        "tenant_id": tenant,
        "days_metered": days,
        "services_usd": {k: round(v, 6) for k, v in by_service.items()},
        "total_usd": round(sum(by_service.values()), 6),
        "lines": [
            {**line, "quantity": round(line["quantity"], 6), "usd": round(line["usd"], 6)}
            for line in lines
            if line["quantity"]
        ],
        "reported_capacity": reported,
    }


def to_csv(report: Mapping[str, Any]) -> str:
    """One line per tenant and a total line: services in USD, then the quantities."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = [line.field for line in LINES]
    writer.writerow(["month", "tenant_id", *(f"{s}_usd" for s in SERVICES), "total_usd", *fields])
    for row in [*report["rows"], report["total"]]:
        qty = {line["line"]: line["quantity"] for line in row["lines"]}
        writer.writerow(
            [
                report["month"],
                row["tenant_id"],
                *(f"{row['services_usd'][s]:.6f}" for s in SERVICES),
                f"{row['total_usd']:.6f}",
                *(qty.get(f, 0) for f in fields),
            ]
        )
    return out.getvalue()
