"""The report viewer in a real browser (Debian's Chromium, headless, driven by Playwright)
against the local stack: every report opened, a range and a filter changed, and each number
drawn (cards, bars, heatmap cells, table cells) equal to the API's JSON for the same query.
The refresh button and the finance costs page too. Screenshots: build/screenshots/."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import ROOT, _free_port
from mediana.domain.timeutil import now_utc
from mediana.services.auth import mint
from mediana_cli.demo import generate, write_jsonl
from mediana_cli.local import call_api, serve_api, upload
from mediana_cli.main import demo_tokens

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "build" / "screenshots"
FLAGS = [  # as a root sandbox needs, and with nothing reaching for Google's hosts
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def fmt(value: Any) -> str:
    """What the viewer's fmt() prints."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def api_json(path: str, tenant: str, roles: list[str]) -> Any:
    status, _, body = call_api("GET", path, {"Authorization": f"Bearer {mint(tenant, roles)}"})
    assert status == 200, (path, status, body)
    return json.loads(body)


@pytest.fixture
def viewer(stack: Any) -> Iterator[tuple[str, Any]]:
    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs it (apt-get install chromium)"
    for i, tenant in enumerate(("acme", "globex")):
        body = "\n".join(write_jsonl(generate(tenant, 21, seed=3 + i, per_day=12))).encode()
        upload(stack.store, tenant, "demo.jsonl", body)
    stack.pump.drain()
    port = _free_port()
    httpd = serve_api(port, demo_tokens(["acme", "globex"]))
    yield f"http://127.0.0.1:{port}", stack
    httpd.shutdown()


