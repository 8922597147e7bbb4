"""The conversation reports (seed 000): first response and response times, new contacts,
new and closed conversations, origins and the activity heatmap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from mediana.domain.definitions import ReportDef
from mediana.domain.report_values import (
    WEEKDAYS,
    Filters,
    cell_sum,
    daily_series,
    dim_index,
    median,
    scalar,
    seconds_histogram,
    select,
)
from mediana.domain.sections import RangeSummary


def first_response_time(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    frt, nc = s["frt"], s["nc"]
    secs = dim_index("frt", "seconds", False)
    metric_cur, metric_prev = dim_index("nc", "metric", True), dim_index("nc", "metric", False)
    cur_hist = seconds_histogram(select(frt, report, f), secs)
    prev_hist = seconds_histogram(select(frt, report, f, True), secs)
    pending = cell_sum(select(nc, report, f), lambda k: k[metric_cur] == "p")
    pending_prev = cell_sum(select(nc, report, f, True), lambda k: k[metric_prev] == "p")
    comparison = {
        "median_seconds": scalar(median(cur_hist), median(prev_hist)),
        "count": scalar(sum(cur_hist.values()), sum(prev_hist.values())),
        "pending": scalar(pending, pending_prev),
    }
    return {"values": {k: v["current"] for k, v in comparison.items()}, "comparison": comparison}


def response_time(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    rt = s["rt"]
    secs = dim_index("rt", "seconds", False)
    cur_hist = seconds_histogram(select(rt, report, f), secs)
    prev_hist = seconds_histogram(select(rt, report, f, True), secs)
    comparison = {
        "median_seconds": scalar(median(cur_hist), median(prev_hist)),
        "count": scalar(sum(cur_hist.values()), sum(prev_hist.values())),
    }
    return {"values": {k: v["current"] for k, v in comparison.items()}, "comparison": comparison}


def new_contacts(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    nc = s["nc"]
    m_cur, m_prev = dim_index("nc", "metric", True), dim_index("nc", "metric", False)
    created = [(k, v) for k, v in select(nc, report, f) if k[m_cur] == "n"]
    prev = cell_sum(select(nc, report, f, True), lambda k: k[m_prev] == "n")
    comparison = {"count": scalar(cell_sum(created), prev)}
    return {
        "values": {
            "count": comparison["count"]["current"],
            "series": daily_series(created, nc.span.start, nc.span.days),
        },
        "comparison": comparison,
    }


def conversation_counts(section: str) -> Callable[[ReportDef, Mapping[str, RangeSummary], Filters], dict[str, Any]]:
    def build(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
        summary = s[section]
        cells = list(select(summary, report, f))
        prev_cells = list(select(summary, report, f, True))
        ch_cur, ch_prev = dim_index(section, "channel", True), dim_index(section, "channel", False)
        channels: dict[str, list[int]] = {}
        for key, v in cells:
            channels.setdefault(key[ch_cur], [0, 0])[0] += v
        for key, v in prev_cells:
            channels.setdefault(key[ch_prev], [0, 0])[1] += v
        by_channel = [
            {"channel": ch, "count": cur, "previous": prev}
            for ch, (cur, prev) in sorted(channels.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ]
        comparison = {"count": scalar(cell_sum(cells), cell_sum(prev_cells))}
        return {
            "values": {
                "count": comparison["count"]["current"],
                "series": daily_series(cells, summary.span.start, summary.span.days),
                "by_channel": by_channel,
            },
            "comparison": comparison,
        }

    return build


_ORIGIN_METRICS = {"c": "contacts", "ct": "contacted", "r": "resolved_conversations", "d": "deleted"}


def origins(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    org = s["org"]
    o, m = dim_index("org", "origin", False), dim_index("org", "metric", False)
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


def heatmap(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters) -> dict[str, Any]:
    cv = s["cv"]
    hour_at = dim_index("cv", "hour", True)
    matrix = [[0] * 24 for _ in range(7)]
    weekday_of: dict[str, int] = {}
    for key, v in select(cv, report, f):
        iso = key[0]
        wd = weekday_of.get(iso)
        if wd is None:
            wd = weekday_of[iso] = date.fromisoformat(iso).weekday()
        matrix[wd][key[hour_at]] += v
    total = sum(map(sum, matrix))
    comparison = {"count": scalar(total, cell_sum(select(cv, report, f, True)))}
    return {
        "values": {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "matrix": matrix, "count": total},
        "comparison": comparison,
    }
