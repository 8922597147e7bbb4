"""Additive summary sections: the unit that day documents and presets store.

A section is a counter ``dims tuple -> int``. Everything a report needs is a sum
of such counters over days, so days merge by addition, incremental updates apply
signed deltas, and a median reads off a merged whole-second histogram (the
``seconds`` dimension). Pure Python: the read path uses this without pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mediana.domain.cells import Counter, Encoded, Key, decode_counter, encode_counter
from mediana.domain.ranges import DateRange

ALL_DAYS = "all"  # the one "day" key of a cumulative section


@dataclass(frozen=True)
class Section:
    name: str
    dims: tuple[str, ...]
    series: bool  # keep the local date in range summaries (per-day series, weekday)
    # Cumulative: one stored document (day key ALL_DAYS) whose first dim is a local
    # date; a range summary counts every cell dated on or before the range's end
    # (and keeps the other dims). "Contacts owned at the range end" reads one item,
    # however long the history.
    cumulative: bool = False


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        # contacts created: metric n = created, p = pending (no effective contact yet)
        Section("nc", ("origin", "entry_group", "metric"), True),
        # first response time histogram, on the contact's created date
        Section("frt", ("origin", "entry_group", "seconds"), False),
        # origins table: metric c contacts, ct contacted, r resolved conversations, d deleted
        Section("org", ("origin", "group", "metric"), False),
        # conversations created, by local hour (weekday derives from the date)
        Section("cv", ("origin", "group", "channel", "owner", "hour"), True),
        # conversations closed
        Section("cl", ("origin", "group", "channel", "owner"), True),
        # response time histogram, on the reply's date
        Section("rt", ("origin", "group", "channel", "author", "seconds"), False),
        # interactions by occurred date: metric n = count, ms = call duration (milliseconds) summed
        Section("it", ("owner", "type", "call_type", "outcome", "metric"), False),
        # calls per contact: the contact is a dimension, so summing days keeps one cell per
        # (owner, call type, outcome, contact) and a distinct count of any range is exact
        Section("cc", ("owner", "call_type", "outcome", "contact"), False),
        # campaign / automation e-mails per contact (kind c / a), same idea
        Section("ec", ("owner", "kind", "contact"), False),
        # contacts (not deleted) by local creation date and current owner
        Section("own", ("created", "owner"), False, cumulative=True),
    )
}


def keeps_today_apart(section: str, span: DateRange, today: date) -> bool:
    """A preset of a dated section whose range contains today leaves today's cells to that
    day's document (a reader adds it), so a change to today rewrites no such preset."""
    return today in span and not SECTIONS[section].cumulative


def kept_apart(section: str, day_key: str, apart: str | None) -> bool:
    """A day document's cells that stay out of every preset: a dated section's, on ``apart``
    (today's ISO date) -- the day ``keeps_today_apart`` presets leave out."""
    return day_key == apart and not SECTIONS[section].cumulative


def add_into(target: Counter, source: Mapping[Key, int], sign: int = 1) -> None:
    """target += sign * source, dropping cells that reach zero."""
    for key, value in source.items():
        total = target.get(key, 0) + sign * value
        if total:
            target[key] = total
        else:
            target.pop(key, None)


@dataclass
class RangeSummary:
    """One section summed over a range (``cur``) and its previous period (``prev``)."""

    section: str
    span: DateRange
    cur: Counter = field(default_factory=dict)
    prev: Counter = field(default_factory=dict)

    def fold_doc(self, day_key: str, counter: Mapping[Key, int], sign: int = 1) -> bool:
        """Add one stored day document (ISO date, or ALL_DAYS for a cumulative section)."""
        if SECTIONS[self.section].cumulative:
            return self.fold_cumulative(counter, sign)
        return self.fold(date.fromisoformat(day_key), counter, sign)

    def fold_cumulative(self, counter: Mapping[Key, int], sign: int = 1) -> bool:
        cur_end, prev_end = self.span.end.isoformat(), self.span.previous.end.isoformat()
        changed = False
        for key, value in counter.items():
            if key[0] <= cur_end:
                add_into(self.cur, {key[1:]: value}, sign)
                changed = True
            if key[0] <= prev_end:
                add_into(self.prev, {key[1:]: value}, sign)
                changed = True
        return changed

    def fold(self, day: date, counter: Mapping[Key, int], sign: int = 1) -> bool:
        """Add one day's counter (or a signed delta); False if the day is outside."""
        if day in self.span:
            if SECTIONS[self.section].series:
                iso = day.isoformat()
                add_into(self.cur, {(iso, *k): v for k, v in counter.items()}, sign)
            else:
                add_into(self.cur, counter, sign)
            return True
        if day in self.span.previous:
            add_into(self.prev, counter, sign)
            return True
        return False

    def to_doc(self) -> dict[str, Any]:
        return summary_doc(self.section, self.span, encode_counter(self.cur), encode_counter(self.prev))

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RangeSummary:
        span = DateRange(date.fromisoformat(doc["from"]), date.fromisoformat(doc["to"]), doc.get("preset"))
        return cls(doc["section"], span, decode_counter(doc["cur"]), decode_counter(doc["prev"]))


def summary_doc(section: str, span: DateRange, cur: Encoded, prev: Encoded) -> dict[str, Any]:
    """A range summary's stored form, its counters encoded (``encode_counter``)."""
    return {
        "section": section,
        "from": span.start.isoformat(),
        "to": span.end.isoformat(),
        "preset": span.preset,
        "cur": cur,
        "prev": prev,
    }
