"""Report values from range summaries (pure Python, no pandas: the read path).

Each builder takes the summaries of the sections its report reads and the
request's filters, and returns JSON-ready ``values`` and ``comparison``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from mediana.definitions import REPORTS, ReportDef
from mediana.sections import SECTIONS, Counter, Key, RangeSummary

Filters = Mapping[str, list[str]]  # query filter -> accepted values (OR); filters AND together
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Number = int | float


def _wanted(value: str) -> str | None:
    return None if value == "none" else value


def _predicate(report: ReportDef, section: str, filters: Filters, dated: bool) -> Callable[[Key], bool]:
    dims = SECTIONS[section].dims
    offset = 1 if dated else 0
    checks: list[tuple[int, set[str | None]]] = []
    for name, values in filters.items():
        dim = report.filters.get(name)
        if dim is None or not values:
            continue
        checks.append((dims.index(dim) + offset, {_wanted(v) for v in values}))
    if not checks:
        return lambda key: True
    return lambda key: all(key[i] in accepted for i, accepted in checks)


def select(
    summary: RangeSummary, report: ReportDef, filters: Filters, previous: bool = False
) -> Iterable[tuple[Key, int]]:
    """Cells of the current (or previous) period that pass the filters; the date,
    if kept, stays first in the key."""
    counter = summary.prev if previous else summary.cur
    dated = SECTIONS[summary.section].series and not previous
    keep = _predicate(report, summary.section, filters, dated)
    return ((k, v) for k, v in counter.items() if keep(k))


def _dim(section: str, name: str, dated: bool) -> int:
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


def scalar(current: Number | None, previous: Number | None) -> dict[str, Any]:
    change = None if current is None or previous is None else current - previous
    pct = None
    if change is not None and previous:
        pct = round(change * 100 / previous, 2)
    if isinstance(change, float) and change == int(change):
        change = int(change)
    return {"current": current, "previous": previous, "change": change, "change_pct": pct}


def _sum(cells: Iterable[tuple[Key, int]], where: Callable[[Key], bool] = lambda k: True) -> int:
    return sum(v for k, v in cells if where(k))


def _histogram(cells: Iterable[tuple[Key, int]], seconds_at: int) -> dict[int, int]:
    hist: dict[int, int] = {}
    for key, count in cells:
        hist[key[seconds_at]] = hist.get(key[seconds_at], 0) + count
    return hist


def _series(cells: Iterable[tuple[Key, int]], start: date, days: int) -> list[dict[str, Any]]:
    per_day: Counter = {}
    for key, count in cells:
        per_day[(key[0],)] = per_day.get((key[0],), 0) + count
    out = []
    for i in range(days):
        iso = (start + timedelta(days=i)).isoformat()
        out.append({"date": iso, "count": per_day.get((iso,), 0)})
    return out


def _first_response(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    frt, nc = s["frt"], s["nc"]
    secs = _dim("frt", "seconds", False)
    metric_cur, metric_prev = _dim("nc", "metric", True), _dim("nc", "metric", False)
    cur_hist = _histogram(select(frt, report, f), secs)
    prev_hist = _histogram(select(frt, report, f, True), secs)
    pending = _sum(select(nc, report, f), lambda k: k[metric_cur] == "p")
    pending_prev = _sum(select(nc, report, f, True), lambda k: k[metric_prev] == "p")
    comparison = {
        "median_seconds": scalar(median(cur_hist), median(prev_hist)),
        "count": scalar(sum(cur_hist.values()), sum(prev_hist.values())),
        "pending": scalar(pending, pending_prev),
    }
    return {"values": {k: v["current"] for k, v in comparison.items()}, "comparison": comparison}


def _response(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    rt = s["rt"]
    secs = _dim("rt", "seconds", False)
    cur_hist = _histogram(select(rt, report, f), secs)
    prev_hist = _histogram(select(rt, report, f, True), secs)
    comparison = {
        "median_seconds": scalar(median(cur_hist), median(prev_hist)),
        "count": scalar(sum(cur_hist.values()), sum(prev_hist.values())),
    }
    return {"values": {k: v["current"] for k, v in comparison.items()}, "comparison": comparison}


def _new_contacts(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    nc = s["nc"]
    m_cur, m_prev = _dim("nc", "metric", True), _dim("nc", "metric", False)
    created = [(k, v) for k, v in select(nc, report, f) if k[m_cur] == "n"]
    prev = _sum(select(nc, report, f, True), lambda k: k[m_prev] == "n")
    comparison = {"count": scalar(_sum(created), prev)}
    return {
        "values": {"count": comparison["count"]["current"], "series": _series(created, nc.span.start, nc.span.days)},
        "comparison": comparison,
    }


def _conversations(section: str) -> Callable[[ReportDef, Mapping[str, RangeSummary], Filters], dict[str, Any]]:
    def build(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
        summary = s[section]
        cells = list(select(summary, report, f))
        prev_cells = list(select(summary, report, f, True))
        ch_cur, ch_prev = _dim(section, "channel", True), _dim(section, "channel", False)
        channels: dict[str, list[int]] = {}
        for key, v in cells:
            channels.setdefault(key[ch_cur], [0, 0])[0] += v
        for key, v in prev_cells:
            channels.setdefault(key[ch_prev], [0, 0])[1] += v
        by_channel = [
            {"channel": ch, "count": cur, "previous": prev}
            for ch, (cur, prev) in sorted(channels.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ]
        comparison = {"count": scalar(_sum(cells), _sum(prev_cells))}
        return {
            "values": {
                "count": comparison["count"]["current"],
                "series": _series(cells, summary.span.start, summary.span.days),
                "by_channel": by_channel,
            },
            "comparison": comparison,
        }

    return build


_ORIGIN_METRICS = {"c": "contacts", "ct": "contacted", "r": "resolved_conversations", "d": "deleted"}


def _origins(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    org = s["org"]
    o, m = _dim("org", "origin", False), _dim("org", "metric", False)
    rows: dict[str, dict[str, int]] = {}
    totals = {name: [0, 0] for name in _ORIGIN_METRICS.values()}
    for idx, previous in ((0, False), (1, True)):
        for key, v in select(org, report, f, previous):
            name = _ORIGIN_METRICS[key[m]]
            totals[name][idx] += v
            if not previous:
                row = rows.setdefault(key[o], dict.fromkeys(_ORIGIN_METRICS.values(), 0))
                row[name] += v
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1]["contacts"], kv[0]))
    table = [{"origin": origin, **vals} for origin, vals in ordered]
    comparison = {name: scalar(cur, prev) for name, (cur, prev) in totals.items()}
    return {
        "values": {"rows": table, "totals": {k: v["current"] for k, v in comparison.items()}},
        "comparison": comparison,
    }


def _heatmap(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    cv = s["cv"]
    hour_at = _dim("cv", "hour", True)
    matrix = [[0] * 24 for _ in range(7)]
    weekday_of: dict[str, int] = {}
    for key, v in select(cv, report, f):
        iso = key[0]
        wd = weekday_of.get(iso)
        if wd is None:
            wd = weekday_of[iso] = date.fromisoformat(iso).weekday()
        matrix[wd][key[hour_at]] += v
    total = sum(map(sum, matrix))
    comparison = {"count": scalar(total, _sum(select(cv, report, f, True)))}
    return {
        "values": {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "matrix": matrix, "count": total},
        "comparison": comparison,
    }


BUILDERS: dict[str, Callable[[ReportDef, Mapping[str, RangeSummary], Filters], dict[str, Any]]] = {
    "first-response-time": _first_response,
    "response-time": _response,
    "new-contacts": _new_contacts,
    "new-conversations": _conversations("cv"),
    "closed-conversations": _conversations("cl"),
    "origins": _origins,
    "activity-heatmap": _heatmap,
}


def build_report(report_id: str, summaries: Mapping[str, RangeSummary], filters: Filters) -> dict[str, Any]:
    report = REPORTS[report_id]
    return BUILDERS[report_id](report, summaries, filters)
