"""The report catalogue: one place for every report's id, titles, filters,
default range and the stored sections it reads (see ../shared/spec/reports.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

FILTERS = ("origin", "group", "channel", "owner")


@dataclass(frozen=True)
class ReportDef:
    id: str
    title_es: str
    title_en: str
    sections: tuple[str, ...]
    # query filter -> dimension of the section it restricts
    filters: dict[str, str] = field(default_factory=dict)
    default_range: str = "last_30_days"
    description: str = ""


_CONV = {"origin": "origin", "group": "group", "channel": "channel", "owner": "owner"}
_CONTACT = {"origin": "origin", "group": "entry_group"}

REPORTS: dict[str, ReportDef] = {
    r.id: r
    for r in (
        ReportDef(
            "first-response-time",
            "Tiempo de primera respuesta (mediana)",
            "First response time (median)",
            ("nc", "frt"),
            _CONTACT,
            description="Median time from a contact's creation to its first effective contact.",
        ),
        ReportDef(
            "response-time",
            "Tiempo de respuesta (mediana)",
            "Response time (median)",
            ("rt",),
            {"origin": "origin", "group": "group", "channel": "channel", "owner": "author"},
            description="Median advisor reply time to each wait a contact starts.",
        ),
        ReportDef(
            "new-contacts",
            "Contactos nuevos",
            "New contacts",
            ("nc",),
            _CONTACT,
            description="Contacts created, deleted ones included, with a per-day series.",
        ),
        ReportDef(
            "new-conversations",
            "Conversaciones nuevas",
            "New conversations",
            ("cv",),
            _CONV,
            description="Conversations created, per day and per channel.",
        ),
        ReportDef(
            "closed-conversations",
            "Conversaciones cerradas",
            "Closed conversations",
            ("cl",),
            _CONV,
            description="Conversations closed, per day and per channel.",
        ),
        ReportDef(
            "origins",
            "Orígenes",
            "Origins",
            ("org",),
            {"origin": "origin", "group": "group"},
            description="Contacts, contacted and resolved conversations per lead source.",
        ),
        ReportDef(
            "activity-heatmap",
            "Horario más activo",
            "Most active hours",
            ("cv",),
            _CONV,
            description="Conversations created by local weekday and hour.",
        ),
    )
}
