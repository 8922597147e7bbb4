"""Preset summaries stored in day buckets, so a small delta rewrites a small item (pure Python).

A long preset (30, 90 and 365 days, this and last month) of a dated section is stored as one
item per *bucket*: an aligned block of ``WIDTHS[preset]`` local days (epoch day // width), each
holding the preset's cells (its range and previous period) of those days only. A change to a
past day rewrites that day's bucket -- a 16th of a 365-day preset -- instead of the whole. A
reader fetches every bucket of the range in the same BatchGetItem and adds them: buckets
partition the days, so the sum is the preset. Short presets (today, yesterday, the last 7 days)
and the cumulative section stay one item (bucket ``None``).

The writer's rule: a preset's stored buckets are a run that ends with its last bucket, from its
oldest bucket with data (the last alone when it has none); every bucket before the run is empty.
A reader adds the run (``stored_run``) and refuses a gap. Data for a bucket before the run, or a
preset's first data, is written by a rebuild, which restores the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from mediana.domain.ranges import PRESETS, DateRange, preset_range
from mediana.domain.sections import SECTIONS, Counter, RangeSummary, add_into, keeps_today_apart, kept_apart

if TYPE_CHECKING:  # the read function imports this module, and never pandas (mediana.domain.contrib)
    from mediana.domain.contrib import Contributions, DayKey

Bucket = int | None
PresetKey = tuple[str, str, Bucket]  # (preset, section, bucket)

# ~16 buckets over a range and its previous period: a past day's change rewrites ~1/16
# of the preset, and a report of three sections still reads under 100 keys in one request.
WIDTHS = {"last_30_days": 4, "last_90_days": 12, "last_365_days": 46, "this_month": 4, "last_month": 4}
_EPOCH = date(1970, 1, 1)


def width(preset: str, section: str) -> int | None:
    return None if SECTIONS[section].cumulative else WIDTHS.get(preset)


def bucket_of(preset: str, section: str, day: date) -> Bucket:
    w = width(preset, section)
    return None if w is None else (day - _EPOCH).days // w


def _bucket_range(preset: str, section: str, span: DateRange) -> tuple[int, int] | None:
    """The first and last bucket a preset's range and previous period cover (None: one item)."""
    w = width(preset, section)
    return None if w is None else ((span.previous.start - _EPOCH).days // w, (span.end - _EPOCH).days // w)


def bucket_ids(preset: str, section: str, span: DateRange) -> list[Bucket]:
    """Every bucket a preset's range and previous period cover, oldest first."""
    bounds = _bucket_range(preset, section, span)
    return [None] if bounds is None else list(range(bounds[0], bounds[1] + 1))


def bucket_days(preset: str, section: str, bucket: Bucket) -> tuple[date, date] | None:
    """The first and last day of a bucket (None: the whole preset)."""
    w = width(preset, section)
    if w is None or bucket is None:
        return None
    start = _EPOCH + timedelta(days=bucket * w)
    return start, start + timedelta(days=w - 1)


def empty_presets(today: date) -> dict[PresetKey, RangeSummary]:
    """Every bucket of every preset of every section, empty."""
    spans = {p: preset_range(p, today) for p in PRESETS}
    return {(p, s, b): RangeSummary(s, spans[p]) for p in PRESETS for s in SECTIONS for b in bucket_ids(p, s, spans[p])}


def _routes(section: str, day_key: str) -> Iterable[PresetKey]:
    """The bucket of every preset a day document of ``section`` feeds."""
    day = None if SECTIONS[section].cumulative else date.fromisoformat(day_key)
    for p in PRESETS:
        yield p, section, (None if day is None else bucket_of(p, section, day))


def build_presets(
    today: date, days: Mapping[DayKey, Counter], apart: date | None = None
) -> dict[PresetKey, RangeSummary]:
    """Every bucket of every preset of every section, from stored day documents; with
    ``apart`` (today), that day's dated cells are left out (``kept_apart``)."""
    presets = empty_presets(today)
    update_presets(presets, days, apart)  # a day before every bucket of a preset has no key: skipped
    return presets


def touched(delta: Contributions, today: date, apart: date | None = None) -> set[PresetKey]:
    """The stored buckets a day delta may change: for each preset, the bucket of the day when
    that bucket is one of the preset's (folding decides whether the day itself is in)."""
    apart_iso = apart.isoformat() if apart else None
    spans = {p: preset_range(p, today) for p in PRESETS}
    out: set[PresetKey] = set()
    for section, day_key in delta:
        if kept_apart(section, day_key, apart_iso):
            continue
        for key in _routes(section, day_key):
            p, s, b = key
            bounds = _bucket_range(p, s, spans[p])
            if bounds is None or b is None:
                inside = SECTIONS[s].cumulative or _inside(day_key, spans[p])
            else:
                inside = bounds[0] <= b <= bounds[1]
            if inside:
                out.add(key)
    return out


def _inside(day_key: str, span: DateRange) -> bool:
    day = date.fromisoformat(day_key)
    return day in span or day in span.previous


def stored_run(ids: list[Bucket], present: Iterable[Bucket]) -> list[Bucket] | None:
    """The buckets a reader adds, of a preset's ``bucket_ids``: its stored buckets form a run
    that ends with its last bucket (every one before the run is empty, and not stored); None
    when they do not (nothing stored, or a gap)."""
    have = set(present)
    start = next((i for i, b in enumerate(ids) if b in have), None)
    if start is None or not all(b in have for b in ids[start:]):
        return None
    return ids[start:]


def update_presets(
    presets: Mapping[PresetKey, RangeSummary], delta: Mapping[DayKey, Counter], apart: date | None = None
) -> set[PresetKey]:
    """Apply a day delta (or whole day documents) to the buckets given, in place; returns
    those that changed. A bucket not given is skipped."""
    apart_iso = apart.isoformat() if apart else None
    changed: set[PresetKey] = set()
    for (section, day_key), cells in delta.items():
        if kept_apart(section, day_key, apart_iso):
            continue
        for key in _routes(section, day_key):
            summary = presets.get(key)
            if summary is not None and summary.fold_doc(day_key, cells):
                changed.add(key)
    return changed


def merged(presets: Mapping[PresetKey, RangeSummary]) -> dict[tuple[str, str], RangeSummary]:
    """Each preset as one summary: the sum of its buckets."""
    out: dict[tuple[str, str], RangeSummary] = {}
    for (p, s, _), summary in presets.items():
        whole = out.setdefault((p, s), RangeSummary(s, summary.span))
        add_into(whole.cur, summary.cur)
        add_into(whole.prev, summary.prev)
    return out


def apart_day(section: str, span: DateRange, today: date) -> date | None:
    """The day a preset leaves to its day document (``keeps_today_apart``), if any."""
    return today if keeps_today_apart(section, span, today) else None


def _role(day: date, span: DateRange, apart: date | None) -> int:
    if day == apart:
        return 0
    if span.start <= day <= span.end:
        return 1
    previous = span.previous
    return 2 if previous.start <= day <= previous.end else 0


def same_cells(key: PresetKey, old: DateRange, old_apart: date | None, new: DateRange, new_apart: date | None) -> bool:
    """Does a bucket hold the same cells for two ranges? It does when each of its days plays the
    same part in both (in the range, in the previous period, or neither -- the day kept apart is
    neither). So at a roll only the buckets at the edges change: the rest are neither rewritten
    nor refused by readers. A whole preset holds the same cells only for the same range."""
    days = bucket_days(*key)
    if days is None:
        return (old.start, old.end, old_apart) == (new.start, new.end, new_apart)
    day, last = days
    while day <= last:
        if _role(day, old, old_apart) != _role(day, new, new_apart):
            return False
        day += timedelta(days=1)
    return True


def valid_for(doc: Mapping[str, Any], span: DateRange, today: date) -> bool:
    """A stored bucket answers for ``span`` (today's range of its preset): it was written for a
    range under which it holds the same cells (``same_cells``)."""
    try:
        written = DateRange(date.fromisoformat(doc["from"]), date.fromisoformat(doc["to"]))
        written_apart = date.fromisoformat(doc["apart"]) if doc.get("apart") else None
        key = (doc["preset"], doc["section"], doc.get("bucket"))
    except (KeyError, TypeError, ValueError):
        return False
    return same_cells(key, written, written_apart, span, apart_day(doc["section"], span, today))


def unchanged_at_roll(key: PresetKey, before: date, today: date) -> bool:
    """Whether a bucket written for the presets of ``before`` holds today's cells as it is."""
    p, s, _ = key
    old, new = preset_range(p, before), preset_range(p, today)
    return same_cells(key, old, apart_day(s, old, before), new, apart_day(s, new, today))
