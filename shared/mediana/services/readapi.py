"""The read side of the API as plain functions (no pandas: cold start matters).

A preset answers from one precomputed item per section (fetched with the tenant
state in a single BatchGetItem); a custom range, or a preset whose local day has
rolled, sums the stored per-day sections. Both give identical numbers. A preset
found from an earlier day asks the aggregator to roll the tenant's presets. A preset
bucket this code cannot decode (a newer writer's, during a deploy, or a damaged one) is
answered from the days too, and logged; any other such item is a 503 to retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mediana.domain.cells import decode_counter
from mediana.domain.definitions import REPORTS
from mediana.domain.presets import apart_day, bucket_ids, stored_run, valid_for
from mediana.domain.projections import ROLES, answers, decode_role
from mediana.domain.ranges import PRESETS, DateRange, preset_range, resolve_range
from mediana.domain.records import CALL_OUTCOMES, CHANNELS
from mediana.domain.report_values import SectionViews, request_views
from mediana.domain.reports import Roster, build_report
from mediana.domain.sections import SECTIONS, RangeSummary, add_into, keeps_today_apart
from mediana.domain.timeutil import local_today
from mediana.metering.meter import METER
from mediana.services.request import ApiError, parse_query
from mediana.services.unreadable import fail_unreadable
from mediana.storage import keys
from mediana.storage.documents import DamagedItem, HeadEnough, Unreadable
from mediana.storage.generations import ReadView, read_view
from mediana.storage.store import Store


def catalogue() -> dict[str, Any]:
    return {
        "reports": [
            {
                "id": r.id,
                "title": {"es": r.title_es, "en": r.title_en},
                "description": r.description,
                "filters": list(r.filters),
                "default_range": r.default_range,
                "ranges": list(PRESETS),
                "custom_range": {"max_days": 366, "params": ["from", "to"]},
            }
            for r in REPORTS.values()
        ]
    }


def summaries_from_days(
    store: Store,
    tenant: str,
    gen: int,
    sections: Iterable[str],
    span: DateRange,
    views: Mapping[str, SectionViews] | None = None,
) -> dict[str, RangeSummary]:
    """Sum stored day documents over a range and its previous period (each through its view).
    One that does not decode fails the request with a 503, as a read to retry."""
    out = {section: RangeSummary(section, span) for section in sections}
    day_views = {s: v.day for s, v in (views or {}).items()}
    try:
        stored = store.day_docs(tenant, gen, out, span.previous.start, span.end, views=day_views)
    except DamagedItem as damaged:
        fail_unreadable(
            store, tenant, {(damaged.pk, damaged.base): Unreadable(damaged.pk, damaged.base, damaged.reason)}
        )
        raise  # not reached: fail_unreadable raised the 503
    for (section, day_key), cells in stored.items():
        out[section].fold_doc(day_key, cells)
    return out


def get_report(store: Store, tenant: str, report_id: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
    if report_id not in REPORTS:
        raise ApiError(404, "not_found", f"unknown report {report_id!r}")
    report = REPORTS[report_id]
    ranges, filters = parse_query(report_id, query)
    views = request_views(report, filters)  # decode only what the answer reads
    custom = ranges["from"] is not None
    preset = None if custom else (ranges["range"] or report.default_range)

    named = [name for name in LABELLED if filters.get(name)]  # ids the SPA shows: their names too
    with_directory = report.needs_directory or bool(named)
    view, docs = _read_state_and_docs(store, tenant, preset, report.sections, with_directory, _heads_enough(views))
    tz = view.tz
    today = local_today(tz)
    span = resolve_range(today, ranges["range"], ranges["from"], ranges["to"], report.default_range)

    presets_pk = keys.presets_pk(tenant, view.gen)
    unreadable = fail_unreadable(store, tenant, docs, presets_pk)
    found = {base: doc for (pk, base), doc in docs.items() if pk == presets_pk and not isinstance(doc, Unreadable)}
    stale = any(not valid_for(doc, span, today) for doc in found.values())  # presets of an earlier day
    # a bucket left out would read as an empty one: with any unreadable, the days answer
    runs = _runs(preset, report.sections, span, found) if preset and not stale and not unreadable else None
    if runs is not None:
        days_pk = keys.days_pk(tenant, view.gen)
        summaries = {s: _with_day_apart(s, span, today, run, docs, days_pk, views[s]) for s, run in runs.items()}
        source = "preset"
    else:
        summaries = summaries_from_days(store, tenant, view.gen, report.sections, span, views)
        source = "days"
        if stale and not view.rebuilding:
            roll_presets(store, tenant, span.end)
    directory = docs.get((keys.tenant_pk(tenant), keys.directory_base(view.gen)))
    body = build_report(report_id, summaries, filters, Roster.from_directory(directory))
    return {
        "report": report_id,
        "title": {"es": report.title_es, "en": report.title_en},
        "range": {
            "preset": span.preset,
            "from": span.start.isoformat(),
            "to": span.end.isoformat(),
            "days": span.days,
            "timezone": tz,
        },
        "previous_range": {"from": span.previous.start.isoformat(), "to": span.previous.end.isoformat()},
        "filters": filters,
        "filter_labels": {name: labels(directory, name, filters[name]) for name in named},
        **body,
        "data_through": view.data_through,
        "computed_at": view.computed_at,
        "source": source,
    }


_SEEN: dict[str, tuple[int, str]] = {}  # per container: the generation and time zone each tenant's readers last found
_ROLLED: dict[str, date] = {}  # per container: the local day each tenant's presets were last asked to roll to


def roll_presets(store: Store, tenant: str, today: date) -> bool:
    """Ask the aggregator to roll a tenant's presets to today: presets roll on demand, not at
    every local midnight, so an idle tenant nobody reads costs nothing a day (issue 11). Until
    they roll, readers sum the day documents: the same numbers, a few more read units. One
    message per tenant per day per container; SQS FIFO deduplicates the containers' copies,
    and a tenant already rolled costs the aggregator one read. Best effort: a refused send is
    asked again by the next read, and the read it came from is answered all the same."""
    if _ROLLED.get(tenant) == today:
        return False
    try:
        store.enqueue(tenant, "presets", f"{tenant}:presets:{today.isoformat()}")
    except (BotoCoreError, ClientError):
        return False
    _ROLLED[tenant] = today
    return True


def _heads_enough(views: Mapping[str, SectionViews]) -> HeadEnough:
    """A preset bucket in parts whose head (part 0: its projections, and the counters it has
    none of) answers this request's views needs no other part (``domain/projections``)."""

    def enough(head: Any) -> bool:
        section_views = views.get(str(head.get("section"))) if isinstance(head, dict) else None
        return section_views is not None and all(answers(head, role, getattr(section_views, role)) for role in ROLES)

    return enough


