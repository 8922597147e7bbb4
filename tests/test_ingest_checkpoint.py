"""An object too large for one invocation finishes across several: through the ingest
handler and the local event plumbing on moto, every invocation runs out of time after
one chunk, checkpoints to the IngestContinueQueue and the next one reads on. Every
line is accounted for, line numbers run on across invocations, and the reports equal
those of the same file read in one go, also when an invocation dies mid-way."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from mediana.services import aggregate, ingest
from mediana.storage.store import Store
from mediana_cli import handlers
from mediana_cli.demo import generate
from mediana_cli.local import upload
from test_generations import _answers

BAD_EVERY = 97
CHUNK_LINES = 250  # instead of 2,000: the same stops and checkpoints on a file a tenth the size
# the demo's size varies with the day it is generated for: pinned, the file is ~1,040 lines (5 chunks)
# on any date the suite runs (unpinned, some days gave 3 chunks and too few continuations)
DEMO_NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: Any) -> None:
    monkeypatch.setattr(ingest, "CHUNK_LINES", CHUNK_LINES)


class ShortLived(handlers.FakeContext):
    """An invocation that is always nearly out of time: one chunk, then a checkpoint."""

    def get_remaining_time_in_millis(self) -> int:
        return 1_000


def _file(tenant: str, gz: bool) -> tuple[bytes, int, int]:
    """The demo's records with a bad line every BAD_EVERY lines: (body, good, bad)."""
    out, good, bad = [], 0, 0
    for n, rec in enumerate(generate("acme", 10, 3, per_day=14, timezone="UTC", now=DEMO_NOW), start=1):
        if n % BAD_EVERY == 0:
            out.append(b'{"tenant_id": "%s", "kind": "message", "id": 7}' % tenant.encode())
            bad += 1
        rec = {**rec, "tenant_id": tenant, **({"id": tenant} if rec["kind"] == "tenant" else {})}
        out.append(json.dumps(rec).encode())
        good += 1
    body = b"\n".join(out) + b"\n"
    return (gzip.compress(body) if gz else body), good, bad


def _log_count(stack: Any, tenant: str) -> int:
    pages = stack.store.ddb.get_paginator("query").paginate(
        TableName=stack.store.cfg.log_table,
        KeyConditionExpression="tenant_id = :t",
        ExpressionAttributeValues={":t": {"S": tenant}},
        Select="COUNT",
    )
    return sum(page["Count"] for page in pages)


def _invocations(monkeypatch: Any) -> Counter[str]:
    """Count the ingest handler's invocations by the event that brought them."""
    seen: Counter[str] = Counter()
    real = handlers.function("ingest").handler

    def counting(event: dict[str, Any], context: Any) -> Any:
        seen[event["Records"][0].get("eventSource", "?")] += 1
        return real(event, context)

    monkeypatch.setattr(handlers.function("ingest"), "handler", counting)
    return seen


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_large_object_finishes_across_invocations_with_every_line_accounted(
    stack: Any, monkeypatch: Any, gz: bool
) -> None:
    body, good, bad = _file("acme", gz)
    upload(stack.store, "whole", "f.jsonl", _file("whole", gz)[0])
    stack.pump.ingest()  # the reference: one invocation reads it all

    seen = _invocations(monkeypatch)
    monkeypatch.setattr(stack.pump, "context", lambda fn: ShortLived(fn))
    upload(stack.store, "acme", "f.jsonl" + (".gz" if gz else ""), body)
    stack.pump.ingest()

    lines = good + bad
    assert seen["aws:s3"] == 1 and seen["aws:sqs"] == -(-lines // CHUNK_LINES) - 1 >= 3, (seen, lines)
    assert _log_count(stack, "acme") == good == _log_count(stack, "whole")
    quarantined = sorted(q["line"] for q in stack.store.list_quarantine("acme", 10_000))
    assert len(quarantined) == bad  # numbered as in the file, across invocations
    assert quarantined == sorted(q["line"] for q in stack.store.list_quarantine("whole", 10_000))

    for tenant in ("acme", "whole"):
        aggregate.refresh_tenant(stack.store, tenant)
    assert _answers("acme", volatile=False) == _answers("whole", volatile=False)


def test_an_invocation_dying_mid_object_is_redelivered_from_its_checkpoint(stack: Any, monkeypatch: Any) -> None:
    body, good, bad = _file("acme", gz=False)
    upload(stack.store, "whole", "f.jsonl", _file("whole", False)[0])
    stack.pump.ingest()

    monkeypatch.setattr(stack.pump, "context", lambda fn: ShortLived(fn))
    real_write = Store.write_log
    calls = {"n": 0}

    def dies_once(self: Store, tenant: str, records: Any, received_us: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the second continuation, after half of its chunk is written
            records = list(records)
            real_write(self, tenant, records[: len(records) // 2], received_us)
            raise RuntimeError("the invocation died")
        real_write(self, tenant, records, received_us)

    monkeypatch.setattr(Store, "write_log", dies_once)
    upload(stack.store, "acme", "f.jsonl", body)
    stack.pump.ingest()

    assert calls["n"] > 3
    assert _log_count(stack, "acme") >= good  # the dead stretch is read again: a few versions twice, none lost
    assert len(stack.store.list_quarantine("acme", 10_000)) >= bad
    state = stack.store.get_state("acme")
    for tenant in ("acme", "whole"):
        aggregate.refresh_tenant(stack.store, tenant)
    assert _answers("acme", volatile=False) == _answers("whole", volatile=False)
    assert int(stack.store.get_state("acme").cursor) == int(state.next_seq)  # the dead block did not hold it back


def test_a_checkpoint_of_a_replaced_object_is_dropped(stack: Any, monkeypatch: Any) -> None:
    body, _, _ = _file("acme", gz=False)
    monkeypatch.setattr(stack.pump, "context", lambda fn: ShortLived(fn))
    key = upload(stack.store, "acme", "f.jsonl", body)
    event = handlers.s3_event(stack.store.cfg.bucket, key, len(body))
    handlers.function("ingest").handler(event, ShortLived("ingest"))  # one chunk, a checkpoint queued
    stack.store.s3.put_object(Bucket=stack.store.cfg.bucket, Key=key, Body=b"")  # replaced (its own event follows)
    stack.pump.seen.add(key)
    stack.pump.ingest()  # delivers the checkpoint: the old version is gone, nothing more is read
    bad_in_first_chunk = sum(1 for n in range(1, CHUNK_LINES + 1) if n % (BAD_EVERY + 1) == BAD_EVERY)
    assert _log_count(stack, "acme") == CHUNK_LINES - bad_in_first_chunk
