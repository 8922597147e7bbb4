"""The CRM interaction reports (seed 003): call duration by type, calls, emails and
interactions per contact or type, and touches per user, with the tenant's roster."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mediana.domain.definitions import ReportDef
from mediana.domain.records import DEFAULT_CALL_TYPES, INTERACTION_TYPES
from mediana.domain.report_values import (
    Filters,
    scalar,
    two_decimals,
)
from mediana.domain.sections import Key, RangeSummary

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


def _minutes(ms: int, timed: int) -> float | None:
    """The mean of ``timed`` calls lasting ``ms`` milliseconds in all, in minutes."""
    return two_decimals(ms, timed * 60_000)


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


def call_duration(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
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


def calls_per_contact(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
    cur, prev = _calls(s, f, False), _calls(s, f, True)

    def row(calls: _Calls, match: Callable[[Key], bool]) -> dict[str, Any]:
        fig = calls.figures(match)
        return {
            "calls": fig["calls"],
            "contacts_called": fig["contacts_called"],
            "calls_per_contact": two_decimals(fig["calls"], fig["contacts_called"]),
        }

    per_owner = cur.by_owner()
    rows = [{**roster.owner(o), **row(per_owner.get(o, _Calls()), _match())} for o in _owner_rows(roster, per_owner, f)]
    total, total_prev = row(cur, _match()), row(prev, _match())
    comparison = {name: scalar(total[name], total_prev[name]) for name in total}
    return {"values": {"owners": rows, "total": total}, "comparison": comparison}


_MAIL_KINDS = {"c": "campaign", "a": "automation"}


def emails_per_contact(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
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
            out[f"{name}_emails_per_contact"] = two_decimals(sent[kind], len(people[kind]))
        either = people["c"] | people["a"]
        out["emails"] = sent["c"] + sent["a"]
        out["contacts_emailed"] = len(either)
        out["emails_per_contact"] = two_decimals(out["emails"], len(either))
        return out

    cur, prev = period(False), period(True)
    comparison = {name: scalar(cur[name], prev[name]) for name in cur}
    return {"values": cur, "comparison": comparison}


def interactions_by_type(
    report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster
) -> dict[str, Any]:
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


def touches(report: ReportDef, s: Mapping[str, RangeSummary], f: Filters, roster: Roster) -> dict[str, Any]:
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
        return {**row, "communications": comms, "communications_per_contact": two_decimals(comms, row["contacts"])}

    zero = {"contacts": 0, "calls": 0, "emails": 0, "whatsapp_conversations": 0}
    cur, prev = period(False), period(True)
    rows = [{**roster.owner(o), **finish(cur.get(o, zero))} for o in _owner_rows(roster, cur, f)]

    def total(per: Mapping[str | None, Mapping[str, int]]) -> dict[str, Any]:
        return finish({name: sum(r[name] for r in per.values()) for name in zero})

    t_cur, t_prev = total(cur), total(prev)
    comparison = {name: scalar(t_cur[name], t_prev[name]) for name in t_cur}
    return {"values": {"owners": rows, "total": t_cur}, "comparison": comparison}
