"""The stack's one clock, and a test run pinned to an instant (MEDIANA_TEST_NOW), so a
failure that depends on the date or the hour can be run again where it happened."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ROOT, TEST_NOW_ENV
from mediana.domain.timeutil import CLOCK_SHIFT_ENV, NS_PER_SECOND, clock_shift_s, now_ns, now_utc, parse_instant
from mediana_cli.demo import generate

PROBE_ENV = "MEDIANA_CLOCK_PROBE"
PINNED = "2031-05-06T07:08:09Z"


def test_the_clock_runs_shifted_by_whole_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_SHIFT_ENV, "86400")
    ahead = now_ns() - time.time_ns()
    assert abs(ahead - 86400 * NS_PER_SECOND) < 5 * NS_PER_SECOND
    assert abs((now_utc() - datetime.now(UTC)) - timedelta(days=1)) < timedelta(seconds=5)
    monkeypatch.setenv(CLOCK_SHIFT_ENV, "")
    assert clock_shift_s() == 0
    monkeypatch.setenv(CLOCK_SHIFT_ENV, "1.5")
    with pytest.raises(ValueError, match=CLOCK_SHIFT_ENV):
        now_ns()


def test_the_demo_ends_at_the_stack_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_SHIFT_ENV, str(-400 * 86400))  # more than a year back
    records = list(generate("acme", days=3, seed=7))
    latest = max(parse_instant(r["updated_at"]) for r in records)
    assert latest <= now_ns()
    assert now_ns() - latest < 2 * 86400 * NS_PER_SECOND


@pytest.mark.skipif(not os.environ.get(PROBE_ENV), reason="run by the next test, in a pytest of its own")
def test_probe_fails_where_the_clock_was_pinned() -> None:
    pinned = parse_instant(PINNED)
    assert 0 <= now_ns() - pinned < 120 * NS_PER_SECOND
    pytest.fail("on purpose: the report must name the instant")


def test_a_pinned_run_starts_there_and_a_failure_names_the_instant() -> None:
    env = {**os.environ, TEST_NOW_ENV: PINNED, PROBE_ENV: "1"}
    env.pop(CLOCK_SHIFT_ENV, None)
    probe = "tests/test_clock.py::test_probe_fails_where_the_clock_was_pinned"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "on purpose" in out, out  # the clock's own assertion passed: the run lived at PINNED
    started = re.search(rf"the test started at (\S+); to run it there again: {TEST_NOW_ENV}=(\S+) pytest (\S+)", out)
    assert started, out
    at, again, nodeid = started.groups()
    assert at == again and nodeid == probe
    assert 0 <= parse_instant(at) - parse_instant(PINNED) < 120 * NS_PER_SECOND
    assert re.search(rf"stack clock: \S+ at the end \(shifted [+-]\d+ s by {TEST_NOW_ENV}\)", out), out
