"""Every report equals its definition, for any records, range and filters (hypothesis): the
product's answer (folded worlds -> day sections -> range summaries -> report builders)
against ``spec_oracle``, the same reports computed record by record from
``../shared/spec/reports.md``. The other property tests hold the product to itself
(incremental = full, views = whole, buckets = days); this one holds it to the spec, with the
records folded as they arrive (shuffled, duplicated, in one to four refreshes). A
preset is also answered as the read path answers it, from its buckets and the day it
leaves apart."""

from __future__ import annotations

import copy
import itertools
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import spec_oracle as spec
from helpers import Model, fed, midday_zone, normalise
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mediana.domain.definitions import REPORTS
from mediana.domain.presets import apart_day, build_presets, merged
from mediana.domain.ranges import PRESETS
from mediana.domain.records import parse_record
from mediana.domain.reports import Roster, build_report
from mediana.domain.sections import RangeSummary
from mediana.domain.timeutil import format_instant, local_today
from mediana_cli.demo import generate, write_jsonl
from mediana_cli.local import upload
from test_pipeline_moto import get

EXAMPLES = int(os.environ.get("MEDIANA_PROPERTY_EXAMPLES", "120"))
TZ = "America/Santiago"  # DST ends on 2026-04-05: a local day of 25 hours inside the data
BASE = datetime(2026, 3, 28, tzinfo=UTC)
DAYS = 24  # records fall in [BASE, BASE + DAYS)
CONTACTS = [f"c{i}" for i in range(5)]
CONVS = [f"v{i}" for i in range(6)]

_DST_ENDS = int(datetime(2026, 4, 5, 3, tzinfo=UTC).timestamp() - BASE.timestamp())  # 00:00 -03 -> 23:00 -04
# hypothesis draws small integers most: scrambled, they spread over the days (0 -> the middle day)
_SPREAD = st.integers(0, DAYS * 86400 - 1).map(lambda s: (s * 7_654_321 + DAYS * 43200) % (DAYS * 86400))
_SECOND = (
    _SPREAD
    | _SPREAD
    | st.sampled_from([_DST_ENDS - 1, _DST_ENDS, _DST_ENDS + 3599, 3 * 86400 + 36000, 15 * 86400 + 36000])
)
# instants at a few fractions, and often at one of a few seconds, so ties in created_at are common
instants = st.builds(lambda s, ns: format_instant((int(BASE.timestamp()) + s) * 10**9 + ns), _SECOND,
                     st.sampled_from([0, 0, 1, 500_000_000, 999_999_999]))  # fmt: skip
versions = st.sampled_from(["2026-05-01T00:00:00Z", "2026-05-01T00:00:01Z", "2026-05-01T00:00:02Z"])
_GROUPS = st.sampled_from(["g1", "g2", None])
_OWNERS = st.sampled_from(["u1", "u2", None])
_NAMES = st.sampled_from(["Bruno", "", "Ana"])


def _contact(cid: str) -> st.SearchStrategy[dict[str, Any]]:
    live = st.fixed_dictionaries(
        {
            "kind": st.just("contact"),
            "id": st.just(cid),
            "updated_at": versions,
            "created_at": instants,
            "origin": st.sampled_from(["Ads", "Web", None, ""]),
            "entry_group_id": _GROUPS,
            "group_id": _GROUPS,
            "owner_id": _OWNERS,
            "deleted_at": st.none() | st.none() | instants,
        }
    )
    erased = st.fixed_dictionaries({"kind": st.just("contact"), "id": st.just(cid), "updated_at": versions,
                                    "erased": st.just(True)})  # fmt: skip
    return live | live | live | erased


def _conversation(vid: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "kind": st.just("conversation"),
            "id": st.just(vid),
            "updated_at": versions,
            "contact_id": st.sampled_from([*CONTACTS[:4], *CONTACTS, "c-missing"]),
            "channel": st.sampled_from(["whatsapp", "email", "sms", None]),  # none given: "other"
            "created_at": instants,
            "closed_at": st.none() | instants,
            "group_id": _GROUPS,
            "owner_id": _OWNERS,
        }
    )


_AUTHORS = st.sampled_from(
    [
        ("inbound", "contact", None),
        ("inbound", "contact", None),
        ("outbound", "advisor", "u1"),
        ("outbound", "advisor", "u2"),
        ("outbound", "bot", None),
        ("outbound", "system", None),
    ]
)


