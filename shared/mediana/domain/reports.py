"""Report values from range summaries (pure Python, no pandas: the read path).

Each builder takes the summaries of the sections its report reads and the
request's filters, and returns JSON-ready ``values`` and ``comparison``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from mediana.domain.definitions import REPORTS, ReportDef
from mediana.domain.records import DEFAULT_CALL_TYPES, INTERACTION_TYPES
from mediana.domain.sections import SECTIONS, Counter, Key, RangeSummary

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


SCALAR_DECIMALS = 2  # no scalar has more: ratios 2 decimals, medians whole or .5


def scalar(current: Number | None, previous: Number | None) -> dict[str, Any]:
    """A value with its previous-period value and the change. The change is rounded
    like the values it compares (0.61 - 0.7 is -0.09, not -0.08999999999999997)."""
    change = None if current is None or previous is None else current - previous
    if isinstance(change, float):
        change = round(change, SCALAR_DECIMALS)
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


# ---- interaction reports (seed 003) ---------------------------------------------------------------

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Roster:
    """What the interaction reports need from the tenant's directory: owner names,
    the active users (listed even with zero activity) and the tenant's call types."""

    names: Mapping[str, str | None] = field(default_factory=dict)
    active: tuple[str, ...] = ()
    call_types: tuple[str, ...] = DEFAULT_CALL_TYPES

    @classmethod
    def from_directory(cls, directory: Mapping[str, Any] | None) -> Roster:
        if not directory:
            return cls()
        users = {uid: u for uid, u in (directory.get("users") or {}).items() if u is not None and not u.get("erased")}
        tenant = directory.get("tenant")
        call_types = DEFAULT_CALL_TYPES
        if tenant and not tenant.get("erased") and tenant.get("call_types") is not None:
            call_types = tuple(tenant["call_types"])
        return cls(
            names={uid: u.get("name") for uid, u in users.items()},
            active=tuple(sorted(uid for uid, u in users.items() if u.get("active", True))),
            call_types=call_types,
        )

    def owner(self, owner_id: str | None) -> dict[str, Any]:
        if owner_id is None:
            return {"owner_id": None, "name": UNASSIGNED}
        return {"owner_id": owner_id, "name": self.names.get(owner_id)}


def _accepts(filters: Filters, name: str) -> Callable[[Any], bool]:
    values = filters.get(name)
    if not values:
        return lambda v: True
    accepted = {None if v in ("none", UNASSIGNED) else v for v in values}
    return lambda v: v in accepted


def _ratio(num: Number, den: Number) -> float | None:
    return round(num / den, 2) if den else None


def _minutes(ms: int, timed: int) -> float | None:
    return round(ms / timed / 60_000, 2) if timed else None


def _owner_rows(roster: Roster, owners_with_data: Iterable[str | None], filters: Filters) -> list[str | None]:
    """Active users and every owner with data, restricted by the owner filter; by name, unassigned last."""
    keep = _accepts(filters, "owner")
    owners = {o for o in (*roster.active, *owners_with_data) if keep(o)}
    return sorted(owners, key=lambda o: (o is None, (roster.names.get(o) or "") if o else "", o or ""))


def _cells(summary: RangeSummary, previous: bool) -> Iterable[tuple[Key, int]]:
    return (summary.prev if previous else summary.cur).items()


def _call_filter(filters: Filters) -> Callable[[Any, Any, Any], bool]:
    owner, ctype, outcome = _accepts(filters, "owner"), _accepts(filters, "call_type"), _accepts(filters, "outcome")
    return lambda o, c, r: owner(o) and ctype(c) and outcome(r)


@dataclass
class _Calls:
    """Calls of one period, grouped by (owner, call_type, outcome), with contact sets."""

    n: dict[Key, int] = field(default_factory=dict)
    timed: dict[Key, int] = field(default_factory=dict)
    ms: dict[Key, int] = field(default_factory=dict)
    contacts: dict[Key, set[str]] = field(default_factory=dict)

    def add_metric(self, key: Key, metric: str, v: int) -> None:
        book = {"n": self.n, "t": self.timed, "ms": self.ms}[metric]
        book[key] = book.get(key, 0) + v

    def by_owner(self) -> dict[Any, _Calls]:
        """One pass that splits the cells per owner, so per-row figures stay cheap."""
        out: dict[Any, _Calls] = {}
        for name in ("n", "timed", "ms", "contacts"):
            for key, v in getattr(self, name).items():
                getattr(out.setdefault(key[0], _Calls()), name)[key] = v
        return out

    def figures(self, match: Callable[[Key], bool]) -> dict[str, Any]:
        calls = sum(v for k, v in self.n.items() if match(k))
        timed = sum(v for k, v in self.timed.items() if match(k))
        ms = sum(v for k, v in self.ms.items() if match(k))
        reached: set[str] = set()
        for k, people in self.contacts.items():
            if match(k):
                reached |= people
        return {"calls": calls, "contacts_called": len(reached), "avg_duration_minutes": _minutes(ms, timed)}


