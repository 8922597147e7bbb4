"""Instants as integer epoch nanoseconds, and local-calendar helpers.

Source instants (the records' timestamps) are exact to the nanosecond, as the
input contract says: integers keep ordering and durations exact (whole seconds
truncated toward zero from the exact difference) and are cheap to compare and
store. The stack's own clock readings that are persisted (a log entry's receipt,
an in-flight ingest block) stay in microseconds: ``now_us``/``format_us``.

``now_ns`` is the stack's one clock: what day it is for the reports, receipts, leases,
schedules, refresh statuses. ``MEDIANA_CLOCK_SHIFT_S`` (whole seconds, unset in every
deployment) moves it, so a test run or a benchmark can live at a chosen instant and be
repeated there (tests/conftest.py: ``MEDIANA_TEST_NOW``). What another service reads or
writes by its own clock keeps real time: a token's or an assumed role's expiry, a DynamoDB
TTL attribute.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")
# The form exporters write almost always: UTC, whole seconds, ASCII digits.
_RFC3339_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NS_PER_SECOND = 1_000_000_000
NS_PER_US = 1_000
MAX_FRACTION_DIGITS = 9
# The contract's window for every source instant (both ends included).
MIN_INSTANT_NS = 0  # 1970-01-01T00:00:00Z
MAX_INSTANT_NS = 4_102_444_800 * NS_PER_SECOND  # 2100-01-01T00:00:00Z
INSTANT_WINDOW = "1970-01-01T00:00:00Z ... 2100-01-01T00:00:00Z"


@lru_cache(maxsize=4096)
def _epoch_day(year: int, month: int, day: int) -> int | None:
    """Days since 1970-01-01 of a calendar date; None if it is no date (checked by datetime)."""
    try:
        return (date(year, month, day) - date(1970, 1, 1)).days
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _offset_seconds(offset: str) -> int | None:
    if offset in ("Z", "z"):
        return 0
    hh, mm = int(offset[1:3]), int(offset[4:6])
    if hh > 23 or mm > 59:
        return None
    return (1 if offset[0] == "+" else -1) * (hh * 3600 + mm * 60)


@lru_cache(maxsize=65536)
def _hour_ns(prefix: str) -> int:
    """Epoch ns of a "YYYY-MM-DDTHH" (ASCII digits) hour; -1 if it is no such hour."""
    days = _epoch_day(int(prefix[:4]), int(prefix[5:7]), int(prefix[8:10]))
    hour = int(prefix[11:13])
    return -1 if days is None or hour > 23 else (days * 86400 + hour * 3600) * NS_PER_SECOND


def parse_instant(value: object) -> int:
    """RFC 3339 timestamp (offset or Z required) -> epoch nanoseconds, exact.

    Raises ValueError with a short reason when the value is not such a timestamp,
    has more than 9 fraction digits, or lies outside the contract's window.
    The hot paths are integer arithmetic on cached hours (the usual UTC whole-second form),
    then on cached dates and offsets; anything they do not
    accept goes to ``_parse_instant_checked``, the reference, for the same answer or error.
    """
    if isinstance(value, str) and _RFC3339_UTC_SECONDS.fullmatch(value):
        base, mins, secs = _hour_ns(value[:13]), int(value[14:16]), int(value[17:19])
        if base >= 0 and mins < 60 and secs < 60:
            ns = base + (mins * 60 + secs) * NS_PER_SECOND
            if ns <= MAX_INSTANT_NS:
                return ns
    m = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if m is not None:
        year, month, day, hour, minute, second, frac, offset = m.groups()
        days = _epoch_day(int(year), int(month), int(day))
        shift = _offset_seconds(offset)
        h, mi, sec = int(hour), int(minute), int(second)
        if days is not None and shift is not None and h < 24 and mi < 60 and sec < 60:
            if frac is None or len(frac) <= MAX_FRACTION_DIGITS:
                seconds = days * 86400 + h * 3600 + mi * 60 + sec - shift
                ns = seconds * NS_PER_SECOND + (int(frac.ljust(MAX_FRACTION_DIGITS, "0")) if frac else 0)
                if MIN_INSTANT_NS <= ns <= MAX_INSTANT_NS:
                    return ns
    return _parse_instant_checked(value)


class _HourStarts(dict[str, int]):
    """ "YYYY-MM-DDTHH:" -> epoch ns of that hour, for whole hours inside the contract's
    window, filled on first use; any other prefix raises KeyError (no entry is made)."""

    def __missing__(self, prefix: str) -> int:
        if not _HOUR_PREFIX.fullmatch(prefix):
            raise KeyError(prefix)
        ns = _hour_ns(prefix[:13])
        if ns < 0 or ns + 3599 * NS_PER_SECOND > MAX_INSTANT_NS:
            raise KeyError(prefix)
        if len(self) >= 100_000:  # bounded: ~11 years of hours
            self.clear()
        self[prefix] = ns
        return ns


_HOUR_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:")
_HOURS = _HourStarts()
_MINUTE_SECOND_Z = {f"{m:02d}:{s:02d}Z": (m * 60 + s) * NS_PER_SECOND for m in range(60) for s in range(60)}


def parse_instants(values: Sequence[object]) -> tuple[list[int | None], list[int]]:
    """``parse_instant`` over a column: (instants, positions of the invalid values).
    A missing value (None) stays None and is not invalid; an invalid one is None too.

    The usual form ("2026-03-02T12:00:00Z") costs two dictionary lookups: its hour
    prefix and its "MM:SSZ" tail, both keys only of valid values, whose lengths (14 + 6)
    make the whole string's. Any value they miss takes ``parse_instant``: the same answers."""
    hours, tails = _HOURS, _MINUTE_SECOND_Z
    try:
        return [None if v is None else hours[v[:14]] + tails[v[14:]] for v in values], []  # type: ignore[index]
    except (KeyError, TypeError):
        pass
    out: list[int | None] = []
    bad: list[int] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(hours[v[:14]] + tails[v[14:]])  # type: ignore[index]
        except (KeyError, TypeError):
            try:
                out.append(parse_instant(v))
            except ValueError:
                out.append(None)
                bad.append(i)
    return out, bad


