"""DynamoDB request units from item sizes, by the documented rounding rules.

Why compute them: moto answers a constant ``ConsumedCapacity``, and finance needs
real per-tenant numbers locally and in tests. When AWS itself reports
``ConsumedCapacity`` the meter records it too and the ledger prefers it.

Rules (on-demand, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/):
- item size: attribute names (UTF-8) + values; a number takes ~1 byte per two
  significant digits + 1; binary its bytes; bool/null 1; a list or map 3 bytes
  + 1 per element + its elements.
- reads: 1 RRU per 4 KB, rounded up, per item (GetItem, BatchGetItem) or per
  request on the sum of sizes (Query, Scan); eventually consistent costs half;
  a read that finds nothing still costs the minimum.
- writes: 1 WRU per 1 KB, rounded up, per item (PutItem, BatchWriteItem put);
  deletes and updates of items whose size the response doesn't say cost 1;
  each write that touches a global secondary index's keys costs that index a
  write too (keys-only projections fit in 1 KB); transactions cost double.
Pure functions: no AWS here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

READ_UNIT = 4096
WRITE_UNIT = 1024


def number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "")
    if "e" in digits.lower():  # exponent form: count the mantissa's digits
        digits = digits.lower().split("e", 1)[0]
    significant = digits.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value in DynamoDB's wire format ({"S": ...}, {"M": ...}, ...)."""
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return number_size(str(v))
    if kind == "B":
        return len(v if isinstance(v, (bytes, bytearray)) else str(v).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(number_size(str(n)) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(e) for k, e in v.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return float(units) if consistent else units / 2


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT))


@dataclass
class Units:
    """Request units of one call: computed, and (if AWS reported them) reported."""

    read: float = 0.0
    write: float = 0.0
    reported_read: float | None = None
    reported_write: float | None = None


def _touches(names: Iterable[str], gsi_keys: set[str]) -> bool:
    return bool(gsi_keys & set(names))


def _update_names(params: Mapping[str, Any]) -> set[str]:
    """Attribute names an UpdateItem touches (placeholders resolved)."""
    text = params.get("UpdateExpression", "")
    names = set(params.get("ExpressionAttributeNames", {}).values())
    words = {w.strip(",=:()+-") for w in text.replace("=", " ").split()}
    return names | {w for w in words if w and not w.startswith((":", "#"))}


def units_for(
    operation: str,
    params: Mapping[str, Any],
    response: Mapping[str, Any],
    gsi_keys: Mapping[str, set[str]] | None = None,
) -> Units:
    """Request units of one DynamoDB call from its parameters and (parsed, wire-format) response."""
    gsi_keys = gsi_keys or {}
    out = Units()
    failed = "Error" in response
    if operation == "GetItem":
        out.read = read_units(item_size(response.get("Item")), bool(params.get("ConsistentRead")))
    elif operation == "BatchGetItem":
        found = response.get("Responses") or {}
        unprocessed = response.get("UnprocessedKeys") or {}
        for table, request in params.get("RequestItems", {}).items():
            consistent = bool(request.get("ConsistentRead"))
            items = found.get(table, [])
            out.read += sum(read_units(item_size(i), consistent) for i in items)
            missing = len(request["Keys"]) - len(items) - len(unprocessed.get(table, {}).get("Keys", []))
            out.read += max(0, missing) * read_units(0, consistent)  # a key not found costs the minimum
    elif operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in response.get("Items") or [])
        out.read = read_units(size, bool(params.get("ConsistentRead")))
    elif operation == "PutItem":
        item = params.get("Item", {})
        old = response.get("Attributes")
        out.write = write_units(max(item_size(item), item_size(old)))
        keys = gsi_keys.get(params.get("TableName", ""), set())
        out.write += 1 if _touches(item, keys) or _touches(old or {}, keys) else 0
    elif operation == "UpdateItem":
        after = response.get("Attributes")
        out.write = write_units(item_size(after) if after else 0)
        out.write += 1 if _touches(_update_names(params), gsi_keys.get(params.get("TableName", ""), set())) else 0
    elif operation == "DeleteItem":
        out.write = write_units(item_size(response.get("Attributes")))
    elif operation == "BatchWriteItem":
        unprocessed = response.get("UnprocessedItems") or {}
        for table, requests in params.get("RequestItems", {}).items():
            done = len(requests) - len(unprocessed.get(table, []))
            for req in requests[:done]:
                if "PutRequest" in req:
                    item = req["PutRequest"]["Item"]
                    out.write += write_units(item_size(item))
                    out.write += 1 if _touches(item, gsi_keys.get(table, set())) else 0
                else:
                    out.write += 1
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            (kind, body), *_ = entry.items()
            size = item_size(body.get("Item")) if kind == "Put" else 0
            out.write += 2 * write_units(size)
    if failed and operation in ("PutItem", "UpdateItem", "DeleteItem"):
        out.write = max(out.write, 1)  # a failed condition still costs the write
    _reported(out, operation, response)
    return out


def _reported(out: Units, operation: str, response: Mapping[str, Any]) -> None:
    consumed = response.get("ConsumedCapacity")
    if consumed is None:
        return
    total = sum(float(c.get("CapacityUnits", 0)) for c in (consumed if isinstance(consumed, list) else [consumed]))
    if operation in ("GetItem", "BatchGetItem", "Query", "Scan"):
        out.reported_read = total
    else:
        out.reported_write = total


def decimal(value: float) -> Decimal:
    """Counters go to DynamoDB as Decimals with 6 decimals (no float noise)."""
    return Decimal(str(round(value, 6)))
