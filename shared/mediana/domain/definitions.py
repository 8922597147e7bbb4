"""The report catalogue: one place for every report's id, titles, filters,
default range and the stored sections it reads (see ../shared/spec/reports.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

FILTERS = ("origin", "group", "channel", "owner", "call_type", "outcome")


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
    # section -> the dimensions its builder reads besides the date and the filters; the
    # read path decodes nothing else (report_values.section_view). None: every dimension.
    reads: dict[str, tuple[str, ...]] | None = None

    @property
    def needs_directory(self) -> bool:
        """Owner names, active users and call types come from the tenant's directory."""
        return bool({"it", "cc", "ec", "own"} & set(self.sections))


_CONV = {"origin": "origin", "group": "group", "channel": "channel", "owner": "owner"}
_CONTACT = {"origin": "origin", "group": "entry_group"}
# interaction reports: owner restricts rows; call_type and outcome restrict calls only
_CALLS = {"owner": "owner", "call_type": "call_type", "outcome": "outcome"}
_YEAR = "last_365_days"

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
            reads={"nc": ("metric",), "frt": ("seconds",)},
        ),
        ReportDef(
            "response-time",
            "Tiempo de respuesta (mediana)",
            "Response time (median)",
            ("rt",),
            {"origin": "origin", "group": "group", "channel": "channel", "owner": "author"},
            description="Median advisor reply time to each wait a contact starts.",
            reads={"rt": ("seconds",)},
        ),
        ReportDef(
            "new-contacts",
            "Contactos nuevos",
            "New contacts",
            ("nc",),
            _CONTACT,
            description="Contacts created, deleted ones included, with a per-day series.",
            reads={"nc": ("metric",)},
        ),
        ReportDef(
            "new-conversations",
            "Conversaciones nuevas",
            "New conversations",
            ("cv",),
            _CONV,
            description="Conversations created, per day and per channel.",
            reads={"cv": ("channel",)},
        ),
        ReportDef(
            "closed-conversations",
            "Conversaciones cerradas",
            "Closed conversations",
            ("cl",),
            _CONV,
            description="Conversations closed, per day and per channel.",
            reads={"cl": ("channel",)},
        ),
        ReportDef(
            "origins",
            "Orígenes",
            "Origins",
            ("org",),
            {"origin": "origin", "group": "group"},
            description="Contacts, contacted and resolved conversations per lead source.",
            reads={"org": ("origin", "metric")},
        ),
        ReportDef(
            "activity-heatmap",
            "Horario más activo",
            "Most active hours",
            ("cv",),
            _CONV,
            description="Conversations created by local weekday and hour.",
            reads={"cv": ("hour",)},
        ),
        ReportDef(
            "call-duration-by-type",
            "Duración promedio de llamadas según tipo",
            "Average call duration by type",
            ("it", "cc"),
            _CALLS,
            _YEAR,
            "Calls, distinct contacts called and average minutes per owner, call type and outcome, "
            "with subtotals; the tenant's call types appear even with zero calls.",
        ),
        ReportDef(
            "calls-per-contact",
            "Promedio de llamadas por contacto",
            "Calls per contact",
            ("cc",),
            _CALLS,
            _YEAR,
            "Calls, distinct contacts called and calls per contact, per owner and in total.",
        ),
        ReportDef(
            "emails-per-contact",
            "Cantidad promedio de correos enviados por contacto",
            "E-mails sent per contact",
            ("ec",),
            {"owner": "owner"},
            _YEAR,
            "Campaign and automation e-mails, distinct contacts reached, and e-mails per contact.",
        ),
        ReportDef(
            "interactions-by-type",
            "Total de interacciones con contactos según tipo de interacción",
            "Interactions by type",
            ("it",),
            {"owner": "owner"},
            _YEAR,
            "Count of each of the 11 interaction types (zeros included) and the total.",
        ),
        ReportDef(
            "touches-per-user",
            "Comunicaciones/toques por usuario",
            "Touches per user",
            ("it", "own"),
            _CALLS,
            _YEAR,
            "Per owner: contacts owned at the range end, calls, e-mails, WhatsApp conversations "
            "and communications per contact.",
        ),
    )
}
