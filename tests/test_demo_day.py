"""The benches' simulated day: the demo tenant's whole local today, in its own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mediana_cli.demo import end_of_local_day, generate, tenant_zone


@pytest.mark.parametrize(("tenant", "seed"), [("busy", 3), ("quiet", 5), ("acme", 1)])
def test_the_zone_is_the_one_generate_gives_the_tenant(tenant: str, seed: int) -> None:
    assert next(iter(generate(tenant, 1, seed)))["timezone"] == tenant_zone(tenant, seed)


@pytest.mark.parametrize("hour", [0, 1, 12, 23])
def test_the_day_ends_at_the_last_second_of_the_local_date(hour: int) -> None:
    tz = ZoneInfo(tenant_zone("busy", 3))  # Buenos Aires: UTC-3
    at = datetime(2026, 12, 2, hour, 30, tzinfo=tz)
    end = end_of_local_day("busy", 3, at.astimezone(UTC)).astimezone(tz)
    assert (end.date(), end.time().isoformat()) == (at.date(), "23:59:59")
    assert (end + timedelta(seconds=1)).date() == at.date() + timedelta(days=1)


def test_a_demo_ending_then_holds_the_whole_local_day() -> None:
    end = end_of_local_day("busy", 3)
    start = (end - timedelta(seconds=86399)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stamps = [r["updated_at"] for r in generate("busy", 3, 3, now=end)]
    today = [s for s in stamps if s >= start]
    assert today and max(stamps) <= end.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("day", range(1, 29))
def test_no_record_of_a_demo_is_stamped_after_its_now(day: int) -> None:
    """A reply seconds after the last message must wait for a later run, not be stamped in the future."""
    end = end_of_local_day("busy", 3, datetime(2026, 11, day, 12, tzinfo=UTC))
    cutoff = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert max(r["updated_at"] for r in generate("busy", 3, 3, now=end)) <= cutoff
