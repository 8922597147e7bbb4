"""The twelve reports computed straight from ``../shared/spec/reports.md``, record by record,
with none of the product's machinery (no worlds, sections, cells, presets or pandas): an
oracle for tests/test_spec_oracle.py. Slow and plain on purpose; each function reads like
the definition it implements. Input: normalised records (instants as epoch ns), every
version; ``latest`` picks the one of each record that counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mediana.domain.versions import version_of

NS = 10**9
# spec: "Effective contact" -- a call of these outcomes with an owner
EFFECTIVE_OUTCOMES = ("answered", "rejected")
INTERACTION_TYPES = ("opportunity", "assignment", "automation_email", "whatsapp_log", "call_log", "form_submission",
                     "note", "conversation_opened", "activity", "conversation_closed", "campaign_email")  # fmt: skip
DEFAULT_CALL_TYPES = ("prequalification", "negotiation", "first_contact", "demo", "closing")  # source-records.md
Filters = Mapping[str, set[Any]]  # filter name -> accepted values (None for a missing one); AND across names


@dataclass(frozen=True)
class Span:
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def previous(self) -> Span:
        """The same number of days, ending the day before ``start``."""
        return Span(self.start - (self.end - self.start) - timedelta(days=1), self.start - timedelta(days=1))


def preset(name: str, today: date) -> Span:
    if name == "today":
        return Span(today, today)
    if name == "yesterday":
        return Span(today - timedelta(days=1), today - timedelta(days=1))
    if name == "this_month":
        return Span(today.replace(day=1), today)
    if name == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Span(end.replace(day=1), end)
    days = int(name.removeprefix("last_").removesuffix("_days"))  # the N local days ending today
    return Span(today - timedelta(days=days - 1), today)


def latest(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The version of each (kind, id) that counts (source-records.md): an erasure is terminal;
    else the greatest ``updated_at``. Two different versions of one ``updated_at`` are the one
    thing the contract leaves open: the product's version hash decides, as stored."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        key = (rec["kind"], rec["id"])
        held = best.get(key)
        if held is None or _rank(rec) > _rank(held):
            best[key] = rec
    return list(best.values())


def _rank(rec: dict[str, Any]) -> tuple[bool, int, str]:
    return bool(rec.get("erased")), rec["updated_at"], version_of(rec)


class Tenant:
    """What counts (spec: erased records and everything naming an erased contact count
    nowhere; a record whose parent has not arrived counts once it does), and local time."""

    def __init__(self, records: Iterable[dict[str, Any]], tz: str) -> None:
        self.zone = ZoneInfo(tz)
        by: dict[str, dict[str, dict[str, Any]]] = {}
        for rec in latest(records):
            by.setdefault(rec["kind"], {})[rec["id"]] = rec
        self.users = {k: u for k, u in by.get("user", {}).items() if not u.get("erased")}
        tenant = next(iter(by.get("tenant", {}).values()), {})
        given = None if tenant.get("erased") else tenant.get("call_types")  # optional; [] is none at all
        self.call_types = DEFAULT_CALL_TYPES if given is None else tuple(given)
        self.contacts = {k: c for k, c in by.get("contact", {}).items() if not c.get("erased")}
        self.convs = {
            k: v
            for k, v in by.get("conversation", {}).items()
            if not v.get("erased") and v["contact_id"] in self.contacts
        }
        self.msgs = [
            m for m in by.get("message", {}).values() if not m.get("erased") and m["conversation_id"] in self.convs
        ]
        self.ints = [
            i for i in by.get("interaction", {}).values() if not i.get("erased") and i["contact_id"] in self.contacts
        ]
        self.first_effective: dict[str, int] = {}
        for m in self.msgs:
            if m["direction"] == "outbound" and m["author_type"] == "advisor":
                self._effective(self.convs[m["conversation_id"]]["contact_id"], m["created_at"])
        for i in self.ints:
            if i["type"] == "call_log" and i.get("owner_id") is not None and i.get("outcome") in EFFECTIVE_OUTCOMES:
                self._effective(i["contact_id"], i["occurred_at"])

    def _effective(self, contact: str, at: int) -> None:
        self.first_effective[contact] = min(at, self.first_effective.get(contact, at))

    def local(self, ns: int) -> datetime:
        return datetime.fromtimestamp(ns // NS, UTC).astimezone(self.zone)

    def day(self, ns: int) -> date:
        return self.local(ns).date()

    def user_name(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        return None if user is None else user.get("name")

    def origin(self, contact_id: str) -> str:
        """null reports as "unknown"; so does an empty origin (the product's reading of the
        spec, which names only null: a row with no name is no lead source)."""
        return self.contacts[contact_id].get("origin") or "unknown"


def seconds(later: int, earlier: int) -> int:
    """Whole seconds, truncated toward zero; a negative difference counts as 0."""
    return max(0, later - earlier) // NS


def median(samples: list[int]) -> float | int | None:
    if not samples:
        return None
    s = sorted(samples)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _ok(filters: Filters, **values: Any) -> bool:
    return all(values[name] in accepted for name, accepted in filters.items() if name in values)


def _series(days: list[date], span: Span) -> list[dict[str, Any]]:
    n = (span.end - span.start).days + 1
    return [
        {"date": (span.start + timedelta(days=d)).isoformat(), "count": days.count(span.start + timedelta(days=d))}
        for d in range(n)
    ]


# ---- conversation reports ---------------------------------------------------------


def _new_contacts(t: Tenant, span: Span, f: Filters) -> list[dict[str, Any]]:
    return [
        c
        for c in t.contacts.values()
        if t.day(c["created_at"]) in span and _ok(f, origin=t.origin(c["id"]), group=c.get("entry_group_id"))
    ]


def first_response_time(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    population = _new_contacts(t, span, f)
    answered = [
        seconds(t.first_effective[c["id"]], c["created_at"]) for c in population if c["id"] in t.first_effective
    ]
    return {"median_seconds": median(answered), "count": len(answered), "pending": len(population) - len(answered)}


def response_samples(t: Tenant) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    """(conversation, the reply, seconds waited) for every wait a reply ended."""
    out = []
    by_conv: dict[str, list[dict[str, Any]]] = {}
    for m in t.msgs:
        by_conv.setdefault(m["conversation_id"], []).append(m)
    for vid, msgs in by_conv.items():
        waiting_since = None
        for m in sorted(msgs, key=lambda m: (m["created_at"], m["id"])):
            if m["direction"] == "inbound" and waiting_since is None:
                waiting_since = m["created_at"]
            elif m["direction"] == "outbound" and m["author_type"] == "advisor":
                if waiting_since is not None:
                    out.append((t.convs[vid], m, seconds(m["created_at"], waiting_since)))
                waiting_since = None
    return out


def response_time(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    samples = [
        secs
        for conv, reply, secs in response_samples(t)
        if t.day(reply["created_at"]) in span
        and _ok(
            f,
            origin=t.origin(conv["contact_id"]),
            group=conv.get("group_id"),
            channel=conv["channel"],
            owner=reply.get("author_id"),
        )
    ]
    return {"median_seconds": median(samples), "count": len(samples)}


def new_contacts(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    days = [t.day(c["created_at"]) for c in _new_contacts(t, span, f)]
    return {"count": len(days), "series": _series(days, span)}


def _convs(t: Tenant, span: Span, f: Filters, field: str) -> list[tuple[dict[str, Any], datetime]]:
    out = []
    for v in t.convs.values():
        at = v.get(field)
        if at is None or t.day(at) not in span:
            continue
        if _ok(
            f, origin=t.origin(v["contact_id"]), group=v.get("group_id"), channel=v["channel"], owner=v.get("owner_id")
        ):
            out.append((v, t.local(at)))
    return out


def conversations(field: str) -> Callable[[Tenant, Span, Filters], dict[str, Any]]:
    def report(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
        cur, prev = _convs(t, span, f, field), _convs(t, span.previous, f, field)
        channels = {v["channel"] for v, _ in cur + prev}
        by_channel = {
            ch: {"count": sum(v["channel"] == ch for v, _ in cur), "previous": sum(v["channel"] == ch for v, _ in prev)}
            for ch in channels
        }
        return {"count": len(cur), "series": _series([at.date() for _, at in cur], span), "by_channel": by_channel}

    return report


def origins(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    rows: dict[str, dict[str, int]] = {}
    for c in t.contacts.values():
        # the origin filter picks rows (spec: "(row key)"); the group filter, the contact's current group
        if t.day(c["created_at"]) not in span or not _ok(f, origin=t.origin(c["id"]), group=c.get("group_id")):
            continue
        row = rows.setdefault(
            t.origin(c["id"]), {"contacts": 0, "contacted": 0, "resolved_conversations": 0, "deleted": 0}
        )
        if c.get("deleted_at") is not None:
            row["deleted"] += 1
            continue
        row["contacts"] += 1
        row["contacted"] += c["id"] in t.first_effective
        row["resolved_conversations"] += sum(
            v["contact_id"] == c["id"] and v.get("closed_at") is not None for v in t.convs.values()
        )
    return rows


def activity_heatmap(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    matrix = [[0] * 24 for _ in range(7)]
    for _, at in _convs(t, span, f, "created_at"):
        matrix[at.weekday()][at.hour] += 1
    return {"matrix": matrix, "count": sum(map(sum, matrix))}


# ---- interaction reports ----------------------------------------------------------


def _ints(t: Tenant, span: Span, f: Filters, types: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Interactions in range; ``call_type`` and ``outcome`` filter calls only."""
    out = []
    for i in t.ints:
        if t.day(i["occurred_at"]) not in span or (types is not None and i["type"] not in types):
            continue
        if not _ok(f, owner=i.get("owner_id")):
            continue
        if i["type"] == "call_log" and not _ok(f, call_type=i.get("call_type"), outcome=i.get("outcome")):
            continue
        out.append(i)
    return out