def _calls(s: Mapping[str, RangeSummary], f: Filters, previous: bool) -> _Calls:
    keep = _call_filter(f)
    out = _Calls()
    if "it" in s:
        for (owner, itype, ctype, outcome, metric), v in _cells(s["it"], previous):
            if itype == "call_log" and keep(owner, ctype, outcome):
                out.add_metric((owner, ctype, outcome), metric, v)
    counts_from_contacts = "it" not in s  # calls-per-contact reads calls from the contact cells alone
    for (owner, ctype, outcome, contact), v in _cells(s["cc"], previous):
        if keep(owner, ctype, outcome):
            out.contacts.setdefault((owner, ctype, outcome), set()).add(contact)
            if counts_from_contacts:
                out.add_metric((owner, ctype, outcome), "n", v)
    return out


_ANY: Any = object()


def _match(owner: Any = _ANY, ctype: Any = _ANY, outcome: Any = _ANY) -> Callable[[Key], bool]:
    """A predicate on (owner, call_type, outcome) keys; unspecified parts match anything."""
    want = [(i, w) for i, w in enumerate((owner, ctype, outcome)) if w is not _ANY]
    return lambda k: all(k[i] == w for i, w in want)


def _type_order(roster: Roster, present: Iterable[str | None], filters: Filters) -> list[str | None]:
    keep = _accepts(filters, "call_type")
    extra = sorted({c for c in present if c not in roster.call_types}, key=lambda c: (c is None, c or ""))
    return [c for c in (*roster.call_types, *extra) if keep(c)]


