"""The viewer's routes on the read function (public files, a stage-aware page), Swagger UI,
and the dimensions the viewer's pickers are fed from."""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import quote

from mediana.domain.definitions import REPORTS
from mediana_cli import handlers
from mediana_cli.local import call_api, upload
from test_pipeline_moto import _today, get, lines


def _invoke(path: str, stage: str = "$default", headers: dict[str, str] | None = None) -> dict[str, Any]:
    event = handlers.http_event("GET", path if stage == "$default" else f"/{stage}{path}", headers=headers)
    event["requestContext"]["stage"] = stage
    return handlers.invoke("api", event, handlers.FakeContext("api", timeout_s=29))


def test_the_page_and_its_files_are_public_and_nothing_else_is_served(stack: Any) -> None:
    status, headers, body = call_api("GET", "/", {})
    assert status == 200 and headers["Content-Type"].startswith("text/html") and '<base href="/">' in str(body)
    for name, kind in (("app.js", "text/javascript"), ("charts.js", "text/javascript"), ("style.css", "text/css")):
        status, headers, body = call_api("GET", f"/viewer/{name}", {})
        assert status == 200 and headers["Content-Type"].startswith(kind), name
    for name in ("__init__.py", "..%2F__init__.py", "missing.js", ".hidden.js"):
        status, _, body = call_api("GET", f"/viewer/{name}", {})
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found", name
    zipped = _invoke("/viewer/app.js", headers={"Accept-Encoding": "gzip"})
    assert zipped["isBase64Encoded"] and zipped["headers"]["Content-Encoding"] == "gzip"


def test_behind_a_named_stage_the_page_keeps_its_urls_under_the_stage(stack: Any) -> None:
    page = _invoke("/", stage="prod")
    assert page["statusCode"] == 200 and '<base href="/prod/">' in page["body"]


def test_swagger_ui_is_served_whole_without_a_cdn(stack: Any) -> None:
    status, headers, body = call_api("GET", "/v1/docs", {"Accept-Encoding": "gzip"})
    html = gzip.decompress(body).decode() if isinstance(body, bytes) else body
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in html and "unpkg.com" not in html and "/v1/reports/{report_id}" in html


def test_dimensions_list_what_each_filter_takes(stack: Any) -> None:
    upload(stack.store, "acme", "a.jsonl", lines("acme", _today(), "30"))
    stack.pump.drain()
    status, _, dims = get("/v1/dimensions", "acme")
    assert status == 200
    assert {d["value"] for d in dims["channel"]} >= {"whatsapp", "messenger"}
    assert {d["value"] for d in dims["outcome"]} >= {"answered", "no_answer"}
    assert dims["owner"][-1] == {"value": "none", "label": "(unassigned)"}  # after the users, who carry "active"
    assert dims["group"][-1] == {"value": "none", "label": "(no group)"}
    origins = get("/v1/reports/origins?range=last_365_days", "acme")[2]["values"]["rows"]
    assert [d["value"] for d in dims["origin"]] == [row["origin"] for row in origins] and origins
    for dimension, values in dims.items():  # every value offered is one the reports accept
        report = next(r for r in REPORTS.values() if dimension in r.filters)
        for value in values:
            assert get(f"/v1/reports/{report.id}?{dimension}={quote(value['value'])}", "acme")[0] == 200, value
    assert get("/v1/dimensions", "globex")[2]["origin"] == []  # another tenant sees none of acme's


def test_pickers_and_reports_carry_names_beside_ids(stack: Any) -> None:
    """Owners come with their active flag; a report filtered by group or owner names each id
    it was filtered by, from the directory, in the same read (no extra request)."""
    directory: list[dict[str, Any]] = [
        {"kind": "user", "id": "u-ana", "name": "Ana", "updated_at": "2026-01-01T00:00:00Z"},
        {"kind": "user", "id": "u-old", "name": "Olga", "active": False, "updated_at": "2026-01-01T00:00:00Z"},
        {"kind": "group", "id": "g-sales", "name": "Sales", "updated_at": "2026-01-01T00:00:00Z"},
    ]
    extra = "\n".join(json.dumps({"tenant_id": "acme", **rec}) for rec in directory).encode()
    upload(stack.store, "acme", "a.jsonl", lines("acme", _today(), "30") + b"\n" + extra)
    stack.pump.drain()
    owners = {d["value"]: d for d in get("/v1/dimensions", "acme")[2]["owner"]}
    assert owners["u-ana"] == {"value": "u-ana", "label": "Ana", "active": True}
    assert owners["u-old"] == {"value": "u-old", "label": "Olga", "active": False}
    status, _, body = get("/v1/reports/new-conversations?group=g-sales,none&owner=u-ana,u-ghost", "acme")
    assert status == 200, body
    assert body["filter_labels"] == {
        "group": {"g-sales": "Sales", "none": "(no group)"},
        "owner": {"u-ana": "Ana", "u-ghost": "u-ghost"},  # no such user: its id
    }
    plain = get("/v1/reports/new-conversations", "acme")[2]
    assert plain["filter_labels"] == {} and plain["values"]["count"] == body["values"]["count"] == 1
    other = get("/v1/reports/new-conversations?owner=u-ana", "globex")[2]
    assert other["filter_labels"] == {"owner": {"u-ana": "u-ana"}}  # globex's directory: none of acme's names
