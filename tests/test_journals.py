"""Journals never expire by lifecycle (a pending one must outlive any outage), so the
aggregator itself removes them: its own once committed, and any other attempt's of the same
tenant (crashed between writing its journal and claiming it). Quarantined lines expire."""

from __future__ import annotations

import time
from typing import Any

from mediana.storage import keys
from mediana_cli.local import upload
from test_pipeline_moto import _today, get, lines


def _journals(stack: Any, prefix: str) -> list[str]:
    listed = stack.store.s3.list_objects_v2(Bucket=stack.store.cfg.bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_commit_settles_every_journal_of_its_tenant_and_no_other(stack: Any) -> None:
    bucket, s3 = stack.store.cfg.bucket, stack.store.s3
    orphan = keys.journal_key("acme", 1, "crashed0attempt0")  # written, never claimed: its runner died
    neighbour = keys.journal_key("acme2", 1, "elsewhere0000000")  # another tenant's, same leading letters
    for key in (orphan, neighbour):
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    upload(stack.store, "acme", "a.jsonl", lines("acme", _today(), "30"))
    stack.pump.drain()
    assert get("/v1/reports/new-contacts?range=today", "acme")[2]["values"]["count"] == 1
    assert _journals(stack, keys.journal_prefix("acme")) == []
    assert _journals(stack, keys.journal_prefix("acme2")) == [neighbour]
    state = stack.store.get_state("acme")
    assert not state.pending and int(state.batch) >= 1


def test_a_quarantined_line_carries_its_expiry(stack: Any) -> None:
    upload(stack.store, "acme", "bad.jsonl", b'{"tenant_id": "acme", "kind": "contact"}\nnot json')
    stack.pump.drain()
    items = stack.store.ddb.query(
        TableName=stack.store.cfg.state_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.quarantine_pk("acme")}},
    )["Items"]
    assert len(items) == 2
    for item in items:
        expires_in = int(item["expires_at"]["N"]) - time.time()
        assert abs(expires_in - stack.store.cfg.quarantine_ttl_s) < 600, expires_in
