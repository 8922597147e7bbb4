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
    _conversations,
    _first_response,
    _heatmap,
    _new_contacts,
    _origins,
    _response,
)
from mediana.domain.definitions import REPORTS, ReportDef
from mediana.domain.interaction_reports import Roster, _by_type, _call_duration, _calls_per_contact, _emails, _touches
from mediana.domain.report_values import Filters, median, scalar
from mediana.domain.sections import RangeSummary

__all__ = ["BUILDERS", "Filters", "Roster", "build_report", "median", "scalar"]

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