def _parse_instant_checked(value: object) -> int:
    """The reference parse (datetime arithmetic), with the reason for every rejection."""
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 timestamp string")
    m = _RFC3339.fullmatch(value)
    if not m:
        raise ValueError("not an RFC 3339 timestamp with offset or Z")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    if frac is not None and len(frac) > MAX_FRACTION_DIGITS:
        raise ValueError(f"more than {MAX_FRACTION_DIGITS} fraction digits ({len(frac)})")
    if offset in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        hh, mm = int(offset[1:3]), int(offset[4:6])
        if hh > 23 or mm > 59:
            raise ValueError("offset out of range")
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    try:
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), 0, tz)
    except ValueError as exc:
        raise ValueError(f"invalid date or time: {exc}") from None
    seconds = (dt - _EPOCH) // timedelta(seconds=1)  # exact: timedelta arithmetic is integral
    ns = seconds * NS_PER_SECOND + int((frac or "0").ljust(MAX_FRACTION_DIGITS, "0"))
    if not MIN_INSTANT_NS <= ns <= MAX_INSTANT_NS:
        raise ValueError(f"outside {INSTANT_WINDOW}")
    return ns


def format_instant(ns: int) -> str:
    """Epoch nanoseconds -> RFC 3339 in UTC with a Z: no fraction when whole
    seconds, 6 digits when whole microseconds, else all 9."""
    seconds, frac = divmod(ns, NS_PER_SECOND)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return text + "Z"
    if frac % NS_PER_US == 0:
        return f"{text}.{frac // NS_PER_US:06d}Z"
    return f"{text}.{frac:09d}Z"


CLOCK_SHIFT_ENV = "MEDIANA_CLOCK_SHIFT_S"


def clock_shift_s() -> int:
    """Seconds the stack's clock runs ahead of real time (0 unless a run asks otherwise)."""
    text = os.environ.get(CLOCK_SHIFT_ENV, "").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{CLOCK_SHIFT_ENV}={text!r}: expected whole seconds") from None


def now_ns() -> int:
    """The stack's clock (see the module's docstring), microsecond resolution."""
    real = (datetime.now(UTC) - _EPOCH) // timedelta(microseconds=1) * NS_PER_US
    return real + clock_shift_s() * NS_PER_SECOND


def now_s() -> int:
    return now_ns() // NS_PER_SECOND


def now_utc() -> datetime:
    """The stack's clock as an aware datetime (microseconds)."""
    return _EPOCH + timedelta(microseconds=now_ns() // NS_PER_US)


def now_us() -> int:
    """The clock in microseconds: the unit of the stack's persisted receipt times."""
    return now_ns() // NS_PER_US


def format_us(us: int) -> str:
    return format_instant(us * NS_PER_US)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """IANA zone by name; raises ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def local_date(ns: int, tz: str) -> date:
    return (_EPOCH + timedelta(microseconds=ns // NS_PER_US)).astimezone(zone(tz)).date()


def local_today(tz: str, at_ns: int | None = None) -> date:
    return local_date(now_ns() if at_ns is None else at_ns, tz)