def _ratio(num: int | Decimal, den: int | Decimal) -> float | None:
    """2 decimals, the exact quotient rounded half up (spec: "Ratios have 2 decimals")."""
    return float((Decimal(num) / Decimal(den)).quantize(Decimal("0.01"), ROUND_HALF_UP)) if den else None


def _call_figures(calls: list[dict[str, Any]]) -> dict[str, Any]:
    # the durations as the decimals the CRM wrote (a JSON number: 11.8, not the float nearest it)
    timed = [Decimal(repr(c["duration_seconds"])) for c in calls if c.get("duration_seconds") is not None]
    mean = _ratio(sum(timed, Decimal(0)), len(timed) * 60)
    return {"calls": len(calls), "contacts_called": len({c["contact_id"] for c in calls}), "avg_duration_minutes": mean}


def call_duration_by_type(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    """{owner: (its figures, {call_type: (figures, {outcome: figures})})} and the total."""
    calls = _ints(t, span, f, ["call_log"])
    owners: dict[Any, Any] = {}
    for owner in {c.get("owner_id") for c in calls}:
        mine = [c for c in calls if c.get("owner_id") == owner]
        types = {}
        for ctype in {c.get("call_type") for c in mine}:
            of_type = [c for c in mine if c.get("call_type") == ctype]
            outcomes = {
                o: _call_figures([c for c in of_type if c.get("outcome") == o])
                for o in {c.get("outcome") for c in of_type}
            }
            types[ctype] = (_call_figures(of_type), outcomes)
        owners[owner] = (_call_figures(mine), types)
    return {"owners": owners, "total": _call_figures(calls)}


def calls_per_contact(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    calls = _ints(t, span, f, ["call_log"])

    def row(mine: list[dict[str, Any]]) -> dict[str, Any]:
        people = len({c["contact_id"] for c in mine})
        return {"calls": len(mine), "contacts_called": people, "calls_per_contact": _ratio(len(mine), people)}

    owners = {o: row([c for c in calls if c.get("owner_id") == o]) for o in {c.get("owner_id") for c in calls}}
    return {"owners": owners, "total": row(calls)}


def emails_per_contact(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reached: set[str] = set()
    sent = 0
    for kind in ("campaign", "automation"):
        mails = _ints(t, span, f, [f"{kind}_email"])
        people = {m["contact_id"] for m in mails}
        out |= {f"{kind}_emails": len(mails), f"{kind}_contacts": len(people),
                f"{kind}_emails_per_contact": _ratio(len(mails), len(people))}  # fmt: skip
        reached |= people
        sent += len(mails)
    return out | {"emails": sent, "contacts_emailed": len(reached), "emails_per_contact": _ratio(sent, len(reached))}


def interactions_by_type(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    owner_only = {k: v for k, v in f.items() if k == "owner"}  # the report's one filter
    found = _ints(t, span, owner_only)
    return {"by_type": {k: sum(i["type"] == k for i in found) for k in INTERACTION_TYPES}, "total": len(found)}


_TOUCHES = {
    "call_log": "calls",
    "campaign_email": "emails",
    "automation_email": "emails",
    "whatsapp_log": "whatsapp_conversations",
}


def touches_per_user(t: Tenant, span: Span, f: Filters) -> dict[str, Any]:
    rows: dict[Any, dict[str, int]] = {}

    def row(owner: Any) -> dict[str, int]:
        return rows.setdefault(owner, {"contacts": 0, "calls": 0, "emails": 0, "whatsapp_conversations": 0})

    for c in t.contacts.values():  # current owner, not deleted, created on or before the range's end
        if c.get("deleted_at") is None and t.day(c["created_at"]) <= span.end and _ok(f, owner=c.get("owner_id")):
            row(c.get("owner_id"))["contacts"] += 1
    for i in _ints(t, span, f, _TOUCHES):
        row(i.get("owner_id"))[_TOUCHES[i["type"]]] += 1
    for r in rows.values():
        r["communications"] = r["calls"] + r["emails"] + r["whatsapp_conversations"]
        r["communications_per_contact"] = _ratio(r["communications"], r["contacts"])  # type: ignore[assignment]
    return rows


REPORTS: dict[str, Callable[[Tenant, Span, Filters], dict[str, Any]]] = {
    "first-response-time": first_response_time,
    "response-time": response_time,
    "new-contacts": new_contacts,
    "new-conversations": conversations("created_at"),
    "closed-conversations": conversations("closed_at"),
    "origins": origins,
    "activity-heatmap": activity_heatmap,
    "call-duration-by-type": call_duration_by_type,
    "calls-per-contact": calls_per_contact,
    "emails-per-contact": emails_per_contact,
    "interactions-by-type": interactions_by_type,
    "touches-per-user": touches_per_user,
}