def _call_duration(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
    cur, prev = _calls(s, f, False), _calls(s, f, True)
    keys_ = cur.n.keys() | cur.contacts.keys()
    owners = _owner_rows(roster, {k[0] for k in keys_}, f)
    per_owner = cur.by_owner()
    rows = []
    for owner in owners:
        mine = per_owner.get(owner, _Calls())
        mine_keys = mine.n.keys() | mine.contacts.keys()
        types = []
        for ctype in _type_order(roster, {k[1] for k in mine_keys}, f):
            outcomes = sorted({k[2] for k in mine_keys if k[1] == ctype}, key=lambda o: (o is None, o or ""))
            types.append(
                {
                    "call_type": ctype,
                    **mine.figures(_match(owner, ctype)),
                    "outcomes": [{"outcome": oc, **mine.figures(_match(owner, ctype, oc))} for oc in outcomes],
                }
            )
        rows.append({**roster.owner(owner), **mine.figures(_match(owner)), "call_types": types})
    total, total_prev = cur.figures(_match()), prev.figures(_match())
    comparison = {name: scalar(total[name], total_prev[name]) for name in total}
    return {"values": {"owners": rows, "total": total}, "comparison": comparison}


def _calls_per_contact(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
    cur, prev = _calls(s, f, False), _calls(s, f, True)

    def row(calls: _Calls, match: Callable[[Key], bool]) -> dict[str, Any]:
        fig = calls.figures(match)
        return {
            "calls": fig["calls"],
            "contacts_called": fig["contacts_called"],
            "calls_per_contact": _ratio(fig["calls"], fig["contacts_called"]),
        }

    per_owner = cur.by_owner()
    rows = [{**roster.owner(o), **row(per_owner.get(o, _Calls()), _match())} for o in _owner_rows(roster, per_owner, f)]
    total, total_prev = row(cur, _match()), row(prev, _match())
    comparison = {name: scalar(total[name], total_prev[name]) for name in total}
    return {"values": {"owners": rows, "total": total}, "comparison": comparison}


_MAIL_KINDS = {"c": "campaign", "a": "automation"}


def _emails(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
    keep = _accepts(f, "owner")

    def period(previous: bool) -> dict[str, Any]:
        sent = dict.fromkeys(_MAIL_KINDS, 0)
        people: dict[str, set[str]] = {k: set() for k in _MAIL_KINDS}
        for (owner, kind, contact), v in _cells(s["ec"], previous):
            if keep(owner):
                sent[kind] += v
                people[kind].add(contact)
        out: dict[str, Any] = {}
        for kind, name in _MAIL_KINDS.items():
            out[f"{name}_emails"] = sent[kind]
            out[f"{name}_contacts"] = len(people[kind])
            out[f"{name}_emails_per_contact"] = _ratio(sent[kind], len(people[kind]))
        either = people["c"] | people["a"]
        out["emails"] = sent["c"] + sent["a"]
        out["contacts_emailed"] = len(either)
        out["emails_per_contact"] = _ratio(out["emails"], len(either))
        return out

    cur, prev = period(False), period(True)
    comparison = {name: scalar(cur[name], prev[name]) for name in cur}
    return {"values": cur, "comparison": comparison}


def _by_type(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
    keep = _accepts(f, "owner")

    def period(previous: bool) -> dict[str, int]:
        counts = dict.fromkeys(INTERACTION_TYPES, 0)
        for (owner, itype, _c, _o, metric), v in _cells(s["it"], previous):
            if metric == "n" and keep(owner):
                counts[itype] += v
        return counts

    cur, prev = period(False), period(True)
    comparison = {"total": scalar(sum(cur.values()), sum(prev.values()))}
    comparison.update({t: scalar(cur[t], prev[t]) for t in INTERACTION_TYPES})
    return {
        "values": {"by_type": [{"type": t, "count": cur[t]} for t in INTERACTION_TYPES], "total": sum(cur.values())},
        "comparison": comparison,
    }


_TOUCH_TYPES = {
    "call_log": "calls",
    "campaign_email": "emails",
    "automation_email": "emails",
    "whatsapp_log": "whatsapp_conversations",
}


def _touches(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
    keep_owner, keep_call = _accepts(f, "owner"), _call_filter(f)

    def period(previous: bool) -> dict[str | None, dict[str, int]]:
        per: dict[str | None, dict[str, int]] = {}

        def bump(owner: str | None, name: str, v: int) -> None:
            row = per.setdefault(owner, {"contacts": 0, "calls": 0, "emails": 0, "whatsapp_conversations": 0})
            row[name] += v

        for (owner, itype, ctype, outcome, metric), v in _cells(s["it"], previous):
            name = _TOUCH_TYPES.get(itype)
            if metric != "n" or name is None or not keep_owner(owner):
                continue
            if itype == "call_log" and not keep_call(owner, ctype, outcome):
                continue
            bump(owner, name, v)
        for (owner,), v in _cells(s["own"], previous):
            if keep_owner(owner):
                bump(owner, "contacts", v)
        return per

    def finish(row: Mapping[str, int]) -> dict[str, Any]:
        comms = row["calls"] + row["emails"] + row["whatsapp_conversations"]
        return {**row, "communications": comms, "communications_per_contact": _ratio(comms, row["contacts"])}

    zero = {"contacts": 0, "calls": 0, "emails": 0, "whatsapp_conversations": 0}
    cur, prev = period(False), period(True)
    rows = [{**roster.owner(o), **finish(cur.get(o, zero))} for o in _owner_rows(roster, cur, f)]

    def total(per: Mapping[str | None, Mapping[str, int]]) -> dict[str, Any]:
        return finish({name: sum(r[name] for r in per.values()) for name in zero})

    t_cur, t_prev = total(cur), total(prev)
    comparison = {name: scalar(t_cur[name], t_prev[name]) for name in t_cur}
    return {"values": {"owners": rows, "total": t_cur}, "comparison": comparison}


Builder = Callable[[ReportDef, Mapping[str, RangeSummary], Filters, Roster], dict[str, Any]]


def _plain_builder(
    build: Callable[[ReportDef, Mapping[str, RangeSummary], Filters], dict[str, Any]],
) -> Builder:
    return lambda report, s, f, roster: build(report, s, f)


BUILDERS: dict[str, Builder] = {
    "first-response-time": _plain_builder(_first_response),
    "response-time": _plain_builder(_response),
    "new-contacts": _plain_builder(_new_contacts),
    "new-conversations": _plain_builder(_conversations("cv")),
    "closed-conversations": _plain_builder(_conversations("cl")),
    "origins": _plain_builder(_origins),
    "activity-heatmap": _plain_builder(_heatmap),
    "call-duration-by-type": _call_duration,
    "calls-per-contact": _calls_per_contact,
    "emails-per-contact": _emails,
    "interactions-by-type": _by_type,
    "touches-per-user": _touches,
}


def build_report(
    report_id: str, summaries: Mapping[str, RangeSummary], filters: Filters, roster: Roster | None = None
) -> dict[str, Any]:
    """``roster`` (names, active users, call types) matters to the interaction reports only."""
    report = REPORTS[report_id]
    return BUILDERS[report_id](report, summaries, filters, roster or Roster())
