"""What every report builder shares: the sections' cells selected by filters, sums,
histograms and their medians, daily series, and a scalar with its comparison."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from mediana.domain.cells import View
from mediana.domain.definitions import ReportDef
from mediana.domain.sections import SECTIONS, Counter, Key, RangeSummary

Filters = Mapping[str, list[str]]  # query filter -> accepted values (OR); filters AND together
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Number = int | float


def _wanted(value: str) -> str | None:
    return None if value == "none" else value


def _checks(report: ReportDef, section: str, filters: Filters, dated: bool) -> list[tuple[int, frozenset[str | None]]]:
    """(where in a cell key, the values accepted there) for each filter the request sets."""
    dims = SECTIONS[section].dims
    offset = 1 if dated else 0
    checks: list[tuple[int, frozenset[str | None]]] = []
    for name, values in filters.items():
        dim = report.filters.get(name)
        if dim is None or not values:
            continue
        checks.append((dims.index(dim) + offset, frozenset(_wanted(v) for v in values)))
    return checks


def _predicate(report: ReportDef, section: str, filters: Filters, dated: bool) -> Callable[[Key], bool]:
    checks = _checks(report, section, filters, dated)
    if not checks:
        return lambda key: True
    return lambda key: all(key[i] in accepted for i, accepted in checks)


def section_view(report: ReportDef, section: str, filters: Filters, dated: bool) -> View | None:
    """The part of ``section``'s cells (keys dated first, or not) that the report's answer
    under ``filters`` can depend on: the dimensions its builder reads and those a filter
    tests, and only cells the filters accept. None: all of them (a report that declares
    no ``reads``). tests/test_views.py proves every report answers the same through it."""
    if report.reads is None:
        return None
    read = set(report.reads[section])
    checks = tuple(_checks(report, section, filters, dated))
    tested = {i for i, _ in checks}
    keep = tuple(dim in read for dim in SECTIONS[section].dims)
    keep = tuple(k or i in tested for i, k in enumerate((True, *keep) if dated else keep))
    return None if all(keep) and not checks else View(keep, checks)


@dataclass(frozen=True)
class SectionViews:
    """One section's views for a request: of its summary's current cells (dated first in a
    series section), of its previous period's, and of a stored day document's (dated first
    in a cumulative section)."""

    cur: View | None
    prev: View | None
    day: View | None


def request_views(report: ReportDef, filters: Filters) -> dict[str, SectionViews]:
    """The views the read path decodes each of the report's sections through."""
    out = {}
    for s in report.sections:
        section = SECTIONS[s]
        out[s] = SectionViews(
            section_view(report, s, filters, section.series),
            section_view(report, s, filters, False),
            section_view(report, s, filters, section.cumulative),
        )
    return out


def select(
    summary: RangeSummary, report: ReportDef, filters: Filters, previous: bool = False
) -> Iterable[tuple[Key, int]]:
    """Cells of the current (or previous) period that pass the filters; the date,
    if kept, stays first in the key."""
    counter = summary.prev if previous else summary.cur
    dated = SECTIONS[summary.section].series and not previous
    keep = _predicate(report, summary.section, filters, dated)
    return ((k, v) for k, v in counter.items() if keep(k))


def dim_index(section: str, name: str, dated: bool) -> int:
    """Where dimension ``name`` sits in a cell key of ``section`` (dated: after the day)."""
    return SECTIONS[section].dims.index(name) + (1 if dated else 0)


def median(histogram: Mapping[int, int]) -> Number | None:
    """Exact median of a whole-second histogram: the middle sample, or the mean of
    the two middle samples. None for an empty set."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    lo_rank, hi_rank = (total - 1) // 2, total // 2
    lo = hi = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if lo is None and seen > lo_rank:
            lo = value
        if seen > hi_rank:
            hi = value
            break
    assert lo is not None and hi is not None
    mid = (lo + hi) / 2
    return int(mid) if mid == int(mid) else mid


SCALAR_DECIMALS = 2  # no scalar has more: ratios 2 decimals, medians whole or .5


def two_decimals(num: Number | Fraction, den: Number | Fraction) -> float | None:
    """``num / den`` to 2 decimals, exactly: the rational quotient rounded half away from zero,
    as on paper (1/8 is 0.13 and 3/8 is 0.38; a float division and ``round`` gave 0.12 and
    0.38, and 793.8 s / 2 calls / 60 gave 6.61 for 6.615). None when ``den`` is 0. A float is
    taken as the decimal it prints as (a report value: 0.61, never 0.60999...)."""
    if not den:
        return None
    quotient = _exact(num) * 100 / _exact(den)
    hundredths = math.floor(abs(quotient) + Fraction(1, 2))
    return (-hundredths if quotient < 0 else hundredths) / 100


def _exact(x: Number | Fraction) -> Fraction:
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


def scalar(current: Number | None, previous: Number | None) -> dict[str, Any]:
    """A value with its previous-period value and the change. The change is rounded
    like the values it compares (0.61 - 0.7 is -0.09, not -0.08999999999999997)."""
    change = None if current is None or previous is None else current - previous
    if isinstance(change, float):
        change = round(change, SCALAR_DECIMALS)
    pct = None
    if change is not None and previous:
        pct = two_decimals(_exact(change) * 100, previous)
    if isinstance(change, float) and change == int(change):
        change = int(change)
    return {"current": current, "previous": previous, "change": change, "change_pct": pct}


def cell_sum(cells: Iterable[tuple[Key, int]], where: Callable[[Key], bool] = lambda k: True) -> int:
    """The total of the cells whose key ``where`` accepts."""
    return sum(v for k, v in cells if where(k))


def seconds_histogram(cells: Iterable[tuple[Key, int]], seconds_at: int) -> dict[int, int]:
    """Samples per whole second (the key's ``seconds_at`` dimension): what ``median`` reads."""
    hist: dict[int, int] = {}
    for key, count in cells:
        hist[key[seconds_at]] = hist.get(key[seconds_at], 0) + count
    return hist


def daily_series(cells: Iterable[tuple[Key, int]], start: date, days: int) -> list[dict[str, Any]]:
    """One count per local day of the range, zeros included (dated cells: the day first)."""
    per_day: Counter = {}
    for key, count in cells:
        per_day[(key[0],)] = per_day.get((key[0],), 0) + count
    out = []
    for i in range(days):
        iso = (start + timedelta(days=i)).isoformat()
        out.append({"date": iso, "count": per_day.get((iso,), 0)})
    return out