def _message(mid: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda up, vid, at, who: {"kind": "message", "id": mid, "updated_at": up, "conversation_id": vid,
                                  "direction": who[0], "author_type": who[1], "author_id": who[2], "created_at": at},
        versions, st.sampled_from([*CONVS[:4], *CONVS]), instants, _AUTHORS,
    )  # fmt: skip


def _interaction(iid: str) -> st.SearchStrategy[dict[str, Any]]:
    kinds = ["call_log", "call_log", "call_log", "campaign_email", "automation_email", "whatsapp_log", "note"]
    return st.builds(
        lambda up, cid, kind, at, owner, ctype, outcome, secs: {
            "kind": "interaction", "id": iid, "updated_at": up, "contact_id": cid, "owner_id": owner, "type": kind,
            "occurred_at": at,
            **({"call_type": ctype, "outcome": outcome, "duration_seconds": secs} if kind == "call_log" else {}),
        },
        versions, st.sampled_from(CONTACTS), st.sampled_from(kinds), instants, _OWNERS,
        st.sampled_from(["demo", "closing", "custom", None]), st.sampled_from(["answered", "rejected", "busy", None]),
        st.sampled_from([None, 0, 0.9, 30, 45.5, 61, 3600]),  # 0.9 s is 0.015 min: 0.02 to 2 decimals
    )  # fmt: skip


Arrivals = tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]  # the records, the deltas they came in


@st.composite
def tenants(draw: st.DrawFn) -> Arrivals:
    """Several versions of each record, some erased, some naming a parent that never arrives;
    and the deltas they arrive in: shuffled, some sent twice, in one to four refreshes."""
    recs: list[dict[str, Any]] = []
    kinds = ((_contact, CONTACTS), (_conversation, CONVS), (_message, [f"m{i}" for i in range(32)]),
             (_interaction, [f"i{i}" for i in range(12)]))  # fmt: skip
    for make, ids in kinds:
        for n, rid in enumerate(ids):
            recs += draw(st.lists(make(rid), min_size=1 if n < 4 else 0, max_size=2))  # c4, v4, v5 may be missing
    recs.append({"kind": "user", "id": "u1", "updated_at": "2026-05-01T00:00:00Z", "name": "Ana"})
    recs.append({"kind": "user", "id": "u2", "updated_at": "2026-05-01T00:00:00Z", "name": draw(_NAMES),
                 "active": draw(st.booleans())})  # fmt: skip
    if draw(st.booleans()):  # the tenant's own call types; without it, the contract's default five
        recs.append(
            {
                "kind": "tenant",
                "id": "acme",
                "updated_at": "2026-05-01T00:00:00Z",
                "name": "Acme",
                "call_types": draw(st.sampled_from([["demo", "custom"], []])),  # [] lists no call type
            }
        )  # its zone: the request's (Model(tz))
    for target in draw(st.lists(st.sampled_from(["v0", "m0", "m1", "i0"]), max_size=2)):
        kind, parent = {"v": ("conversation", "contact_id"), "m": ("message", "conversation_id"),
                        "i": ("interaction", "contact_id")}[target[0]]  # fmt: skip
        recs.append({"kind": kind, "id": target, "updated_at": "2026-05-01T00:00:00Z", "erased": True,
                     parent: "c0" if kind != "message" else "v0"})  # fmt: skip
    stream = draw(st.permutations(recs + draw(st.lists(st.sampled_from(recs), max_size=4))))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=3)))
    return recs, [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)])]


_FIRST, _LAST = BASE.date() - timedelta(days=3), BASE.date() + timedelta(days=DAYS + 3)
_END = BASE.date() + timedelta(days=DAYS - 1)  # the records' last day
_dates = st.integers(0, (_LAST - _FIRST).days).map(lambda d: _LAST - timedelta(days=d))  # late days first
# a query's filter values: "none" (and, for interaction reports, "unassigned") names a missing value
_VALUES = {
    "origin": ["Ads", "Web", "unknown"],
    "group": ["g1", "g2", "none"],
    "channel": ["whatsapp", "email", "other"],
    "owner": ["u1", "u2", "none"],
    "call_type": ["demo", "closing", "custom", "none"],
    "outcome": ["answered", "rejected", "busy", "none"],
}


