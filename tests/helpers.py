"""Pure (no AWS) drivers of the domain: fold records, keep day documents, read reports."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from mediana.domain.batch import compute_batch, merge_days
from mediana.domain.cells import Counter, encode_counter
from mediana.domain.contrib import Contributions
from mediana.domain.definitions import REPORTS
from mediana.domain.ranges import resolve_range
from mediana.domain.records import parse_record
from mediana.domain.reports import Roster, build_report
from mediana.domain.sections import RangeSummary
from mediana.domain.timeutil import now_utc
from mediana.domain.versions import newer
from mediana.domain.world import LoadedState
from mediana.storage import blobs

TENANT = "acme"


def stored_counter(counter: Counter) -> Any:
    """``counter``'s stored form (rows, or columns once large) as a document reads it back."""
    return blobs.decode(blobs.encode(encode_counter(counter)))


# zones without daylight saving, about every 3 hours round the clock (UTC+0 ... UTC-3)
_ROUND_THE_CLOCK = ("UTC", "Africa/Nairobi", "Asia/Kolkata", "Asia/Shanghai", "Pacific/Noumea",
                    "Pacific/Kiritimati", "America/Bogota", "America/Argentina/Buenos_Aires")  # fmt: skip


def midday_zone() -> str:
    """A zone where it is now mid-afternoon (13:30-16:30). The demo's data ends now, so a
    test that needs a today with data, or a fixed number of records, must not run in a zone
    whose day has just begun; with this, no wall-clock hour does that."""
    now = now_utc()

    def from_three_pm(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        return abs(local.hour + local.minute / 60 - 15)

    return min(_ROUND_THE_CLOCK, key=from_three_pm)


def normalise(raws: list[dict[str, Any]], start_seq: int = 1) -> list[dict[str, Any]]:
    out = []
    for i, raw in enumerate(raws):
        rec = parse_record({"tenant_id": TENANT, **raw}, TENANT)
        assert isinstance(rec, dict), rec
        rec["seq"] = start_seq + i
        out.append(rec)
    return out


class Model:
    """The aggregator's state machine without storage: worlds, routes, day docs."""

    def __init__(self, tz: str = "UTC") -> None:
        self.tz = tz
        self.state = LoadedState()
        self.days: dict[tuple[str, str], dict[Any, int]] = {}
        self.log: dict[int, dict[str, Any]] = {}  # seq -> record, compacted as the aggregator does

    def apply(self, delta: list[dict[str, Any]]) -> Contributions:
        self.log.update((rec["seq"], dict(rec)) for rec in delta if rec.get("seq") is not None)
        result = compute_batch(delta, self.state, self.tz)
        self.days.update(merge_days(self.days, result.day_delta))
        self.days = {k: v for k, v in self.days.items() if v}
        self.log.update(result.outcome.log_stamps)
        for seq in result.outcome.log_deletes:
            self.log.pop(seq, None)
        return result.day_delta

    def rebuilt(self, cuts: list[int] | None = None) -> Model:
        """A new model from this one's compacted log, replayed in seq order in batches
        split at ``cuts`` (the aggregator's rebuild into a new generation)."""
        replay = [dict(self.log[seq]) for seq in sorted(self.log)]
        model, last = Model(self.tz), 0
        for cut in [*sorted(cuts or []), len(replay)]:
            model.apply(replay[last:cut])
            last = max(last, cut)
        return model

    def report(
        self,
        report_id: str,
        today: date,
        range_name: str | None = None,
        start: str | None = None,
        end: str | None = None,
        filters: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        report = REPORTS[report_id]
        span = resolve_range(today, range_name, start, end, report.default_range)
        summaries = {}
        for section in report.sections:
            summary = RangeSummary(section, span)
            for (sec, day_key), cells in self.days.items():
                if sec == section:
                    summary.fold_doc(day_key, cells)
            summaries[section] = summary
        return build_report(report_id, summaries, filters or {}, Roster.from_directory(self.state.directory))


def latest_versions(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contract's reading of many versions: per kind and id, the one that wins (an
    oracle for the fold, which keeps every version it meets until one beats another)."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        key = (rec["kind"], rec["id"])
        if key not in best or newer(rec, best[key]):
            best[key] = rec
    return list(best.values())


def fed(batches: list[list[dict[str, Any]]], tz: str = "UTC", seq: int = 1) -> tuple[Model, int]:
    """A model fed ``batches`` in order, numbered from ``seq`` as the log numbers them;
    and the next number (for records arriving after them)."""
    model = Model(tz)
    for batch in batches:
        model.apply(normalise(batch, seq))
        seq += len(batch)
    return model, seq


def build(raws: list[dict[str, Any]], tz: str = "UTC") -> Model:
    model = Model(tz)
    model.apply(normalise(raws))
    return model
