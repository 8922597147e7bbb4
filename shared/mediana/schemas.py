"""Response schemas of the read API (pydantic): the generated OpenAPI document
describes every report's ``values`` through these, and the tests validate real
responses against them. Only the API function imports this (pydantic is in its
dependencies layer); the report builders stay plain Python."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel

Ratio = Annotated[float | None, Field(description="2 decimals; null when the denominator is 0")]


class _Strict(BaseModel):
    # built on first use (a report response, the OpenAPI document), not at the API's cold start
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class Scalar(_Strict):
    current: float | int | None
    previous: float | int | None
    change: float | int | None
    change_pct: float | None = Field(description="null when the previous value is 0 or null")


class RangeInfo(_Strict):
    preset: str | None
    from_: str = Field(alias="from")
    to: str
    days: int
    timezone: str


class PreviousRange(_Strict):
    from_: str = Field(alias="from")
    to: str


class DayCount(_Strict):
    date: str
    count: int


class ChannelCount(_Strict):
    channel: str
    count: int
    previous: int


class MedianValues(_Strict):
    median_seconds: float | int | None = Field(description="exact median in whole seconds; null when empty")
    count: int


class FirstResponseValues(MedianValues):
    pending: int = Field(description="contacts created in range with no effective contact yet")


class SeriesValues(_Strict):
    count: int
    series: list[DayCount]


class ConversationValues(SeriesValues):
    by_channel: list[ChannelCount]


class OriginRow(_Strict):
    origin: str
    contacts: int
    contacted: int
    resolved_conversations: int
    deleted: int


class OriginTotals(_Strict):
    contacts: int
    contacted: int
    resolved_conversations: int
    deleted: int


class OriginValues(_Strict):
    rows: list[OriginRow]
    totals: OriginTotals


class HeatmapValues(_Strict):
    weekdays: list[str]
    hours: list[int]
    matrix: list[list[int]] = Field(description="7 weekdays (Monday first) x 24 local hours")
    count: int


class Owner(_Strict):
    owner_id: str | None = Field(description="null for the unassigned row")
    name: str | None = Field(description="the user's name; 'unassigned' for a null owner")


class CallFigures(_Strict):
    calls: int
    contacts_called: int = Field(description="distinct contacts")
    avg_duration_minutes: Ratio


class OutcomeRow(CallFigures):
    outcome: str | None


class CallTypeRow(CallFigures):
    call_type: str | None
    outcomes: list[OutcomeRow]


class OwnerCallRow(Owner, CallFigures):
    call_types: list[CallTypeRow] = Field(description="the tenant's call types first, even at zero")


class CallDurationValues(_Strict):
    owners: list[OwnerCallRow]
    total: CallFigures


class PerContact(_Strict):
    calls: int
    contacts_called: int = Field(description="distinct contacts; the total row counts each contact once")
    calls_per_contact: Ratio


class OwnerPerContact(Owner, PerContact):
    pass


class CallsPerContactValues(_Strict):
    owners: list[OwnerPerContact]
    total: PerContact


class EmailValues(_Strict):
    campaign_emails: int
    campaign_contacts: int
    campaign_emails_per_contact: Ratio
    automation_emails: int
    automation_contacts: int
    automation_emails_per_contact: Ratio
    emails: int
    contacts_emailed: int = Field(description="distinct contacts with at least one e-mail of either kind")
    emails_per_contact: Ratio


class TypeCount(_Strict):
    type: str
    count: int


class ByTypeValues(_Strict):
    by_type: list[TypeCount] = Field(description="all 11 interaction types, zeros included")
    total: int


class Touches(_Strict):
    contacts: int = Field(description="contacts owned now, not deleted, created on or before the range end")
    calls: int
    emails: int
    whatsapp_conversations: int
    communications: int
    communications_per_contact: Ratio


class OwnerTouches(Owner, Touches):
    pass


class TouchesValues(_Strict):
    owners: list[OwnerTouches]
    total: Touches


VALUES: dict[str, type[BaseModel]] = {
    "first-response-time": FirstResponseValues,
    "response-time": MedianValues,
    "new-contacts": SeriesValues,
    "new-conversations": ConversationValues,
    "closed-conversations": ConversationValues,
    "origins": OriginValues,
    "activity-heatmap": HeatmapValues,
    "call-duration-by-type": CallDurationValues,
    "calls-per-contact": CallsPerContactValues,
    "emails-per-contact": EmailValues,
    "interactions-by-type": ByTypeValues,
    "touches-per-user": TouchesValues,
}


class _ReportBase(_Strict):
    title: dict[str, str]
    range: RangeInfo
    previous_range: PreviousRange
    filters: dict[str, list[str]]
    comparison: dict[str, Scalar] = Field(description="every scalar with its previous-period value and change")
    data_through: str | None = Field(description="source changes up to this instant are reflected")
    computed_at: str | None
    source: Literal["preset", "days"] = Field(description="a precomputed item, or summed per-day items")


def _report_model(report_id: str, values: type[BaseModel]) -> type[_ReportBase]:
    name = "".join(part.title() for part in report_id.split("-")) + "Report"
    annotations: dict[str, Any] = {"report": Literal[report_id], "values": values}  # type: ignore[valid-type]
    return type(name, (_ReportBase,), {"__annotations__": annotations, "__module__": __name__})


REPORT_MODELS = {rid: _report_model(rid, values) for rid, values in VALUES.items()}
_AnyReport = Annotated[  # type: ignore[valid-type]
    Union[tuple(REPORT_MODELS.values())],  # noqa: UP007 - built from the catalogue at import
    Field(discriminator="report"),
]


class ReportResponse(RootModel[_AnyReport]):  # type: ignore[valid-type]
    """One report: a union discriminated by ``report``, so the OpenAPI document
    shows each report's own shape."""
