"""Report ranges: presets and custom spans of the tenant's local dates.

A range is inclusive; its previous period has the same number of days and ends
the day before it starts. Pure functions of (today, request): no clock inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PRESETS = (
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "last_365_days",
    "this_month",
    "last_month",
)
MAX_CUSTOM_DAYS = 366
# The dates a request may name: the contract's instants (1970..2100) in any zone.
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2100, 1, 1)


class RangeError(ValueError):
    """A bad range request; ``param`` names the query parameter at fault."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    preset: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> DateRange:
        prev_end = self.start - timedelta(days=1)
        return DateRange(prev_end - timedelta(days=self.days - 1), prev_end)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def preset_range(name: str, today: date) -> DateRange:
    if name == "today":
        return DateRange(today, today, name)
    if name == "yesterday":
        y = today - timedelta(days=1)
        return DateRange(y, y, name)
    if name.startswith("last_") and name.endswith("_days"):
        n = int(name[5:-5])
        return DateRange(today - timedelta(days=n - 1), today, name)
    if name == "this_month":
        return DateRange(today.replace(day=1), today, name)
    if name == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return DateRange(end.replace(day=1), end, name)
    raise RangeError("range", f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")


def _parse_date(param: str, value: str) -> date:
    try:
        if len(value) != 10 or not (value[:4] + value[5:7] + value[8:]).isdigit() or value[4] + value[7] != "--":
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise RangeError(param, f"expected a date YYYY-MM-DD, got {value!r}") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise RangeError(param, f"must lie within {FIRST_DATE.isoformat()} .. {LAST_DATE.isoformat()}, got {value}")
    return day


def resolve_range(today: date, range_name: str | None, start: str | None, end: str | None, default: str) -> DateRange:
    """The range a request asks for: a preset, or ``from``/``to``, never both."""
    if range_name is not None and (start is not None or end is not None):
        raise RangeError("range", "give either range or from/to, not both")
    if start is None and end is None:
        name = range_name if range_name is not None else default
        if name not in PRESETS:
            raise RangeError("range", f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
        return preset_range(name, today)
    if start is None:
        raise RangeError("from", "required when to is given")
    if end is None:
        raise RangeError("to", "required when from is given")
    first, last = _parse_date("from", start), _parse_date("to", end)
    if first > last:
        raise RangeError("from", "must not be after to")
    span = DateRange(first, last)
    if span.days > MAX_CUSTOM_DAYS:
        raise RangeError("to", f"a custom range spans at most {MAX_CUSTOM_DAYS} days, got {span.days}")
    return span


def preset_span(today: date) -> DateRange:
    """The smallest span covering every preset and its previous period."""
    ranges = [preset_range(p, today) for p in PRESETS]
    start = min(r.previous.start for r in ranges)
    return DateRange(start, today)