Request = tuple[str, date, dict[str, Any], dict[str, dict[str, list[str]]]]
# zones whose local days differ from UTC's by whole hours, by a half or three quarters, and two
# whose daylight saving ends inside the data (a local day of 25 hours): the oracle reads them
# with zoneinfo, the product with pandas
ZONES = ("America/Santiago", "America/Santiago", "Pacific/Chatham", "Asia/Kolkata", "UTC")


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """The tenant's zone, a today (mostly where the records end, so the presets meet them), a
    preset or a custom range, and each report's filters."""
    tz = draw(st.sampled_from(ZONES))
    today = draw(st.sampled_from([_END, _END - timedelta(days=1), _END + timedelta(days=2)]) | _dates)
    if draw(st.booleans()):
        span: dict[str, Any] = {"range_name": draw(st.sampled_from([*sorted(PRESETS), None]))}
    else:
        start = draw(_dates)
        end = start + timedelta(days=draw(st.integers(0, 40)))
        span = {"start": start.isoformat(), "end": end.isoformat()}
    filters: dict[str, dict[str, list[str]]] = {}
    for report_id, report in sorted(REPORTS.items()):
        filters[report_id] = {}
        for name in report.filters:
            if draw(st.integers(0, 3)) == 0:
                pool = _VALUES[name] + (["unassigned"] if name == "owner" and report_id in _INTERACTION else [])
                filters[report_id][name] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    return tz, today, span, filters


_INTERACTION = {"call-duration-by-type", "calls-per-contact", "emails-per-contact", "interactions-by-type",
                "touches-per-user"}  # fmt: skip


def _accepted(report_id: str, filters: dict[str, list[str]]) -> dict[str, set[Any]]:
    missing = {"none", "unassigned"} if report_id in _INTERACTION else {"none"}
    return {name: {None if v in missing else v for v in values} for name, values in filters.items()}


def _span(today: date, span: dict[str, Any], default: str) -> spec.Span:
    if "start" in span:
        return spec.Span(date.fromisoformat(span["start"]), date.fromisoformat(span["end"]))
    return spec.preset(span.get("range_name") or default, today)


# ---- the product's answer, in the oracle's shape --------------------------------------


