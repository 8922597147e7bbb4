"""The local stack serves the browser from a threaded HTTP server while tests, the CLI and the
background pump call the same handlers. Lambda runs one invocation at a time in a container,
and the handlers keep per-invocation state in module globals (Powertools' resolver keeps the
current event), so the local stack must too: concurrent requests never see each other's
event -- another tenant's token, or another client's Accept-Encoding."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mediana.services.auth import mint
from mediana_cli.local import call_api, upload
from test_pipeline_moto import _today, lines

REPORT, CATALOGUE = "/v1/reports/response-time?range=today", "/v1/reports"  # the catalogue is gzipped when asked


def _ask(tenant: str, path: str, zipped: bool) -> tuple[tuple[str, str, bool], Any]:
    headers = {"Authorization": f"Bearer {mint(tenant, ['viewer'])}"}
    if zipped:
        headers["Accept-Encoding"] = "gzip"
    status, out, body = call_api("GET", path, headers)
    assert status == 200, body
    came_zipped = out.get("Content-Encoding") == "gzip"
    if came_zipped:
        assert isinstance(body, bytes)
        body = gzip.decompress(body)
    return (tenant, path, came_zipped), json.loads(body)


def test_concurrent_requests_get_their_own_answers(stack: Any) -> None:
    day = _today()
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30"))
    upload(stack.store, "globex", "g.jsonl", lines("globex", day, "00"))
    stack.pump.drain()
    asks = [("acme", CATALOGUE, True), ("globex", REPORT, False), ("acme", REPORT, False), ("globex", CATALOGUE, False)]
    alone = dict(_ask(*ask) for ask in asks)
    assert list(alone) == asks  # asked one at a time, each is gzipped as asked
    assert alone[("acme", REPORT, False)]["values"] != alone[("globex", REPORT, False)]["values"]  # told apart
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda ask: _ask(*ask), asks * 40))
    assert [ask for ask, _ in answers] == asks * 40  # gzip only where asked
    assert all(body.get("values") == alone[ask].get("values") for ask, body in answers)  # each its own tenant's
