"""The price table (``data/prices.json``: dated, per region) and what each metered
line costs. The one place that knows prices; the meter only counts quantities."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRICE_FILE = Path(__file__).with_name("data") / "prices.json"


@dataclass(frozen=True)
class Line:
    """One metered quantity: its ledger field, unit, service and price key."""

    field: str
    unit: str
    service: str
    price: str
    per: float = 1.0  # quantity units per priced unit (e.g. bytes per GB)


GB = 1024**3
LINES: tuple[Line, ...] = (
    Line("ddb_rru", "read request units", "dynamodb", "dynamodb_read_request_unit"),
    Line("ddb_wru", "write request units", "dynamodb", "dynamodb_write_request_unit"),
    Line("lambda_gb_s", "GB-seconds (arm64)", "lambda", "lambda_arm64_gb_second"),
    Line("lambda_requests", "invocations", "lambda", "lambda_request"),
    Line("sqs_requests", "requests (FIFO)", "sqs", "sqs_fifo_request"),
    Line("s3_put_requests", "PUT/COPY/POST/LIST requests", "s3", "s3_put_request"),
    Line("s3_get_requests", "GET and other requests", "s3", "s3_get_request"),
    Line("s3_byte_months", "byte-months stored", "s3", "s3_gb_month", GB),
    Line("api_requests", "HTTP API requests", "api_gateway", "http_api_request"),
    Line("log_bytes", "bytes ingested", "cloudwatch_logs", "cloudwatch_logs_ingested_gb", GB),
)
FIELDS = tuple(line.field for line in LINES)
# DynamoDB units AWS reported (ConsumedCapacity); preferred over computed ones when present
REPORTED = {"ddb_rru": "ddb_rru_reported", "ddb_wru": "ddb_wru_reported"}


@cache
def price_table() -> dict[str, Any]:
    return dict(json.loads(PRICE_FILE.read_text()))


def prices(region: str) -> Mapping[str, float]:
    table = price_table()["regions"]
    if region not in table:
        raise KeyError(f"no prices for region {region!r}; the table has {', '.join(sorted(table))}")
    return dict(table[region])


def quantity(counters: Mapping[str, float], line: Line) -> float:
    reported = REPORTED.get(line.field)
    if reported and counters.get(reported):
        return float(counters[reported])
    return float(counters.get(line.field, 0))


def cost_lines(counters: Mapping[str, float], region: str) -> list[dict[str, Any]]:
    """Each line's quantity and USD (unrounded; round once when presenting)."""
    table = prices(region)
    out = []
    for line in LINES:
        qty = quantity(counters, line)
        out.append(
            {
                "line": line.field,
                "service": line.service,
                "unit": line.unit,
                "quantity": qty,
                "usd": qty / line.per * table[line.price],
            }
        )
    return out
