"""Response schemas of the read API (pydantic): the generated OpenAPI document
describes every report's ``values`` through these, and the tests validate real
responses against them. Only the API function imports this (pydantic is in its
dependencies layer); the report builders stay plain Python."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel

_RATIO = "2 decimals (the exact quotient, half away from zero); null when the denominator is 0"
Ratio = Annotated[float | None, Field(description=_RATIO)]


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


# ---- the API's other bodies (permissive: they describe, the handlers build them)


class _Open(BaseModel):
    model_config = ConfigDict(defer_build=True)


class ErrorBody(_Open):
    code: str
    message: str
    parameter: str | None = None


class ErrorResponse(_Open):
    error: ErrorBody


class CatalogueEntry(_Open):
    id: str
    title: dict[str, str]
    description: str
    filters: list[str]
    default_range: str
    ranges: list[str]
    custom_range: dict[str, Any]


class Catalogue(_Open):
    reports: list[CatalogueEntry]


class RefreshStatus(_Open):
    refresh_id: str
    status: str = Field(description="queued | running | succeeded | failed")
    requested_at: str | None
    started_at: str | None
    finished_at: str | None
    data_through: str | None = Field(description="what the refresh produced (once succeeded)")
    attempts: int
    error: str | None = Field(description="why it failed, or the last attempt's error while retrying")


class CostLine(_Open):
    line: str
    service: str
    unit: str
    quantity: float
    usd: float


class CostRow(_Open):
    tenant_id: str = Field(description="a tenant, '(shared)' (work for no single tenant) or 'total'")
    days_metered: int
    services_usd: dict[str, float]
    total_usd: float
    lines: list[CostLine]
    reported_capacity: dict[str, float]


class CostReport(_Open):
    month: str
    region: str
    currency: str
    prices_as_of: str
    rows: list[CostRow]
    total: CostRow


class DimensionValue(_Open):
    value: str = Field(description="what the filter parameter takes")
    label: str = Field(description="a name to show (the id when the directory has none)")
    active: bool | None = Field(None, description="owners only: an active user of the tenant")


class Dimensions(_Open):
    origin: list[DimensionValue] = Field(description="lead sources seen in the last 365 days ('unknown': none)")
    group: list[DimensionValue] = Field(description="the tenant's groups, and 'none'")
    channel: list[DimensionValue]
    owner: list[DimensionValue] = Field(description="the tenant's users, and 'none'")
    call_type: list[DimensionValue] = Field(description="the tenant's call types")
    outcome: list[DimensionValue]


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
    filter_labels: dict[str, dict[str, str]] = Field(
        description="names for the ids of the group and owner filters applied ({'owner': {'u-ana': 'Ana'}})"
    )
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