@pytest.fixture
def page(viewer: tuple[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        browser.close()
        assert errors == [], errors


def sign_in(page: Any, url: str, label: str) -> None:
    page.goto(f"{url}/")
    page.select_option("#demo", label=label)
    page.wait_for_selector("#nav a")


def open_report(page: Any, url: str, report: str, query: dict[str, str]) -> None:
    qs = urlencode(query)
    page.goto(f"{url}/#/reports/{report}?{qs}")
    page.wait_for_selector(f'main[data-loaded="{report}?{qs}"]')


def duration(seconds: float) -> str:
    """What the viewer's duration() prints: the largest unit and the next one, floored."""
    s, units = int(seconds + 0.5), [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]  # JS rounds half up
    for i, (unit, size) in enumerate(units):
        if s >= size:
            parts = [f"{s // size} {unit}"]
            if i + 1 < len(units) and (s % size) // units[i + 1][1]:
                parts.append(f"{(s % size) // units[i + 1][1]} {units[i + 1][0]}")
            return " ".join(parts)
    return "0 s"


def assert_page_matches(page: Any, body: dict[str, Any]) -> int:
    """Every number the page draws equals the API's; returns how many were compared."""
    compared = 0
    for key, scalar in body["comparison"].items():
        card = page.locator(f'.card[data-metric="{key}"]')
        assert json.loads(card.get_attribute("data-value")) == scalar["current"], key
        assert card.locator(".value").inner_text() == fmt(scalar["current"]), key
        if key.endswith("_seconds") and scalar["current"] is not None:  # a wait, as a person reads it
            assert card.locator(".duration").inner_text() == duration(scalar["current"]), key
        compared += 1
    values = body["values"]
    if "series" in values:
        bars = page.locator("svg.bars rect")
        drawn = [(b.get_attribute("data-x"), int(b.get_attribute("data-value"))) for b in bars.all()]
        assert drawn == [(p["date"], p["count"]) for p in values["series"]]
        compared += len(drawn)
    if "matrix" in values:
        cells = page.locator("svg.heatmap rect").all()
        heat = [int(c.get_attribute("data-value")) for c in cells]
        assert heat == [v for row in values["matrix"] for v in row]
        compared += len(heat)
    for name, rows in values.items():
        if name == "series" or not (isinstance(rows, list) and rows and isinstance(rows[0], dict)):
            continue  # the series is drawn as bars (above); every other list of rows is a table
        table = page.locator(f'section[data-list="{name}"] > table > tbody > tr.row')
        assert table.count() == len(rows), name
        for i, row in enumerate(rows):
            for col, value in row.items():
                if isinstance(value, list):
                    continue
                cell = table.nth(i).locator(f'td[data-col="{col}"]')
                assert json.loads(cell.get_attribute("data-value")) == value, (name, i, col)
                assert cell.inner_text() == fmt(value), (name, i, col)
                compared += 1
    return compared


def test_every_report_in_the_browser_shows_the_apis_numbers(page: Any, viewer: tuple[str, Any]) -> None:
    url, _ = viewer
    sign_in(page, url, "acme · viewer")
    catalogue = api_json("/v1/reports", "acme", ["viewer"])["reports"]
    assert page.locator("#nav a").count() == len(catalogue) == 12
    assert duration(553.5) == "9 min 14 s" and duration(7500) == "2 h 5 min" and duration(86400) == "1 d"
    total = 0
    for report in catalogue:
        for query in ({"range": report["default_range"]}, {"range": "last_7_days"}):
            open_report(page, url, report["id"], query)
            body = api_json(f"/v1/reports/{report['id']}?{urlencode(query)}", "acme", ["viewer"])
            assert page.locator("h1").inner_text() == report["title"]["en"]
            assert body["data_through"] and body["data_through"] in page.locator(".through").inner_text()
            total += assert_page_matches(page, body)
            assert page.locator('select[name="range"] option[value="last_7_days"]').inner_text() == "Last 7 days"
        page.screenshot(path=str(SHOTS / f"report-{report['id']}.png"), full_page=True)
    assert total > 500  # cards, bars, heatmap cells and table cells, all compared


def test_a_late_answer_never_draws_over_the_page_asked_for_after_it(page: Any, viewer: tuple[str, Any]) -> None:
    """A report still loading when another is asked for: its answer, arriving last, is dropped."""
    url, _ = viewer
    sign_in(page, url, "acme · viewer")
    open_report(page, url, "new-conversations", {"range": "last_30_days"})
    held: list[Any] = []
    late = "**/v1/reports/response-time?range=last_7_days"
    page.route(late, lambda route: held.append(route))  # its answer waits until released below
    page.evaluate("location.hash = '#/reports/response-time?range=last_7_days'")
    while not held:
        page.wait_for_timeout(20)
    open_report(page, url, "new-contacts", {"range": "last_7_days"})
    with page.expect_event("requestfinished", lambda r: "/v1/reports/response-time" in r.url):
        held[0].continue_()
    page.wait_for_timeout(300)  # time to draw it, were it drawn
    assert page.locator("main").get_attribute("data-loaded") == "new-contacts?range=last_7_days"
    title = next(r for r in api_json("/v1/reports", "acme", ["viewer"])["reports"] if r["id"] == "new-contacts")
    assert page.locator("h1").inner_text() == title["title"]["en"]
    assert page.locator("#nav a.current").get_attribute("data-report") == "new-contacts"


def test_a_navigation_while_the_dimensions_load_still_draws_its_report(page: Any, viewer: tuple[str, Any]) -> None:
    """Sign-in fetches the catalogue, then the dimensions; a report asked for in between
    found a catalogue without dimensions and drew nothing (its controls read them)."""
    url, _ = viewer
    page.goto(f"{url}/")
    held: list[Any] = []
    page.route("**/v1/dimensions", lambda route: held.append(route))
    page.select_option("#demo", label="acme · viewer")
    while not held:
        page.wait_for_timeout(20)
    page.evaluate("location.hash = '#/reports/new-contacts?range=last_7_days'")
    page.wait_for_timeout(300)  # the second navigation reads what the first has loaded so far
    for route in held:  # the first navigation's request, and the second's if it made one
        route.continue_()
    page.unroute("**/v1/dimensions")
    page.wait_for_selector('main[data-loaded="new-contacts?range=last_7_days"]')
    assert page.locator('select[name="origin"] option').count() > 0  # its controls have the dimensions


def test_range_and_filter_controls_ask_the_api_and_show_its_answer(page: Any, viewer: tuple[str, Any]) -> None:
    url, _ = viewer
    sign_in(page, url, "acme · viewer")
    open_report(page, url, "new-conversations", {"range": "last_30_days"})
    page.select_option('select[name="range"]', "last_7_days")
    page.select_option('select[name="channel"]', ["whatsapp"])
    page.click('form.controls button[type="submit"]')
    query = {"range": "last_7_days", "channel": "whatsapp"}
    page.wait_for_selector(f'main[data-loaded="new-conversations?{urlencode(query)}"]')
    filtered = api_json(f"/v1/reports/new-conversations?{urlencode(query)}", "acme", ["viewer"])
    unfiltered = api_json("/v1/reports/new-conversations?range=last_7_days", "acme", ["viewer"])
    assert filtered["values"]["count"] < unfiltered["values"]["count"]  # the filter really narrowed it
    assert_page_matches(page, filtered)
    assert page.locator(".meta .filters").inner_text() == "channel: whatsapp"
    # an owner filter is shown by the owner's name (the API's filter_labels), not its id
    owner = page.locator('select[name="owner"] option').first.get_attribute("value")
    page.select_option('select[name="owner"]', [owner])
    page.click('form.controls button[type="submit"]')
    order = next(r for r in api_json("/v1/reports", "acme", ["viewer"])["reports"] if r["id"] == "new-conversations")
    chosen = {"channel": "whatsapp", "owner": owner}
    query = {"range": "last_7_days", **{f: chosen[f] for f in order["filters"] if f in chosen}}
    page.wait_for_selector(f'main[data-loaded="new-conversations?{urlencode(query)}"]')
    by_owner = api_json(f"/v1/reports/new-conversations?{urlencode(query)}", "acme", ["viewer"])
    name = by_owner["filter_labels"]["owner"][owner]
    assert name != owner  # the demo's advisors have names
    shown = page.locator(".meta .filters").inner_text()
    assert f"owner: {name}" in shown and "channel: whatsapp" in shown, shown
    page.select_option('select[name="owner"]', [])
    # a custom range, and a bad one: the API's 400 is shown, naming the parameter
    page.select_option('select[name="range"]', "custom")
    page.fill('input[name="from"]', "2026-01-01")
    page.fill('input[name="to"]', "2025-12-01")
    page.click('form.controls button[type="submit"]')
    page.wait_for_selector(".error")
    assert page.locator(".error").inner_text() == "400: from: must not be after to (from)"
    assert page.locator("main").get_attribute("data-loaded") is None  # no report is drawn: none is named
    page.screenshot(path=str(SHOTS / "filters-and-error.png"), full_page=True)
    # Spanish titles from the catalogue
    page.select_option("#lang", "es")
    es = api_json("/v1/reports", "acme", ["viewer"])["reports"][0]["title"]["es"]
    page.wait_for_selector(f'#nav a:text-is("{es}")')
    page.wait_for_selector('option[value="last_7_days"]:text-is("Últimos 7 días")', state="attached")


def test_an_admin_refreshes_and_sees_the_status_and_the_cool_down(page: Any, viewer: tuple[str, Any]) -> None:
    url, stack = viewer
    sign_in(page, url, "acme · admin")
    open_report(page, url, "response-time", {"range": "today"})
    stop = threading.Event()

    def aggregator() -> None:  # what SQS + the aggregator do on AWS
        while not stop.is_set():
            stack.pump.drain()
            time.sleep(0.3)

    worker = threading.Thread(target=aggregator, daemon=True)
    worker.start()
    try:
        page.click("button.refresh")
        page.wait_for_selector('.refresh-status:has-text("succeeded")', timeout=30_000)
        page.click("button.refresh")  # within the cool-down
        page.wait_for_selector('.refresh-status:has-text("retry after")')
        assert int(page.locator(".refresh-status").inner_text().split("retry after ")[1].split()[0]) > 0
        page.screenshot(path=str(SHOTS / "refresh.png"))
    finally:
        stop.set()
        worker.join()


def test_finance_sees_every_tenants_costs_and_gets_the_csv(page: Any, viewer: tuple[str, Any]) -> None:
    url, stack = viewer
    from mediana.metering.meter import METER

    METER.flush(stack.store)
    sign_in(page, url, "ops · finance")
    month = now_utc().strftime("%Y-%m")  # the stack's month (its clock may be shifted)
    page.goto(f"{url}/#/costs?month={month}")
    page.wait_for_selector('section[data-list="costs"] tr.total')
    report = api_json(f"/v1/costs?month={month}", "ops", ["finance"])
    rows = page.locator('section[data-list="costs"] tbody tr.row')
    assert rows.count() == len(report["rows"]) >= 2
    for i, row in enumerate(report["rows"]):
        assert rows.nth(i).locator('td[data-col="tenant_id"]').inner_text() == row["tenant_id"]
        shown = json.loads(rows.nth(i).locator('td[data-col="total_usd"]').get_attribute("data-value"))
        assert shown == row["total_usd"]
    with page.expect_download() as download:
        page.click('button:has-text("Download CSV")')
    saved = SHOTS / "costs.csv"
    download.value.save_as(saved)
    assert saved.read_text().startswith("month,tenant_id,")
    page.screenshot(path=str(SHOTS / "costs.png"), full_page=True)
