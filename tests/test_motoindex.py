"""The local stack's indexed moto Query (mediana_cli.motoindex) answers exactly as moto
does: any table, any puts, upserts and deletes, any key condition, order, limit, page
and filter, on the base table and on an index."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediana_cli import motoindex
from moto import mock_aws

motoindex.install()

PARTITIONS = ["a", "b", "ab"]
NUMBERS = st.integers(-3, 40)
STRINGS = st.sampled_from(["", "x", "x#1", "x#10", "x#2", "x#2#a", "y", "y#1", "é", "z"]).filter(bool)


@contextmanager
def moto_as_shipped() -> Iterator[None]:
    from moto.dynamodb.models.table import Table

    patched = Table.query
    Table.query = Table._mediana_real_query  # type: ignore[attr-defined,method-assign]
    try:
        yield
    finally:
        Table.query = patched  # type: ignore[method-assign]


def _pages(client: Any, **params: Any) -> list[dict[str, Any]]:
    pages, start = [], None
    while True:
        page = client.query(**params, **({"ExclusiveStartKey": start} if start else {}))
        pages.append({"Items": page["Items"], "Count": page["Count"], "Last": page.get("LastEvaluatedKey")})
        start = page.get("LastEvaluatedKey")
        if not start or len(pages) > 60:
            return pages


def _condition(kind: str, op: str, values: list[Any]) -> tuple[str, dict[str, Any]]:
    typed = [{kind: str(v)} for v in values]
    attrs: dict[str, Any] = {":p": {"S": "a"}}
    if op == "none":
        return "p = :p", attrs
    attrs[":v"] = typed[0]
    if op == "between":
        attrs[":w"] = typed[1]
        return "p = :p AND s BETWEEN :v AND :w", attrs
    if op == "begins":
        return "p = :p AND begins_with(s, :v)", attrs
    return f"p = :p AND s {op} :v", attrs


@st.composite
def scenario(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["N", "S"]))
    keys = NUMBERS if kind == "N" else STRINGS
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(["put", "put", "update", "delete"]), st.sampled_from(PARTITIONS), keys,
                      st.sampled_from([None, "g1", "g2"])),
            max_size=40,
        )
    )  # fmt: skip
    comparisons = ["none", "=", "<", "<=", ">", ">=", "between"] + (["begins"] if kind == "S" else [])
    op = draw(st.sampled_from(comparisons))
    values = sorted([draw(keys), draw(keys)], key=lambda v: v if kind == "N" else str(v))
    return {
        "kind": kind,
        "ops": ops,
        "op": op,
        "values": values,
        "limit": draw(st.sampled_from([None, 1, 2, 5])),
        "forward": draw(st.booleans()),
        "filter": draw(st.booleans()),
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1", endpoint_url=None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenario())
def test_every_query_answers_as_moto_does(client: Any, case: dict[str, Any]) -> None:
    name = f"t{case['kind']}"
    if name not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "p", "AttributeType": "S"},
                {"AttributeName": "s", "AttributeType": case["kind"]},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "ALL"}}
            ],
            BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
    for page in client.get_paginator("scan").paginate(TableName=name):  # each case starts empty
        for item in page["Items"]:
            client.delete_item(TableName=name, Key={"p": item["p"], "s": item["s"]})
    kind = case["kind"]
    for op, p, s, g in case["ops"]:
        key = {"p": {"S": p}, "s": {kind: str(s)}}
        if op == "put":
            client.put_item(TableName=name, Item={**key, "n": {"N": "1"}, **({"g": {"S": g}} if g else {})})
        elif op == "update":
            client.update_item(TableName=name, Key=key, UpdateExpression="ADD n :one",
                               ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip
        else:
            client.delete_item(TableName=name, Key=key)

    expression, values = _condition(kind, case["op"], case["values"])
    params: dict[str, Any] = {"TableName": name, "KeyConditionExpression": expression,
                              "ScanIndexForward": case["forward"]}  # fmt: skip
    if case["limit"]:
        params["Limit"] = case["limit"]
    if case["filter"]:
        params["FilterExpression"] = "n > :one"
        values[":one"] = {"N": "1"}
    params["ExpressionAttributeValues"] = values
    on_index = {"TableName": name, "IndexName": "byg", "KeyConditionExpression": "g = :g",
                "ExpressionAttributeValues": {":g": {"S": "g1"}}}  # fmt: skip
    if case["limit"]:
        on_index["Limit"] = case["limit"]

    indexed = _pages(client, **params), _pages(client, **on_index)
    with moto_as_shipped():
        shipped = _pages(client, **params), _pages(client, **on_index)
    assert indexed == shipped


def test_a_query_no_longer_walks_the_table(client: Any) -> None:
    """The point of it: a Query touches its partition's matches, not the table."""
    from moto.dynamodb.models.table import Table

    client.create_table(
        TableName="big",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, 2000, 25):
        client.batch_write_item(RequestItems={"big": [{"PutRequest": {"Item": {"p": {"S": "log"}, "s": {"N": str(i)}}}}
                                                      for i in range(start, start + 25)]})  # fmt: skip
    params = {"TableName": "big", "KeyConditionExpression": "p = :p AND s BETWEEN :a AND :b",
              "ExpressionAttributeValues": {":p": {"S": "log"}, ":a": {"N": "1990"}, ":b": {"N": "2100"}}}  # fmt: skip
    calls: list[int] = []
    original = Table.all_items

    def spy(self: Any) -> list[Any]:
        out = original(self)
        calls.append(len(out))
        return out

    Table.all_items = spy  # type: ignore[method-assign]
    try:
        items = client.query(**params)["Items"]
    finally:
        Table.all_items = original  # type: ignore[method-assign]
    assert [int(i["s"]["N"]) for i in items] == list(range(1990, 2000))
    assert calls == [11], calls  # the ten matches and the one before them, not the 2,000 items