def _read_state_and_docs(
    store: Store,
    tenant: str,
    preset: str | None,
    sections: Iterable[str],
    directory: bool,
    enough: HeadEnough | None = None,
) -> tuple[ReadView, dict[tuple[str, str], Any]]:
    """The tenant's read view and the preset/directory documents of its generation, with
    today's day documents of the dated sections (kept apart from the presets that contain
    today): one BatchGetItem with the generation and time zone this container last saw, a
    second only after a rebuild switched the generation or the zone (or the day) changed. A
    preset bucket in parts is its head alone when that is ``enough``."""
    sections = list(sections)

    def wanted(gen: int, tz: str) -> list[tuple[str, str]]:
        today = local_today(tz)
        out = []
        if preset:  # every bucket, and today's day documents of the presets that leave today to them
            span = preset_range(preset, today)
            pk = keys.presets_pk(tenant, gen)
            out = [(pk, keys.preset_base(preset, s, b)) for s in sections for b in bucket_ids(preset, s, span)]
            apart = [s for s in sections if keeps_today_apart(s, span, today)]
            out += [(keys.days_pk(tenant, gen), keys.day_base(s, today.isoformat())) for s in apart]
        return out + ([(keys.tenant_pk(tenant), keys.directory_base(gen))] if directory else [])

    guess = _SEEN.get(tenant, (0, "UTC"))
    asked = wanted(*guess)
    state, docs = store.get_state_and_docs(tenant, asked, enough)
    view = read_view(state)
    if view.damaged:
        raise ApiError(503, "unreadable_item", "the reports cannot be read while they are rebuilt; retry shortly")
    if not view.exists:  # a token's tenant that never sent data nor asked a refresh: no ledger row of its own
        METER.rebook(tenant)
    if view.gen != guess[0]:
        docs = {}
        asked = []
    _SEEN[tenant] = (view.gen, view.tz)
    pairs = [pair for pair in wanted(view.gen, view.tz) if pair not in asked]
    if pairs:  # the guess missed (another generation, or another local date): one more round, all partitions
        by_pk: dict[str, list[str]] = {}
        for pk, base in pairs:
            by_pk.setdefault(pk, []).append(base)
        for pk, found in store.get_docs_of(by_pk, consistent=False, enough=enough, marked=True).items():
            docs.update({(pk, base): doc for base, (doc, _) in found.items()})
    return view, docs


