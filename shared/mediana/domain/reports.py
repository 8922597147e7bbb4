"""Report values from range summaries (pure Python, no pandas: the read path).

Each builder takes the summaries of the sections its report reads and the
request's filters, and returns JSON-ready ``values`` and ``comparison``. The builders
live in ``conversation_reports`` (seed 000) and ``interaction_reports`` (seed 003),
their shared arithmetic in ``report_values``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mediana.domain.conversation_reports import (
    conversation_counts,
    first_response_time,
    heatmap,
    new_contacts,
    origins,
    response_time,
)
from mediana.domain.definitions import REPORTS, ReportDef
from mediana.domain.interaction_reports import (
    Roster,
    call_duration,
    calls_per_contact,
    emails_per_contact,
    interactions_by_type,
    touches,
)
from mediana.domain.report_values import Filters, median, scalar
from mediana.domain.sections import RangeSummary

__all__ = ["BUILDERS", "Filters", "Roster", "build_report", "median", "scalar"]

Builder = Callable[[ReportDef, Mapping[str, RangeSummary], Filters, Roster], dict[str, Any]]


def _plain_builder(
    build: Callable[[ReportDef, Mapping[str, RangeSummary], Filters], dict[str, Any]],
) -> Builder:
    return lambda report, s, f, roster: build(report, s, f)


BUILDERS: dict[str, Builder] = {
    "first-response-time": _plain_builder(first_response_time),
    "response-time": _plain_builder(response_time),
    "new-contacts": _plain_builder(new_contacts),
    "new-conversations": _plain_builder(conversation_counts("cv")),
    "closed-conversations": _plain_builder(conversation_counts("cl")),
    "origins": _plain_builder(origins),
    "activity-heatmap": _plain_builder(heatmap),
    "call-duration-by-type": call_duration,
    "calls-per-contact": calls_per_contact,
    "emails-per-contact": emails_per_contact,
    "interactions-by-type": interactions_by_type,
    "touches-per-user": touches,
}


def build_report(
    report_id: str, summaries: Mapping[str, RangeSummary], filters: Filters, roster: Roster | None = None
) -> dict[str, Any]:
    """``roster`` (names, active users, call types) matters to the interaction reports only."""
    report = REPORTS[report_id]
    return BUILDERS[report_id](report, summaries, filters, roster or Roster())