def _rows(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Owner rows by owner, leaving out the rows of nothing (listed users with no activity)."""
    out = {}
    for row in rows:
        figures = {k: v for k, v in row.items() if k not in ("owner_id", "name")}
        if any(figures.get(k) for k in ("calls", "contacts", "emails", "whatsapp_conversations", "communications")):
            out[row["owner_id"]] = figures
    return out


def _calls_tree(values: dict[str, Any]) -> dict[str, Any]:
    owners = {}
    for row in values["owners"]:
        types = {}
        for t in row["call_types"]:
            if t["calls"]:
                outcomes = {o["outcome"]: {k: v for k, v in o.items() if k != "outcome"} for o in t["outcomes"]}
                types[t["call_type"]] = ({k: v for k, v in t.items() if k not in ("call_type", "outcomes")}, outcomes)
        if row["calls"]:
            owners[row["owner_id"]] = (
                {k: v for k, v in row.items() if k not in ("owner_id", "name", "call_types")},
                types,
            )
    return {"owners": owners, "total": values["total"]}


def _product(report_id: str, values: dict[str, Any]) -> dict[str, Any]:
    if report_id in ("new-conversations", "closed-conversations"):
        by_channel = {r["channel"]: {"count": r["count"], "previous": r["previous"]} for r in values["by_channel"]}
        return {**values, "by_channel": by_channel}
    if report_id == "origins":
        counts = [r["contacts"] for r in values["rows"]]
        assert counts == sorted(counts, reverse=True), "rows by contacts, descending"
        return {r["origin"]: {k: v for k, v in r.items() if k != "origin"} for r in values["rows"]}
    if report_id == "activity-heatmap":
        return {"matrix": values["matrix"], "count": values["count"]}
    if report_id == "call-duration-by-type":
        return _calls_tree(values)
    if report_id == "calls-per-contact":
        return {"owners": _rows(values["owners"]), "total": values["total"]}
    if report_id == "interactions-by-type":
        return {"by_type": {r["type"]: r["count"] for r in values["by_type"]}, "total": values["total"]}
    if report_id == "touches-per-user":
        return _rows(values["owners"])
    return values


def _scalars(report_id: str, oracle: dict[str, Any]) -> dict[str, Any]:
    """The oracle's figures under the names of the product's ``comparison``."""
    if report_id == "origins":
        return {
            n: sum(row[n] for row in oracle.values())
            for n in ("contacts", "contacted", "resolved_conversations", "deleted")
        }
    if report_id in ("call-duration-by-type", "calls-per-contact"):
        return oracle["total"]
    if report_id == "interactions-by-type":
        return {"total": oracle["total"], **oracle["by_type"]}
    if report_id == "touches-per-user":
        touched = ("contacts", "calls", "emails", "whatsapp_conversations", "communications")
        total = {n: sum(row[n] for row in oracle.values()) for n in touched}
        return total | {"communications_per_contact": spec._ratio(total["communications"], total["contacts"])}
    return {k: v for k, v in oracle.items() if k not in ("series", "by_channel", "matrix")}


def _from_presets(
    model: Model,
    presets: dict[tuple[str, str], RangeSummary],
    report_id: str,
    today: date,
    preset: str,
    filters: dict[str, list[str]],
) -> dict[str, Any]:
    summaries = {}
    for section in REPORTS[report_id].sections:
        summary = copy.deepcopy(presets[(preset, section)])
        apart = apart_day(section, summary.span, today)
        if apart is not None and (section, apart.isoformat()) in model.days:
            summary.fold_doc(apart.isoformat(), model.days[(section, apart.isoformat())])
        summaries[section] = summary
    return build_report(report_id, summaries, filters, Roster.from_directory(model.state.directory))


def _check(arrivals: Arrivals, request: Request) -> None:
    """Every report, for one tenant's records (folded as they arrived), range and each report's
    filters."""
    recs, deltas = arrivals
    tz, today, span, filters = request
    model, _ = fed(deltas, tz)
    tenant = spec.Tenant(normalise(recs), tz)
    preset = span.get("range_name")
    presets = merged(build_presets(today, model.days, apart=today)) if preset else {}
    for report_id, report_filters in filters.items():
        answer = model.report(report_id, today, filters=report_filters, **span)
        if preset:  # as the read path answers a preset: its buckets, and today's documents it leaves apart
            assert _from_presets(model, presets, report_id, today, preset, report_filters) == answer, report_id
        cur = _span(today, span, REPORTS[report_id].default_range)
        accepted = _accepted(report_id, report_filters)
        oracle = spec.REPORTS[report_id](tenant, cur, accepted)
        assert _product(report_id, answer["values"]) == oracle, report_id
        previous = _scalars(report_id, spec.REPORTS[report_id](tenant, cur.previous, accepted))
        assert {k: v["current"] for k, v in answer["comparison"].items()} == _scalars(report_id, oracle), report_id
        assert {k: v["previous"] for k, v in answer["comparison"].items()} == previous, report_id
        if report_id in ("call-duration-by-type", "calls-per-contact", "touches-per-user"):
            _check_owner_rows(tenant, report_id, answer["values"]["owners"], accepted)


def _check_owner_rows(tenant: spec.Tenant, report_id: str, rows: list[dict[str, Any]], f: spec.Filters) -> None:
    """Owner rows name the user, a null owner is the row "unassigned"; in call-duration-by-type
    every row lists the tenant's call types, even with zero calls (those the filter keeps)."""
    for row in rows:
        name = "unassigned" if row["owner_id"] is None else tenant.user_name(row["owner_id"])
        assert row["name"] == name, (report_id, row)
        if report_id == "call-duration-by-type":
            wanted = [c for c in tenant.call_types if "call_type" not in f or c in f["call_type"]]
            listed = [t["call_type"] for t in row["call_types"]]
            assert listed[: len(wanted)] == wanted, (row, wanted)


def _conversation_of(*messages: tuple[str, str, str]) -> Arrivals:
    """A contact, its conversation, and messages (id, direction, created_at) in it, in one delta."""
    at = "2026-05-01T00:00:00Z"
    recs: list[dict[str, Any]] = [
        {"kind": "contact", "id": "c0", "updated_at": at, "created_at": "2026-04-01T10:00:00Z"},
        {"kind": "conversation", "id": "v0", "updated_at": at, "contact_id": "c0", "channel": "whatsapp",
         "created_at": "2026-04-01T10:00:00Z"},
        *({"kind": "message", "id": mid, "updated_at": at, "conversation_id": "v0", "direction": direction,
           "author_type": "contact" if direction == "inbound" else "advisor",
           "author_id": None if direction == "inbound" else "u1", "created_at": created}
          for mid, direction, created in messages),
    ]  # fmt: skip
    return recs, [recs]


_ALL_UNFILTERED: Request = (TZ, date(2026, 4, 3), {"range_name": "last_7_days"}, {r: {} for r in REPORTS})


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenants(), requests())
# an inbound and the reply at one instant: by id, the inbound comes first and the wait is 0 s
@example(_conversation_of(("m1", "inbound", "2026-04-01T10:05:00Z"), ("m2", "outbound", "2026-04-01T10:05:00Z")),
         _ALL_UNFILTERED)  # fmt: skip