def _runs(
    preset: str, sections: Iterable[str], span: DateRange, found: Mapping[str, Any]
) -> dict[str, list[Any]] | None:
    """Each section's stored buckets of the preset (``presets.stored_run``), or None if one has none."""
    out = {}
    for s in sections:
        ids = bucket_ids(preset, s, span)
        by_bucket = {b: found.get(keys.preset_base(preset, s, b)) for b in ids}
        run = stored_run(ids, [b for b, doc in by_bucket.items() if doc is not None])
        if run is None:
            return None
        out[s] = [by_bucket[b] for b in run]
    return out


def _with_day_apart(
    section: str,
    span: DateRange,
    today: date,
    buckets: list[Mapping[str, Any]],
    docs: Mapping[tuple[str, str], Any],
    days_pk: str,
    views: SectionViews,
) -> RangeSummary:
    """A preset's summary -- the sum of its buckets -- plus the day it leaves to its day
    document (none stored: nothing happened that day), each decoded through its view."""
    summary = RangeSummary(section, span)
    for doc in buckets:
        add_into(summary.cur, decode_role(doc, "cur", views.cur))  # a stored projection, if one serves
        add_into(summary.prev, decode_role(doc, "prev", views.prev))
    apart = apart_day(section, span, today)
    if apart is not None:
        day = docs.get((days_pk, keys.day_base(section, apart.isoformat())))
        if day is not None:
            summary.fold_doc(apart.isoformat(), decode_counter(day["cells"], views.day))
    return summary


__all__ = ["ApiError", "catalogue", "get_report", "parse_query", "SECTIONS"]


LABELLED = ("group", "owner")  # filters whose values are directory ids
NO_VALUE = {"group": "(no group)", "owner": "(unassigned)"}


def labels(directory: Mapping[str, Any] | None, name: str, values: Iterable[str]) -> dict[str, str]:
    """A name for each id of a group or owner filter: the directory's, '(no group)' or
    '(unassigned)' for none, the id itself when the directory has no name for it."""
    entries = (directory or {}).get("groups" if name == "group" else "users") or {}
    out = {}
    for value in values:
        entry = entries.get(value)
        if value in ("none", "unassigned"):
            out[value] = NO_VALUE[name]
        else:
            known = entry.get("name") if entry and not entry.get("erased") else None
            out[value] = str(known) if known else value
    return out


def dimensions(store: Store, tenant: str) -> dict[str, list[dict[str, Any]]]:
    """The values each filter takes, for pickers: the contract's enumerations, the tenant's
    users, groups and call types from its directory, and the origins its last 365 days saw
    (the origins report: one preset read)."""
    view, docs = _read_state_and_docs(store, tenant, None, (), directory=True)
    directory: Mapping[str, Any] = docs.get((keys.tenant_pk(tenant), keys.directory_base(view.gen))) or {}
    roster = Roster.from_directory(directory)
    groups = {gid: g for gid, g in (directory.get("groups") or {}).items() if g and not g.get("erased")}
    origins = get_report(store, tenant, "origins", {"range": ["last_365_days"]})["values"]["rows"]

    def listed(pairs: Iterable[tuple[str, str | None]]) -> list[dict[str, Any]]:
        return [{"value": value, "label": label or value} for value, label in pairs]

    active = set(roster.active)
    owners = [{**entry, "active": entry["value"] in active} for entry in listed(sorted(roster.names.items()))]
    return {
        "origin": listed((row["origin"], None) for row in origins),
        "group": listed([*sorted((gid, g.get("name")) for gid, g in groups.items()), ("none", NO_VALUE["group"])]),
        "channel": listed((c, None) for c in CHANNELS),
        "owner": [*owners, *listed([("none", NO_VALUE["owner"])])],
        "call_type": listed((t, None) for t in roster.call_types),
        "outcome": listed((o, None) for o in CALL_OUTCOMES),
    }
