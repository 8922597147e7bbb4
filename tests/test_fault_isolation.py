"""Nothing a record, a door or another tenant does stops a tenant (through the real
handlers on moto): poison isolated, FIFO groups independent, state created right by
whichever door comes first, bad dates a 400."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import Model, normalise
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediana.domain import batch
from mediana.domain.definitions import REPORTS
from mediana.services.auth import mint
from mediana_cli import handlers
from mediana_cli.local import call_api, upload
from test_pipeline_moto import _today, get, lines

EVENTS = Path(__file__).resolve().parents[1] / "events"


def test_a_record_whose_aggregation_raises_is_quarantined_and_the_tenant_goes_on(stack: Any, monkeypatch: Any) -> None:
    real = batch.contributions

    def fragile(worlds: Any, tz: str) -> Any:
        worlds = list(worlds)
        if any((w.get("contact") or {}).get("origin") == "POISON" for w in worlds):
            raise ValueError("boom")
        return real(worlds, tz)

    monkeypatch.setattr(batch, "contributions", fragile)
    day = _today()
    poison = {
        "tenant_id": "acme",
        "kind": "contact",
        "id": "ct-poison",
        "updated_at": "2026-03-02T12:00:00Z",
        "created_at": f"{day}T12:00:00Z",
        "origin": "POISON",
    }
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30") + b"\n" + json.dumps(poison).encode())
    stack.pump.drain()
    body = get("/v1/reports/response-time?range=today", "acme")[2]
    assert body["values"] == {"median_seconds": 390, "count": 1}  # the other lines were folded
    assert get("/v1/reports/new-contacts?range=today", "acme")[2]["values"]["count"] == 1
    quarantined = stack.store.list_quarantine("acme")
    assert [(q["source"], q["field"]) for q in quarantined] == [("log", "(record)")]
    assert "aggregation failed: ValueError: boom" in quarantined[0]["reason"]
    assert json.loads(quarantined[0]["raw"])["id"] == "ct-poison"
    state = stack.store.get_state("acme")
    assert int(state.cursor) == int(state.next_seq) and not state.pending and not state.lease_owner


def _sqs_event() -> dict[str, Any]:
    event = json.loads((EVENTS / "sqs-refresh.json").read_text())
    second = json.loads(json.dumps(event["Records"][0]))
    second.update(messageId="m-3", body=json.dumps({"tenant_id": "acme", "reason": "continue"}))
    event["Records"].insert(1, second)  # acme, acme, globex
    return event


def test_one_failing_tenant_never_fails_another_in_its_batch(stack: Any, monkeypatch: Any) -> None:
    day = _today()
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30"))
    upload(stack.store, "globex", "g.jsonl", lines("globex", day, "00"))
    stack.pump.ingest()
    fn = handlers.function("aggregator")
    real = fn.refresh_tenant

    def failing(store: Any, tenant: str, **kwargs: Any) -> Any:
        if tenant == "acme":
            raise RuntimeError("acme's storage is on fire")
        return real(store, tenant, **kwargs)

    monkeypatch.setattr(fn, "refresh_tenant", failing)
    logged = io.StringIO()
    monkeypatch.setattr(fn.logger.registered_handler, "stream", logged)
    out = fn.handler(_sqs_event(), handlers.FakeContext("aggregator"))
    # acme's first message failed, its second is returned unprocessed (order kept); globex went on
    assert out == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}
    assert get("/v1/reports/response-time?range=today", "globex")[2]["values"] == {"median_seconds": 360, "count": 1}
    lines_logged = [json.loads(line) for line in logged.getvalue().splitlines()]
    errors = [e for e in lines_logged if e["level"] == "ERROR"]
    assert [(e["tenant_id"], e["reason"]) for e in errors] == [("acme", "RuntimeError: acme's storage is on fire")]


def test_the_last_failed_receive_parks_the_tenant_visibly_and_success_clears_it(stack: Any, monkeypatch: Any) -> None:
    upload(stack.store, "acme", "a.jsonl", lines("acme", _today(), "30"))
    stack.pump.ingest()
    fn = handlers.function("aggregator")
    real = fn.refresh_tenant
    monkeypatch.setattr(fn, "refresh_tenant", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("still broken")))
    event = json.loads((EVENTS / "sqs-refresh.json").read_text())
    event["Records"] = event["Records"][:1]
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"  # the queue's maxReceiveCount
    assert fn.handler(event, handlers.FakeContext("aggregator"))["batchItemFailures"]
    state = stack.store.get_state("acme")
    assert state.failure == "RuntimeError: still broken" and state.failed_at
    monkeypatch.setattr(fn, "refresh_tenant", real)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "1"
    assert fn.handler(event, handlers.FakeContext("aggregator")) == {"batchItemFailures": []}
    assert stack.store.get_state("acme").failure is None


def test_a_refresh_before_any_data_leaves_the_tenant_working(stack: Any) -> None:
    token = mint("newco", ["admin"])
    status, _, body = call_api("POST", "/v1/refresh", {"Authorization": f"Bearer {token}"})
    assert status == 202, body
    stack.pump.drain()  # the refresh runs on a tenant with no data yet
    record = stack.store.get_refresh("newco", json.loads(body)["refresh_id"])
    assert record["status"] == "succeeded", record
    upload(stack.store, "newco", "n.jsonl", lines("newco", _today(), "30"))
    stack.pump.drain()
    assert get("/v1/reports/response-time?range=today", "newco")[2]["values"] == {"median_seconds": 390, "count": 1}
    state = stack.store.get_state("newco")
    assert int(state.cursor) == int(state.next_seq) == 5


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("from=0001-01-01&to=0001-01-01", "from"),
        ("from=1969-12-31&to=1970-01-01", "from"),
        ("from=2099-12-31&to=2100-01-02", "to"),
        ("from=20260101xx&to=2026-01-02", "from"),
        ("from=2026-01-01&to=9999-12-31", "to"),
    ],
)
def test_dates_outside_the_supported_window_are_a_400_naming_them(stack: Any, query: str, param: str) -> None:
    status, _, body = get(f"/v1/reports/new-contacts?{query}", "acme")
    assert status == 400, body
    assert body["error"]["parameter"] == param


# ---- records at the contract's edges never stop the domain ---------------------------------

EDGE_INSTANTS = st.sampled_from(
    [
        "1970-01-01T00:00:00Z",
        "1970-01-01T14:00:00+14:00",
        "1970-01-01T00:00:00.000000001Z",
        "2099-12-31T23:59:59.999999999Z",
        "2100-01-01T00:00:00Z",
        "2099-12-31T12:00:00-12:00",
    ]
) | st.integers(0, 4_102_444_800 * 10**9).map(
    lambda ns: (
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{ns % 10**9:09d}Z"
    )
)
ZONES = st.sampled_from(["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "Asia/Kathmandu"])
IDS = st.text(min_size=1, max_size=128).filter(lambda s: s.strip() != "")


@st.composite
def edge_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    cid, vid = draw(IDS), draw(IDS)
    recs: list[dict[str, Any]] = [
        {"kind": "tenant", "id": "acme", "updated_at": draw(EDGE_INSTANTS), "timezone": draw(ZONES)},
        {"kind": "user", "id": draw(IDS), "updated_at": draw(EDGE_INSTANTS), "name": draw(st.text(max_size=500))},
        {"kind": "contact", "id": cid, "updated_at": draw(EDGE_INSTANTS), "created_at": draw(EDGE_INSTANTS),
         "origin": draw(st.none() | st.text(max_size=300)), "owner_id": draw(st.none() | IDS),
         "deleted_at": draw(st.none() | EDGE_INSTANTS)},
        {"kind": "conversation", "id": vid, "updated_at": draw(EDGE_INSTANTS), "contact_id": cid,
         "channel": "sms", "created_at": draw(EDGE_INSTANTS), "closed_at": draw(st.none() | EDGE_INSTANTS)},
    ]  # fmt: skip
    for i in range(draw(st.integers(0, 4))):
        inbound = draw(st.booleans())
        recs.append(
            {"kind": "message", "id": f"m{i}", "updated_at": draw(EDGE_INSTANTS), "conversation_id": vid,
             "direction": "inbound" if inbound else "outbound", "author_type": "contact" if inbound else "advisor",
             "author_id": None if inbound else draw(IDS), "created_at": draw(EDGE_INSTANTS)}
        )  # fmt: skip
    for i in range(draw(st.integers(0, 3))):
        recs.append(
            {"kind": "interaction", "id": f"i{i}", "updated_at": draw(EDGE_INSTANTS), "contact_id": cid,
             "owner_id": draw(st.none() | IDS), "type": "call_log", "occurred_at": draw(EDGE_INSTANTS),
             "call_type": draw(st.none() | st.text(max_size=50)),
             "outcome": draw(st.sampled_from(["answered", "rejected", "failed"])),
             "duration_seconds": draw(st.none() | st.sampled_from([0, 86_400, 5e-324]) | st.floats(0, 86_400))}
        )  # fmt: skip
    return recs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_records())
def test_records_within_the_contract_at_its_edges_never_stop_aggregation(recs: list[dict[str, Any]]) -> None:
    model = Model("UTC")
    normalised = normalise(recs)  # every one satisfies the contract
    model.apply(normalised[:1])  # the tenant (its zone) first, as a first batch would adopt it
    model.tz = str(normalised[0]["timezone"])
    model.apply(normalised[1:])
    for report_id in REPORTS:
        for start, end in (("1970-01-01", "1970-12-31"), ("2099-06-01", "2100-01-01")):
            out = model.report(report_id, datetime(2100, 1, 1).date(), None, start, end)
            assert out["values"] is not None
