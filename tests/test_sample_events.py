"""Every sample event in events/ is a shape its real handler accepts (through moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mediana.services.auth import mint
from mediana_cli import handlers
from mediana_cli.local import upload
from test_pipeline_moto import _today, lines

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def with_token(event: dict[str, Any], tenant: str, role: str) -> dict[str, Any]:
    """The API events carry a placeholder where the caller's bearer token goes."""
    assert f'tenant {tenant} with roles ["{role}"]' in event["headers"]["authorization"]
    event["headers"]["authorization"] = f"Bearer {mint(tenant, [role])}"
    return event


def test_the_sample_events_run_through_their_handlers(stack: Any) -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == [
        "api-get-costs.json",
        "api-get-report.json",
        "api-post-refresh.json",
        "s3-incoming.json",
        "schedule.json",
        "sqs-ingest-continue.json",
        "sqs-refresh.json",
    ]
    store = stack.store
    key = upload(store, "acme", "2026-11-23T0915.jsonl", lines("acme", _today(), "30"))
    s3 = load("s3-incoming.json")
    s3["Records"][0]["s3"]["bucket"]["name"] = store.cfg.bucket
    s3["Records"][0]["s3"]["object"]["key"] = key
    ingested = handlers.invoke("ingest", s3, handlers.FakeContext("ingest"))
    assert ingested["files"][0]["accepted"] == 5
    # a checkpoint after line 2 of the same object (its real ETag): lines 3-5 are read again
    more = load("sqs-ingest-continue.json")
    checkpoint = json.loads(more["Records"][0]["body"])
    etag = store.s3.head_object(Bucket=store.cfg.bucket, Key=key)["ETag"]
    more["Records"][0]["body"] = json.dumps({**checkpoint, "bucket": store.cfg.bucket, "key": key, "etag": etag})
    before = int(store.get_state("acme").next_seq)
    out = handlers.invoke("ingest", more, handlers.FakeContext("ingest"))
    assert out == {"batchItemFailures": []} and int(store.get_state("acme").next_seq) == before + 3

    assert "acme" in handlers.invoke("scheduler", load("schedule.json"), handlers.FakeContext())["enqueued"]
    out = handlers.invoke("aggregator", load("sqs-refresh.json"), handlers.FakeContext("aggregator"))
    assert out == {"batchItemFailures": []}  # globex's refresh id is unknown: refreshed anyway, nothing to mark
    assert store.get_state("acme").cursor == 8  # 5 lines, then 3 of them again from the checkpoint

    api = handlers.function("api").handler
    report = api(with_token(load("api-get-report.json"), "acme", "viewer"), handlers.FakeContext("api"))
    assert report["statusCode"] == 200 and json.loads(report["body"])["report"] == "calls-per-contact"
    refresh = api(with_token(load("api-post-refresh.json"), "acme", "admin"), handlers.FakeContext("api"))
    assert refresh["statusCode"] == 202, refresh
    costs = api(with_token(load("api-get-costs.json"), "ops", "finance"), handlers.FakeContext("api"))
    assert costs["statusCode"] == 200 and costs["body"].startswith("month,tenant_id")
