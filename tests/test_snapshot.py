"""The local stack's kept state: saved, wiped, loaded, and every report reads the same
(binary items included), and files already ingested are not ingested again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from mediana.domain.definitions import REPORTS
from mediana_cli import snapshot
from mediana_cli.local import Pump, upload
from mediana_cli.template import create_resources
from test_pipeline_moto import _today, get, lines


def _all_reports() -> dict[str, Any]:
    return {rid: get(f"/v1/reports/{rid}?range=last_30_days", "acme")[2] for rid in REPORTS}


def test_a_restart_from_the_snapshot_serves_the_same_reports(stack: Any, moto_endpoint: str, tmp_path: Path) -> None:
    upload(stack.store, "acme", "a.jsonl", lines("acme", _today(), "30"))
    stack.pump.drain()
    before = _all_reports()
    assert before["new-contacts"]["values"]["count"] == 1
    path = tmp_path / "snapshot.json.gz"
    kept = snapshot.save(stack.store, stack.pump.seen, path)
    assert kept > 5

    requests.post(f"{moto_endpoint}/moto-api/reset")  # everything gone, as after a stop
    create_resources(moto_endpoint, "us-east-1")
    assert get("/v1/reports/new-contacts?range=last_30_days", "acme")[2]["values"]["count"] == 0

    pump = Pump(stack.store)
    pump.seen |= snapshot.load(stack.store, path) or set()
    assert _all_reports() == before
    assert pump.ingest() == 0  # the dropped file is back in the bucket, but was ingested already
    assert snapshot.load(stack.store, tmp_path / "none.json.gz") is None
