"""DynamoDB request-unit rounding, the time split of a multi-tenant batch, and the
priced ledger rows (pure: no AWS)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from mediana.metering.capacity import item_size, number_size, units_for, value_size
from mediana.metering.costs import month_rows, to_csv
from mediana.metering.meter import SHARED, Meter, split_time
from mediana.metering.pricing import prices


def blob_item(total: int) -> dict[str, Any]:
    """An item of exactly ``total`` bytes: pk "p" (S, 1 char) + attribute v (B)."""
    overhead = len("pk") + 1 + len("v")
    return {"pk": {"S": "p"}, "v": {"B": b"x" * (total - overhead)}}


def test_item_size_follows_the_documented_rules() -> None:
    assert item_size(blob_item(1024)) == 1024
    assert value_size({"S": "ñu"}) == 3  # UTF-8 bytes
    assert number_size("12345") == 4 and number_size("-0.00100") == 2 and number_size("0") == 2
    assert value_size({"BOOL": True}) == 1 and value_size({"NULL": True}) == 1
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"M": {"k": {"S": "abc"}}}) == 3 + 1 + 1 + 3


@pytest.mark.parametrize(("size", "wru"), [(1, 1), (1023, 1), (1024, 1), (1025, 2), (4096, 4), (4097, 5)])
def test_put_item_write_units_round_up_per_kilobyte(size: int, wru: int) -> None:
    units = units_for("PutItem", {"TableName": "t", "Item": blob_item(max(size, 8))}, {})
    assert units.write == wru


@pytest.mark.parametrize(
    ("size", "consistent", "rru"),
    [(100, True, 1.0), (4096, True, 1.0), (4097, True, 2.0), (4097, False, 1.0), (8192, False, 1.0), (0, False, 0.5)],
)
def test_get_item_read_units_round_up_per_4kb_and_halve_when_eventual(size: int, consistent: bool, rru: float) -> None:
    response = {"Item": blob_item(size)} if size else {}
    assert units_for("GetItem", {"ConsistentRead": consistent}, response).read == rru


def test_query_rounds_the_sum_of_item_sizes_once() -> None:
    items = [blob_item(1500), blob_item(1500), blob_item(1500)]  # 4500 bytes -> 2 units, not 3
    assert units_for("Query", {"ConsistentRead": True}, {"Items": items}).read == 2.0
    assert units_for("Query", {}, {"Items": items}).read == 1.0
    assert units_for("Query", {}, {"Items": []}).read == 0.5  # an empty page still costs the minimum


def test_batch_get_rounds_each_item_and_charges_missing_keys() -> None:
    params = {"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": True}}}
    response = {"Responses": {"t": [blob_item(4097), blob_item(10)]}}
    assert units_for("BatchGetItem", params, response).read == 2.0 + 1.0 + 1.0


def test_batch_write_counts_each_put_and_delete_and_skips_unprocessed() -> None:
    puts = [{"PutRequest": {"Item": blob_item(2048)}}, {"PutRequest": {"Item": blob_item(100)}}]
    deletes = [{"DeleteRequest": {"Key": {"pk": {"S": "p"}}}}]
    params = {"RequestItems": {"t": puts + deletes}}
    assert units_for("BatchWriteItem", params, {}).write == 2 + 1 + 1
    unprocessed = {"UnprocessedItems": {"t": deletes}}
    assert units_for("BatchWriteItem", params, unprocessed).write == 3


def test_writes_touching_an_index_key_also_write_the_index() -> None:
    gsi = {"state": {"sched", "due_at"}}
    update = {
        "TableName": "state",
        "UpdateExpression": "SET #s = :s, due_at = :d",
        "ExpressionAttributeNames": {"#s": "sched"},
    }
    assert units_for("UpdateItem", update, {}, gsi).write == 2
    plain = {"TableName": "state", "UpdateExpression": "SET cursor = :c"}
    assert units_for("UpdateItem", plain, {}, gsi).write == 1
    removed = {"TableName": "state", "UpdateExpression": "REMOVE sched, due_at"}
    assert units_for("UpdateItem", removed, {}, gsi).write == 2
    put = {"TableName": "state", "Item": {**blob_item(500), "sched": {"S": "due"}}}
    assert units_for("PutItem", put, {}, gsi).write == 2
    batch = {"RequestItems": {"state": [{"PutRequest": {"Item": put["Item"]}}]}}
    assert units_for("BatchWriteItem", batch, {}, gsi).write == 2


def test_failed_conditions_still_cost_and_transactions_cost_double() -> None:
    assert units_for("UpdateItem", {}, {"Error": {"Code": "ConditionalCheckFailedException"}}).write == 1
    tx = {"TransactItems": [{"Put": {"Item": blob_item(1500)}}, {"Update": {"Key": {}}}]}
    assert units_for("TransactWriteItems", tx, {}).write == 2 * 2 + 2 * 1


def test_reported_consumed_capacity_is_kept_beside_the_computed_units() -> None:
    units = units_for("Query", {}, {"Items": [], "ConsumedCapacity": {"CapacityUnits": 3.5}})
    assert units.read == 0.5 and units.reported_read == 3.5
    units = units_for("BatchWriteItem", {"RequestItems": {}}, {"ConsumedCapacity": [{"CapacityUnits": 2}, {}]})
    assert units.reported_write == 2


def test_a_batch_serving_several_tenants_is_split_by_time_spent() -> None:
    shares = split_time(10.0, {"acme": 6.0, "globex": 2.0})  # 2 s of overhead, shared 3:1
    assert shares == pytest.approx({"acme": 7.5, "globex": 2.5})
    assert split_time(1.0, {}) == {SHARED: 1.0}
    meter = Meter()
    with meter.invocation(2048):
        with meter.serving("acme"):
            meter.add("sqs_requests", 1)
        with meter.serving("globex"):
            pass
    assert set(meter.counts) == {"acme", "globex"}
    requests = sum(row["lambda_requests"] for row in meter.counts.values())
    assert requests == pytest.approx(1.0) and meter.counts["acme"]["sqs_requests"] == 1


class _FakeLedger:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, dict[str, float]]] = []

    def add_costs(self, tenant: str, day: str, counters: Any) -> None:
        self.rows.append((tenant, day, dict(counters)))


def test_flush_books_its_own_write_and_is_not_metered_twice() -> None:
    meter = Meter()
    meter.add("ddb_rru", 2.5, "acme")
    ledger = _FakeLedger()
    assert meter.flush(ledger, today="2026-11-23") == 1
    assert ledger.rows == [("acme", "2026-11-23", {"ddb_rru": 2.5, "ddb_wru": 1.0})]
    assert meter.counts == {} and meter.flush(ledger) == 0


LEDGER = [
    {"tenant_id": "acme", "day": "2026-11-01", "ddb_rru": 2_000_000, "ddb_wru": 1_000_000, "api_requests": 10},
    {"tenant_id": "acme", "day": "2026-11-02", "ddb_rru": 2_000_000, "lambda_gb_s": 3600.0, "log_bytes": 2**30},
    {"tenant_id": SHARED, "day": "2026-11-01", "ddb_rru": 4, "lambda_requests": 2880, "sqs_requests": 10},
    {"tenant_id": "globex", "day": "2026-11-02", "ddb_wru": 16, "ddb_wru_reported": 20, "s3_byte_months": 2**30},
]


def test_month_rows_price_each_line_and_add_up() -> None:
    report = month_rows(LEDGER, "2026-11", "us-east-1")
    p = prices("us-east-1")
    rows = {r["tenant_id"]: r for r in report["rows"]}
    acme = rows["acme"]
    assert acme["days_metered"] == 2
    assert acme["services_usd"]["dynamodb"] == pytest.approx(
        4_000_000 * p["dynamodb_read_request_unit"] + 1_000_000 * p["dynamodb_write_request_unit"]
    )
    assert acme["services_usd"]["cloudwatch_logs"] == pytest.approx(p["cloudwatch_logs_ingested_gb"])
    globex = {q["line"]: q["quantity"] for q in rows["globex"]["lines"]}
    assert globex["ddb_wru"] == 20  # AWS's reported units win over computed ones
    assert [r["tenant_id"] for r in report["rows"]][-1] == SHARED  # the shared row, last, never hidden
    assert sum(r["total_usd"] for r in report["rows"]) == pytest.approx(report["total"]["total_usd"])
    with pytest.raises(KeyError, match="no prices"):
        month_rows(LEDGER, "2026-11", "mars-north-1")


def test_csv_has_a_line_per_tenant_and_the_total() -> None:
    report = month_rows(LEDGER, "2026-11", "us-east-1")
    table = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [r["tenant_id"] for r in table] == [*(r["tenant_id"] for r in report["rows"]), "total"]
    assert float(table[-1]["total_usd"]) == pytest.approx(report["total"]["total_usd"], abs=1e-6)
    assert float(table[-1]["ddb_rru"]) == 4_000_004


def test_fenced_writes_in_parallel_threads_are_booked_to_the_tenant_served(stack: Any) -> None:
    from mediana.metering.meter import METER
    from mediana.storage import keys

    assert stack.store.cfg.write_threads > 1
    docs = {f"doc{i}": {"cells": [[i, 1]]} for i in range(40)}
    METER.counts.clear()
    with METER.serving("acme"):
        stack.store.put_docs(keys.days_pk("acme", 0), docs, batch=1)
    assert METER.counts["acme"]["ddb_wru"] == 40  # one small item, one unit each: none lost across threads
    assert SHARED not in METER.counts
    assert {b: d for b, (d, _) in stack.store.get_docs(keys.days_pk("acme", 0), docs).items()} == docs