# a wait of 299.5 s is 299 whole seconds (truncated, not rounded)
@example(_conversation_of(("m1", "inbound", "2026-04-01T10:00:00.5Z"), ("m2", "outbound", "2026-04-01T10:05:00Z")),
         _ALL_UNFILTERED)  # fmt: skip
def test_every_report_equals_its_definition(arrivals: Arrivals, request: Request) -> None:
    _check(arrivals, request)


# ---- through the API on moto: the demo tenant ------------------------------------------------


def _queries(report_id: str, today: date) -> list[tuple[dict[str, Any], dict[str, list[str]]]]:
    """(range, filters): every preset, a custom range across a month's end, and the report's
    filters set to common values and to a missing one."""
    ranges: list[dict[str, Any]] = [{"range_name": p} for p in sorted(PRESETS)]
    ranges.append({"start": (today - timedelta(days=33)).isoformat(), "end": (today - timedelta(days=2)).isoformat()})
    picks = {
        "origin": ["Facebook Ads", "unknown"],
        "group": ["g-sales"],
        "channel": ["whatsapp", "email"],
        "owner": ["u-ana", "none"],
        "call_type": ["prequalification", "follow_up"],
        "outcome": ["answered"],
    }
    filtered = {name: picks[name] for name in REPORTS[report_id].filters}
    one = dict(list(filtered.items())[:1])
    presets = [({"range_name": "last_30_days"}, one), ({"range_name": "today"}, filtered)]
    return [(r, {}) for r in ranges] + [(ranges[-1], filtered), *presets]


def test_the_api_answers_the_demo_tenant_as_the_definitions_say(stack: Any) -> None:
    """The whole pipeline as deployed (ingest, log, aggregator, stored presets and days, the
    read function's JSON) against the oracle, on the demo's 40 days of one tenant."""
    tz = midday_zone()  # the demo has data today, whatever the hour the suite runs at
    raws = list(generate("acme", 40, 11, per_day=6, timezone=tz))
    upload(stack.store, "acme", "demo.jsonl", "\n".join(write_jsonl(raws)).encode())
    stack.pump.drain()
    parsed = [parse_record(raw, "acme") for raw in raws]
    tenant = spec.Tenant([r for r in parsed if isinstance(r, dict)], tz)
    today = local_today(tz)
    compared = 0
    for report_id in sorted(REPORTS):
        for asked, filters in _queries(report_id, today):
            query = "&".join([_range_query(asked), *(f"{k}={quote(v)}" for k, vs in filters.items() for v in vs)])
            status, _, body = get(f"/v1/reports/{report_id}?{query}", "acme")
            assert status == 200, (report_id, query, body)
            span = spec.Span(date.fromisoformat(body["range"]["from"]), date.fromisoformat(body["range"]["to"]))
            assert span == _span(today, asked, REPORTS[report_id].default_range), query
            oracle = spec.REPORTS[report_id](tenant, span, _accepted(report_id, filters))
            assert _product(report_id, body["values"]) == oracle, (report_id, query)
            compared += 1
    assert compared == len(REPORTS) * (len(PRESETS) + 4)


def _range_query(asked: dict[str, Any]) -> str:
    return f"range={asked['range_name']}" if "range_name" in asked else f"from={asked['start']}&to={asked['end']}"
