"""Manual refresh and the cost ledger, through moto and the API as a client sees them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from mediana.domain.timeutil import now_s, parse_instant
from mediana.metering.meter import METER, SHARED
from mediana.metering.pricing import FIELDS
from mediana.services.auth import mint
from mediana.storage import keys
from mediana_cli import handlers
from mediana_cli.local import call_api, upload
from test_pipeline_moto import _today, lines


def api(
    method: str, path: str, tenant: str, roles: list[str], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    token = mint(tenant, roles)
    status, out, body = call_api(method, path, {"Authorization": f"Bearer {token}", **(headers or {})})
    if out.get("Content-Type", "").startswith("application/json") and body:
        return status, out, json.loads(body)
    return status, out, body


def _loaded(stack: Any, *tenants: str) -> None:
    for tenant in tenants:
        upload(stack.store, tenant, "a.jsonl", lines(tenant, _today(), "30"))
    stack.pump.drain()


def _age_cooldown(stack: Any, tenant: str, seconds: int) -> None:
    """Move the last completed refresh back in time (instead of sleeping)."""
    state = stack.store.get_state(tenant)
    stack.store.ddb.update_item(
        TableName=stack.store.cfg.state_table,
        Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
        UpdateExpression="SET last_refresh_done = :t",
        ExpressionAttributeValues={":t": {"N": str(int(state.last_refresh_done) - seconds)}},
    )


def test_refresh_is_deduplicated_tracked_and_cooled_down(stack: Any) -> None:
    _loaded(stack, "acme", "globex")
    assert api("POST", "/v1/refresh", "acme", ["viewer"])[0] == 403

    status, headers, first = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 202 and first["status"] == "queued", first
    assert headers["Location"] == f"/v1/refresh/{first['refresh_id']}"
    status, _, again = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 202 and again["refresh_id"] == first["refresh_id"]  # no second job
    assert api("GET", f"/v1/refresh/{first['refresh_id']}", "acme", ["viewer"])[2]["status"] == "queued"
    assert api("GET", f"/v1/refresh/{first['refresh_id']}", "globex", ["admin"])[0] == 404  # not globex's

    stack.pump.drain()
    status, _, done = api("GET", f"/v1/refresh/{first['refresh_id']}", "acme", ["viewer"])
    assert status == 200 and done["status"] == "succeeded", done
    assert done["started_at"] and done["finished_at"] and done["data_through"]
    assert done["requested_at"] <= done["started_at"] <= done["finished_at"]
    # nothing new arrived: the refresh still vouches for everything up to when it ran
    assert parse_instant(done["data_through"]) >= parse_instant(first["requested_at"])

    status, headers, err = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 429 and err["error"]["code"] == "cooling_down"
    assert 295 <= int(headers["Retry-After"]) <= 300  # the template's default cool-down is 300 s
    assert api("POST", "/v1/refresh", "globex", ["admin"])[0] == 202  # another tenant is not cooled down

    _age_cooldown(stack, "acme", 200)
    assert 95 <= int(api("POST", "/v1/refresh", "acme", ["admin"])[1]["Retry-After"]) <= 100
    _age_cooldown(stack, "acme", 101)
    status, _, fresh = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 202 and fresh["refresh_id"] != first["refresh_id"]
    record = stack.store.get_refresh("acme", fresh["refresh_id"])
    assert record["expires_at"] > 0  # removed by the table's TTL


def test_idempotency_key_returns_the_first_answer(stack: Any) -> None:
    _loaded(stack, "acme")
    key = {"Idempotency-Key": "spa-click-1"}
    status, _, first = api("POST", "/v1/refresh", "acme", ["admin"], key)
    assert status == 202
    stack.pump.drain()
    status, _, retry = api("POST", "/v1/refresh", "acme", ["admin"], key)
    assert status == 202 and retry == first  # the retry repeats the answer, no new job, no 429
    assert api("POST", "/v1/refresh", "acme", ["admin"], {"Idempotency-Key": "another"})[0] == 429
    assert api("POST", "/v1/refresh", "acme", ["admin"], {"Idempotency-Key": "x" * 201})[0] == 400


def test_a_failing_refresh_ends_failed_with_its_reason(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _loaded(stack, "acme")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(handlers.function("aggregator"), "refresh_tenant", broken)
    refresh_id = api("POST", "/v1/refresh", "acme", ["admin"])[2]["refresh_id"]
    stack.pump.queue()  # first attempt fails: back to queued, SQS will deliver it again
    mid = api("GET", f"/v1/refresh/{refresh_id}", "acme", ["viewer"])[2]
    assert mid["status"] == "queued" and "disk on fire" in mid["error"] and mid["attempts"] == 1
    stack.pump.drain()  # until the last allowed receive
    status, _, failed = api("GET", f"/v1/refresh/{refresh_id}", "acme", ["viewer"])
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: disk on fire", failed
    assert failed["attempts"] == stack.store.cfg.refresh_max_receives and failed["finished_at"]
    monkeypatch.undo()
    assert api("POST", "/v1/refresh", "acme", ["admin"])[0] == 202  # no cool-down after a failure


def test_refresh_from_the_command_line_waits_for_the_outcome(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mediana_cli.main import main

    _loaded(stack, "acme")
    before = api("GET", "/v1/reports/response-time?range=today", "acme", ["viewer"])[2]["values"]
    assert main(["refresh", "--tenant", "acme", "--inline", "--rebuild"]) == 0  # forget derived items, replay
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["status"] == "succeeded" and out["data_through"]
    assert api("GET", "/v1/reports/response-time?range=today", "acme", ["viewer"])[2]["values"] == before
    # within the tenant's cool-down an operator's refresh still runs (issue 8: not rate-limited like the button)
    assert main(["refresh", "--tenant", "acme", "--inline"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "succeeded"
    assert api("POST", "/v1/refresh", "acme", ["admin"])[0] == 429  # the tenant's button still cools down


def test_costs_per_tenant_add_up_and_are_finance_only(stack: Any) -> None:
    METER.counts.clear()  # the ledger starts empty with this test's tables
    _loaded(stack, "acme", "globex")
    for _ in range(3):
        api("GET", "/v1/reports/response-time", "acme", ["viewer"])
    METER.flush(stack.store)
    month = _today()[:7]
    items = stack.store.month_costs(month)
    assert {i["tenant_id"] for i in items} == {"acme", "globex", SHARED}  # the scheduler's fan-out: its own row

    assert api("GET", "/v1/costs", "acme", ["viewer"])[0] == 403
    assert api("GET", "/v1/costs", "acme", ["admin"])[0] == 403
    status, _, report = api("GET", f"/v1/costs?month={month}", "ops", ["finance"])
    assert status == 200, report
    rows = {r["tenant_id"]: r for r in report["rows"]}
    acme = {q["line"]: q["quantity"] for q in rows["acme"]["lines"]}
    assert acme["api_requests"] == 3 and acme["ddb_rru"] > 0 and acme["ddb_wru"] > 0
    assert acme["lambda_gb_s"] > 0 and acme["log_bytes"] > 0 and acme["s3_byte_months"] > 0
    assert rows["globex"]["services_usd"]["dynamodb"] > 0 and "api_requests" not in {
        q["line"] for q in rows["globex"]["lines"]
    }
    # the rows add up to the total, line by line, and the total is everything in the ledger
    total = report["total"]
    assert sum(r["total_usd"] for r in report["rows"]) == pytest.approx(total["total_usd"], abs=1e-5)
    for field in FIELDS:
        parts = [q["quantity"] for r in report["rows"] for q in r["lines"] if q["line"] == field]
        line = [q["quantity"] for q in total["lines"] if q["line"] == field]
        assert sum(parts) == pytest.approx(sum(line), abs=1e-5)
        assert sum(line) == pytest.approx(sum(float(i.get(field, 0)) for i in items), abs=1e-5)

    status, headers, text = api("GET", f"/v1/costs?month={month}&format=csv", "ops", ["finance"])
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(text)))
    assert table[-1]["tenant_id"] == "total" and {r["tenant_id"] for r in table} >= {"acme", "globex", SHARED}
    assert float(table[-1]["total_usd"]) == pytest.approx(total["total_usd"], abs=1e-5)
    for query, param in (("month=2026-13", "month"), ("month=nov", "month"), ("format=xml", "format")):
        status, _, err = api("GET", f"/v1/costs?{query}", "ops", ["finance"])
        assert status == 400 and err["error"]["parameter"] == param, err


def test_operator_commands_costs_and_tenants(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mediana_cli.main import main

    _loaded(stack, "acme")
    METER.flush(stack.store)
    month = _today()[:7]
    assert main(["costs", "--month", month]) == 0
    out = capsys.readouterr().out
    assert "acme" in out and SHARED in out and "total" in out.splitlines()[-1]
    assert main(["costs", "--month", month, "--csv"]) == 0
    assert capsys.readouterr().out.startswith("month,tenant_id,dynamodb_usd")
    assert main(["costs", "--month", "2026-13"]) == 2
    assert main(["tenants"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    acme = next(r for r in rows if r["tenant_id"] == "acme")
    assert acme["behind"] == 0 and acme["data_through"] and acme["quarantined"] == 0


def test_concurrent_retries_with_one_idempotency_key_get_409_not_500(stack: Any, monkeypatch: Any) -> None:
    import threading
    import time

    _loaded(stack, "acme")
    fn = handlers.function("api")
    real = fn.request_refresh

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)  # the first request is still being answered when the others arrive
        return real(*args, **kwargs)

    monkeypatch.setattr(fn, "request_refresh", slow)
    answers: list[tuple[int, dict[str, str], Any]] = []

    def click() -> None:
        answers.append(api("POST", "/v1/refresh", "acme", ["admin"], {"Idempotency-Key": "double-click"}))

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(status for status, _, _ in answers)
    assert len(statuses) == 6 and set(statuses) <= {202, 409} and statuses.count(202) >= 1, statuses
    for status, headers, body in answers:
        if status == 409:
            assert headers["Retry-After"] == "1" and body["error"]["code"] == "in_progress"
    ids = {body["refresh_id"] for status, _, body in answers if status == 202}
    assert len(ids) == 1  # one refresh, however many clicks


def test_an_operators_refresh_is_not_throttled_by_the_tenants_cooldown(stack: Any) -> None:
    from mediana.services import refresh

    _loaded(stack, "acme")
    status, _, first = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 202
    stack.pump.drain()
    assert api("POST", "/v1/refresh", "acme", ["admin"])[0] == 429  # the tenant's button cools down
    answer = refresh.request_refresh(stack.store, "acme", now_s(), "cli", cooldown=False)
    assert answer.status == 202 and answer.body["refresh_id"] != first["refresh_id"]
    stack.pump.drain()
    assert stack.store.get_refresh("acme", answer.body["refresh_id"])["status"] == "succeeded"


def test_a_refresh_whose_attempt_died_with_its_lambda_is_failed_not_running_forever(stack: Any) -> None:
    from mediana.services import refresh

    _loaded(stack, "acme")
    status, _, first = api("POST", "/v1/refresh", "acme", ["admin"])
    long_ago = int(__import__("time").time()) - refresh.ATTEMPT_LIMIT_S - 5
    assert refresh.start(stack.store, "acme", first["refresh_id"], long_ago, 1)  # then the Lambda timed out
    shown = api("GET", f"/v1/refresh/{first['refresh_id']}", "acme", ["viewer"])[2]
    assert shown["status"] == "failed" and "ran out of time" in shown["error"]
    status, _, again = api("POST", "/v1/refresh", "acme", ["admin"])  # not the dead one
    assert status == 202 and again["refresh_id"] != first["refresh_id"] and again["status"] == "queued"
    assert stack.store.get_refresh("acme", first["refresh_id"])["status"] == "failed"
    stack.pump.drain()
    assert stack.store.get_refresh("acme", again["refresh_id"])["status"] == "succeeded"


def test_a_tenant_that_exists_only_in_a_token_gets_no_cost_row(stack: Any) -> None:
    """Reads by a token whose tenant never sent data nor asked a refresh are the platform's:
    booked to the shared row, like the catalogue any tenant reads."""
    METER.counts.clear()
    _loaded(stack, "acme")
    for path in ("/v1/reports", "/v1/reports/response-time", "/v1/dimensions", "/v1/refresh/r-none"):
        assert api("GET", path, "ghost", ["viewer"])[0] in (200, 404), path
    api("GET", "/v1/reports/response-time", "acme", ["viewer"])
    METER.flush(stack.store)
    items = stack.store.month_costs(_today()[:7])
    tenants = {i["tenant_id"] for i in items}
    assert "ghost" not in tenants and {"acme", SHARED} <= tenants
    shared = sum(i.get("api_requests", 0) for i in items if i["tenant_id"] == SHARED)
    assert shared >= 4  # ghost's four reads are counted, on the shared row
