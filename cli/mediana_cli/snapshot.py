"""The local stack's state kept between runs: every table item and bucket object, and which
incoming files were already ingested, saved when the stack stops (Ctrl-C) and loaded when it
starts, so a restart serves the same reports in seconds instead of reloading the demo. SQS
messages are not kept: the scheduler enqueues whatever is still due after a restart."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

SNAPSHOT = Path(".mediana") / "snapshot.json.gz"
FORMAT = 1


def _clients(store: Any) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name=store.cfg.region)  # the operator's, not metered
    return session.client("dynamodb", endpoint_url=store.cfg.endpoint), session.client(
        "s3", endpoint_url=store.cfg.endpoint
    )


def _tables(store: Any) -> dict[str, str]:
    return {"state": store.cfg.state_table, "log": store.cfg.log_table, "idempotency": store.cfg.idempotency_table}


def _map_binary(value: Any, convert: Callable[[Any], Any]) -> Any:
    """DynamoDB's wire format with ``convert`` applied to every binary value (B, and each of BS)."""
    if isinstance(value, dict):
        return {
            k: ([convert(b) for b in v] if k == "BS" else convert(v)) if k in ("B", "BS") else _map_binary(v, convert)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_binary(v, convert) for v in value]
    return value


def _to_json(item: Any) -> Any:
    """An item with its binary values as base64 text (JSON has no bytes); _from_json undoes it."""
    return _map_binary(item, lambda b: base64.b64encode(b).decode())


def _from_json(item: Any) -> Any:
    return _map_binary(item, base64.b64decode)


def save(store: Any, ingested: set[str], path: Path = SNAPSHOT) -> int:
    """Write the snapshot; returns the number of items and objects kept."""
    ddb, s3 = _clients(store)
    tables: dict[str, list[dict[str, Any]]] = {}
    for role, name in _tables(store).items():
        items: list[dict[str, Any]] = []
        for page in ddb.get_paginator("scan").paginate(TableName=name):
            items.extend(_to_json(item) for item in page["Items"])
        tables[role] = items
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=store.cfg.bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=store.cfg.bucket, Key=obj["Key"])["Body"].read()
            objects[obj["Key"]] = base64.b64encode(body).decode()
    doc = {"format": FORMAT, "tables": tables, "objects": objects, "ingested": sorted(ingested)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 3))
    tmp.replace(path)  # a stop interrupted mid-write leaves the previous snapshot whole
    return sum(len(v) for v in tables.values()) + len(objects)


def load(store: Any, path: Path = SNAPSHOT) -> set[str] | None:
    """Put a snapshot's items and objects back; the ingested keys, or None if there is none."""
    if not path.exists():
        return None
    doc = json.loads(gzip.decompress(path.read_bytes()))
    if doc.get("format") != FORMAT:
        return None
    ddb, s3 = _clients(store)
    names = _tables(store)

    def write(batch: tuple[str, list[dict[str, Any]]]) -> None:
        table, items = batch
        request = {table: [{"PutRequest": {"Item": _from_json(item)}} for item in items]}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    batches = [
        (names[role], items[i : i + 25]) for role, items in doc["tables"].items() for i in range(0, len(items), 25)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, batches))
        list(
            pool.map(
                lambda kv: s3.put_object(Bucket=store.cfg.bucket, Key=kv[0], Body=base64.b64decode(kv[1])),
                doc["objects"].items(),
            )
        )
    return set(doc["ingested"])
