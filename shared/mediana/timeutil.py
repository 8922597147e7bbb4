"""Instants as integer epoch microseconds, and local-calendar helpers.

Integers keep durations exact (whole seconds truncated toward zero) and make
records cheap to compare and store.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_SECOND = 1_000_000


def parse_instant(value: object) -> int:
    """RFC 3339 timestamp (offset or Z required) -> epoch microseconds.

    Raises ValueError with a short reason when the value is not such a timestamp.
    """
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 timestamp string")
    m = _RFC3339.match(value)
    if not m:
        raise ValueError("not an RFC 3339 timestamp with offset or Z")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if offset in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        hh, mm = int(offset[1:3]), int(offset[4:6])
        if hh > 23 or mm > 59:
            raise ValueError("offset out of range")
        from datetime import timezone

        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    try:
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError as exc:
        raise ValueError(f"invalid date or time: {exc}") from None
    return (dt - _EPOCH) // timedelta(microseconds=1)


def format_instant(us: int) -> str:
    """Epoch microseconds -> RFC 3339 in UTC with a Z."""
    dt = _EPOCH + timedelta(microseconds=us)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_us() -> int:
    return (datetime.now(UTC) - _EPOCH) // timedelta(microseconds=1)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """IANA zone by name; raises ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def local_date(us: int, tz: str) -> date:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone(tz)).date()


def local_today(tz: str, at_us: int | None = None) -> date:
    return local_date(now_us() if at_us is None else at_us, tz)


def next_local_midnight_us(tz: str, at_us: int | None = None) -> int:
    """The instant the tenant's next local day starts (DST-aware)."""
    today = local_today(tz, at_us)
    start = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone(tz))
    return (start.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
