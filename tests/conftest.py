"""Shared fixtures: a moto server over HTTP (as a real client talks to AWS), the
stack's resources created from template.yaml, and helpers to feed and read it."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "cli"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

# The stack's clock for this run (``mediana.domain.timeutil.now_ns``). MEDIANA_TEST_NOW (an
# RFC 3339 instant) starts the run there; unset, the run keeps real time. A failing test's
# report names the instant it started at, so a failure that depends on the date or the hour
# can be run again at that instant.
TEST_NOW_ENV = "MEDIANA_TEST_NOW"
_STARTED = pytest.StashKey[int]()


def _pin_clock() -> None:
    from mediana.domain.timeutil import CLOCK_SHIFT_ENV, NS_PER_SECOND, parse_instant

    wanted = os.environ.get(TEST_NOW_ENV, "").strip()
    if wanted:  # each xdist worker pins it again: they all start at the same instant
        shift = -((time.time_ns() - parse_instant(wanted)) // NS_PER_SECOND)  # rounded up: never before it
        os.environ[CLOCK_SHIFT_ENV] = str(shift)


_pin_clock()


def pytest_runtest_setup(item: pytest.Item) -> None:
    from mediana.domain.timeutil import now_ns

    item.stash[_STARTED] = now_ns()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    started = item.stash.get(_STARTED, None)
    if report.failed and started is not None:
        from mediana.domain.timeutil import format_instant

        at = format_instant(started // 1_000_000_000 * 1_000_000_000)
        again = f"{TEST_NOW_ENV}={at} pytest {item.nodeid}"
        report.sections.append(("stack clock", f"the test started at {at}; to run it there again: {again}"))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from mediana.domain.timeutil import clock_shift_s, format_instant, now_ns

    at = format_instant(now_ns() // 1_000_000_000 * 1_000_000_000)
    kind = f"shifted {clock_shift_s():+d} s by {TEST_NOW_ENV}" if clock_shift_s() else "real time"
    terminalreporter.write_line(f"stack clock: {at} at the end ({kind}); {TEST_NOW_ENV}=<instant> runs at another")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from mediana_cli.local import aws_env, start_moto_server

    port = _free_port()
    server = start_moto_server(port)
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(aws_env(endpoint))
    yield endpoint
    server.stop()


@pytest.fixture
def stack(moto_endpoint: str) -> Iterator[Stack]:
    """Fresh resources (from the template) on the shared moto server."""
    import boto3
    from mediana.config import Config
    from mediana.storage.store import Store
    from mediana_cli.local import Pump
    from mediana_cli.template import create_resources

    boto3.client("s3", endpoint_url=moto_endpoint).list_buckets()
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset")
    env = create_resources(moto_endpoint, "us-east-1")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    store = Store(Config.from_env())
    yield Stack(store, Pump(store))
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Stack:
    def __init__(self, store: Any, pump: Any) -> None:
        self.store = store
        self.pump = pump

    def feed(self, name: str, recs: list[dict[str, Any]], tenant: str = "acme") -> None:
        """``recs`` as a JSON Lines file of ``tenant``'s, ingested, then one refresh."""
        from mediana.services import aggregate
        from mediana_cli.local import upload

        lines = [json.dumps({**rec, "tenant_id": tenant}) for rec in recs]
        upload(self.store, tenant, name, "\n".join(lines).encode())
        self.pump.ingest()
        aggregate.refresh_tenant(self.store, tenant)
