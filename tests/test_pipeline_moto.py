"""Through a moto server over HTTP, with the real handlers and event shapes:
ingest -> schedule -> aggregate -> API, for two tenants."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from mediana.domain.definitions import REPORTS
from mediana.services.auth import TokenRules, local_secret, mint, verify
from mediana.services.schemas import ReportResponse
from mediana_cli.local import call_api, upload

GOOD: list[dict[str, Any]] = [
    {"kind": "tenant", "id": "{t}", "updated_at": "2026-01-01T00:00:00Z", "timezone": "America/Argentina/Buenos_Aires"},
    {
        "kind": "contact",
        "id": "ct-1",
        "updated_at": "2026-03-02T12:00:00Z",
        "created_at": "{day}T11:58:00-03:00",
        "origin": "Facebook Ads",
        "entry_group_id": "g-sales",
        "group_id": "g-sales",
        "owner_id": "u-ana",
    },
    {
        "kind": "conversation",
        "id": "cv-1",
        "updated_at": "2026-03-02T12:00:00Z",
        "contact_id": "ct-1",
        "channel": "whatsapp",
        "created_at": "{day}T14:58:00Z",
        "closed_at": None,
        "group_id": "g-sales",
        "owner_id": "u-ana",
    },
    {
        "kind": "message",
        "id": "m-1",
        "updated_at": "2026-03-02T12:00:00Z",
        "conversation_id": "cv-1",
        "direction": "inbound",
        "author_type": "contact",
        "created_at": "{day}T14:58:00Z",
    },
    {
        "kind": "message",
        "id": "m-2",
        "updated_at": "2026-03-02T12:00:00Z",
        "conversation_id": "cv-1",
        "direction": "outbound",
        "author_type": "advisor",
        "author_id": "u-ana",
        "created_at": "{day}T15:04:{sec}Z",
    },
]


def lines(tenant: str, day: str, sec: str) -> bytes:
    out = []
    for rec in GOOD:
        text = json.dumps({"tenant_id": tenant, **rec}).replace("{t}", tenant).replace("{day}", day)
        out.append(text.replace("{sec}", sec))
    return "\n".join(out).encode()


def get(
    path: str, tenant: str, roles: list[str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    token = mint(tenant, roles or ["viewer"])
    status, out_headers, body = call_api("GET", path, {"Authorization": f"Bearer {token}", **(headers or {})})
    return status, out_headers, (json.loads(body) if body else None)


def _today() -> str:
    from mediana.domain.timeutil import local_today

    return local_today("America/Argentina/Buenos_Aires").isoformat()


def test_two_tenants_end_to_end_with_isolation_quarantine_and_errors(stack: Any) -> None:
    day = _today()
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30") + b"\n{broken json\n")
    upload(stack.store, "globex", "g.jsonl", lines("globex", day, "00").replace(b'"acme"', b'"x"'))
    stack.pump.drain()

    status, _, body = get("/v1/reports/response-time?range=today", "acme")
    assert status == 200, body
    assert body["values"] == {"median_seconds": 390, "count": 1}
    assert body["source"] == "preset" and body["data_through"] and body["computed_at"]
    status, _, other = get("/v1/reports/response-time?range=today", "globex")
    assert other["values"] == {"median_seconds": 360, "count": 1}  # globex's own numbers, never acme's

    custom = get(f"/v1/reports/response-time?from={day}&to={day}", "acme")[2]
    assert custom["values"] == body["values"] and custom["source"] == "days"

    quarantined = stack.store.list_quarantine("acme")
    assert [(q["line"], q["field"]) for q in quarantined] == [(6, "(line)")]
    assert "not valid JSON" in quarantined[0]["reason"]

    for query, param in (
        ("range=forever", "range"),
        ("from=2026-01-01", "to"),
        ("channel=fax", "channel"),
        ("from=2025-01-01&to=2026-03-01", "to"),
        ("bogus=1", "bogus"),
        ("from=2026-13-01&to=2026-13-02", "from"),
    ):
        status, _, err = get(f"/v1/reports/new-conversations?{query}", "acme")
        assert status == 400 and err["error"]["parameter"] == param, (query, err)
    status, _, err = get("/v1/reports/new-conversations?range=today&range=yesterday", "acme")
    assert status == 400 and err["error"]["message"] == "range: give exactly one value", err
    status, _, err = get("/v1/reports/new-contacts?channel=whatsapp", "acme")
    assert status == 400 and err["error"]["parameter"] == "channel"
    assert get("/v1/reports/nope", "acme")[0] == 404
    assert call_api("GET", "/v1/reports", {})[0] == 401
    assert call_api("GET", "/v1/reports", {"Authorization": "Bearer forged.token.here"})[0] == 401


def test_etag_304_catalogue_and_openapi(stack: Any) -> None:
    status, headers, body = get("/v1/reports", "acme")
    assert status == 200 and [r["id"] for r in body["reports"]] == list(REPORTS)
    assert len(body["reports"]) == 12
    by_id = {r["id"]: r for r in body["reports"]}
    assert by_id["calls-per-contact"]["default_range"] == "last_365_days"
    assert by_id["calls-per-contact"]["filters"] == ["owner", "call_type", "outcome"]
    assert all(r["title"]["es"] and r["title"]["en"] for r in body["reports"])
    status, _, _ = get("/v1/reports", "acme", headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    status, _, doc = (
        call_api("GET", "/v1/openapi.json", {})[0],
        None,
        json.loads(call_api("GET", "/v1/openapi.json", {})[2]),
    )
    assert status == 200 and "/v1/reports/{report_id}" in doc["paths"]
    assert {"/v1/refresh", "/v1/refresh/{refresh_id}", "/v1/costs"} <= set(doc["paths"])
    assert "429" in doc["paths"]["/v1/refresh"]["post"]["responses"]
    params = {p["name"] for p in doc["paths"]["/v1/reports/{report_id}"]["get"]["parameters"]}
    assert {"range", "from", "to", "origin", "group", "channel", "owner", "call_type", "outcome"} <= params
    # every report's response shape is in the document, discriminated by its id
    ok = doc["paths"]["/v1/reports/{report_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    schemas = doc["components"]["schemas"]
    union = schemas[ok["schema"]["$ref"].rsplit("/", 1)[1]]
    assert len(union["oneOf"]) == len(REPORTS)
    assert set(union["discriminator"]["mapping"]) == set(REPORTS)
    assert "contacts_called" in schemas["PerContact"]["properties"]
    assert "median_seconds" in schemas["MedianValues"]["properties"]


def test_late_record_is_reflected_and_replay_is_noop(stack: Any) -> None:
    day = _today()
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30"))
    stack.pump.drain()
    late = {
        "tenant_id": "acme",
        "kind": "message",
        "id": "m-0",
        "updated_at": "2026-01-01T00:00:00Z",
        "conversation_id": "cv-1",
        "direction": "outbound",
        "author_type": "advisor",
        "author_id": "u-bo",
        "created_at": f"{day}T15:00:00Z",
    }
    upload(stack.store, "acme", "late.jsonl", json.dumps(late).encode() + b"\n" + lines("acme", day, "30"))
    stack.pump.drain()
    body = get("/v1/reports/response-time?range=today", "acme")[2]
    assert body["values"] == {"median_seconds": 120, "count": 1}  # the late reply ends the wait first
    state = stack.store.get_state("acme")
    assert int(state.cursor) == int(state.next_seq) and not state.pending


def test_crash_after_journal_is_replayed_exactly_once(stack: Any, monkeypatch: Any) -> None:
    from mediana.services import aggregate

    day = _today()
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30"))
    stack.pump.ingest()
    calls = {"n": 0}
    real = aggregate._apply

    def crash_once(store: Any, tenant: str, journal: dict[str, Any]) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            store.put_docs(
                __import__("mediana.storage.keys").storage.keys.days_pk(tenant, 0),
                {k: v[0] for k, v in list(journal["days"].items())[:1]},
            )
            raise RuntimeError("crash mid-apply")
        return real(store, tenant, journal)

    monkeypatch.setattr(aggregate, "_apply", crash_once)
    try:
        aggregate.refresh_tenant(stack.store, "acme")
    except RuntimeError:
        pass
    assert stack.store.get_state("acme").pending
    report = aggregate.refresh_tenant(stack.store, "acme")
    assert not report.idle
    body = get("/v1/reports/response-time?range=today", "acme")[2]
    assert body["values"] == {"median_seconds": 390, "count": 1}
    assert aggregate.refresh_tenant(stack.store, "acme").idle


def test_idle_tenant_is_not_enqueued_and_costs_one_read(stack: Any) -> None:
    from mediana.services import aggregate
    from mediana.services.scheduling import schedule

    upload(stack.store, "acme", "a.jsonl", lines("acme", _today(), "30"))
    stack.pump.drain()
    assert schedule(stack.store).enqueued == []  # not due until local midnight
    counted: list[str] = []
    import botocore.client

    real = botocore.client.BaseClient._make_api_call

    def counting(self: Any, name: str, params: Any) -> Any:
        counted.append(name)
        return real(self, name, params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        report = aggregate.refresh_tenant(stack.store, "acme")
    finally:
        botocore.client.BaseClient._make_api_call = real  # type: ignore[method-assign]
    assert report.idle
    assert counted.count("GetItem") == 1 and "Query" not in counted and "BatchGetItem" not in counted


def test_read_function_never_imports_pandas() -> None:
    code = (
        "import sys; sys.path[:0]=['shared','cli'];"
        "from mediana_cli.handlers import function; function('api');"
        "import mediana.services.readapi;"
        "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules, 'pandas imported'"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def test_local_tokens_verify_and_reject_tampering() -> None:
    rules = TokenRules(secret=local_secret())
    token = mint("acme", ["viewer"])
    assert verify(token, rules)["tenant_id"] == "acme"
    head, body, sig = token.split(".")
    import base64

    forged = base64.urlsafe_b64encode(json.dumps({"tenant_id": "globex"}).encode()).rstrip(b"=").decode()
    from mediana.services.auth import AuthError

    try:
        verify(f"{head}.{forged}.{sig}", rules)
        raise AssertionError("forged token accepted")
    except AuthError as exc:
        assert exc.status == 401


def _interactions(tenant: str, day: str, calls: int) -> bytes:
    recs: list[dict[str, Any]] = [
        {"kind": "user", "id": "u-ana", "updated_at": "2026-01-01T00:00:00Z", "name": f"Ana of {tenant}"},
        {"kind": "user", "id": "u-bo", "updated_at": "2026-01-01T00:00:00Z", "name": "Bo"},
    ]
    for i in range(calls):
        recs.append(
            {
                "kind": "interaction",
                "id": f"call-{i}",
                "updated_at": "2026-03-02T12:00:00Z",
                "contact_id": "ct-1",
                "owner_id": "u-ana",
                "type": "call_log",
                "occurred_at": f"{day}T15:0{i}:00Z",
                "call_type": "demo",
                "outcome": "answered",
                "duration_seconds": 60 * (i + 1),
            }
        )
    recs.append(
        {
            "kind": "interaction",
            "id": "mail-1",
            "updated_at": "2026-03-02T12:00:00Z",
            "contact_id": "ct-1",
            "owner_id": None,
            "type": "campaign_email",
            "occurred_at": f"{day}T16:00:00Z",
        }
    )
    return "\n".join(json.dumps({"tenant_id": tenant, **r}) for r in recs).encode()


def test_interaction_reports_through_the_api_for_two_tenants(stack: Any) -> None:
    day = _today()
    upload(stack.store, "acme", "a.jsonl", lines("acme", day, "30") + b"\n" + _interactions("acme", day, 3))
    upload(stack.store, "globex", "g.jsonl", lines("globex", day, "00") + b"\n" + _interactions("globex", day, 1))
    stack.pump.drain()

    status, _, body = get("/v1/reports/calls-per-contact", "acme")
    assert status == 200, body
    assert body["range"]["preset"] == "last_365_days" and body["source"] == "preset"
    assert body["values"]["owners"][0] == {
        "owner_id": "u-ana",
        "name": "Ana of acme",
        "calls": 3,
        "contacts_called": 1,
        "calls_per_contact": 3.0,
    }
    assert [r["owner_id"] for r in body["values"]["owners"]] == ["u-ana", "u-bo"]  # Bo: active, no calls
    assert get("/v1/reports/calls-per-contact", "globex")[2]["values"]["total"]["calls"] == 1
    for report_id in REPORTS:  # every report answers in its documented shape
        status, _, doc = get(f"/v1/reports/{report_id}", "acme")
        assert status == 200 and ReportResponse.model_validate(doc).root.report == report_id  # type: ignore[attr-defined]  # a union built at import

    custom = get(f"/v1/reports/call-duration-by-type?from={day}&to={day}&call_type=demo", "acme")[2]
    assert custom["source"] == "days"
    assert custom["values"]["total"] == {"calls": 3, "contacts_called": 1, "avg_duration_minutes": 2.0}
    touches = get("/v1/reports/touches-per-user?owner=none", "acme")[2]["values"]
    assert touches["owners"] == [
        {
            "owner_id": None,
            "name": "unassigned",
            "contacts": 0,
            "calls": 0,
            "emails": 1,
            "whatsapp_conversations": 0,
            "communications": 1,
            "communications_per_contact": None,
        }
    ]
    assert touches["total"]["contacts"] == 0  # ct-1 is Ana's: filtered out
    by_type = get("/v1/reports/interactions-by-type?range=today", "acme")[2]["values"]
    assert by_type["total"] == 4 and len(by_type["by_type"]) == 11
    emails = get("/v1/reports/emails-per-contact?range=last_7_days", "acme")[2]
    assert emails["values"]["campaign_emails_per_contact"] == 1.0

    for query, param in (("outcome=maybe", "outcome"), ("channel=whatsapp", "channel"), ("origin=x", "origin")):
        status, _, err = get(f"/v1/reports/calls-per-contact?{query}", "acme")
        assert status == 400 and err["error"]["parameter"] == param, (query, err)
    status, _, err = get("/v1/reports/emails-per-contact?call_type=demo", "acme")
    assert status == 400 and err["error"]["parameter"] == "call_type"


def test_the_scheduler_sends_ten_to_a_request_and_a_refused_tenant_stays_due(stack: Any, monkeypatch: Any) -> None:
    from mediana.domain.timeutil import now_s
    from mediana.services.scheduling import schedule

    now = now_s()
    tenants = [f"t{i:02d}" for i in range(25)]
    for tenant in tenants:
        stack.store.mark_due(tenant, now - 1)
    real = stack.store.sqs.send_message_batch
    batches: list[int] = []

    def refusing_one(**kwargs: Any) -> Any:
        batches.append(len(kwargs["Entries"]))
        entries = [e for e in kwargs["Entries"] if e["MessageGroupId"] != "t13"]
        out = real(**{**kwargs, "Entries": entries})
        refused = [e for e in kwargs["Entries"] if e["MessageGroupId"] == "t13"]
        return {**out, "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in refused]}

    monkeypatch.setattr(stack.store.sqs, "send_message_batch", refusing_one)
    tick = schedule(stack.store, now)
    assert batches == [10, 10, 5]
    assert tick.refused == ["t13"] and sorted(tick.enqueued) == [t for t in tenants if t != "t13"]
    monkeypatch.setattr(stack.store.sqs, "send_message_batch", real)
    assert "t13" in schedule(stack.store, now).enqueued  # still due: the next tick sends it
    bodies = []
    while out := stack.store.sqs.receive_message(QueueUrl=stack.store.cfg.queue_url, MaxNumberOfMessages=10):
        if not out.get("Messages"):
            break
        for message in out["Messages"]:
            bodies.append(json.loads(message["Body"])["tenant_id"])
            stack.store.sqs.delete_message(QueueUrl=stack.store.cfg.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(set(bodies)) == tenants  # every due tenant reached the queue
