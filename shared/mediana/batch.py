"""One aggregation batch as pure functions: fold a delta, diff contributions,
update day documents and preset summaries. The aggregator function wraps this
with storage; the property tests drive it directly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from mediana.contrib import Contributions, DayKey, contributions, subtract
from mediana.ranges import PRESETS, preset_range
from mediana.records import Record
from mediana.sections import SECTIONS, Counter, RangeSummary, add_into, kept_apart
from mediana.world import FoldOutcome, LoadedState, fold

PresetKey = tuple[str, str]  # (preset, section)


@dataclass
class BatchResult:
    outcome: FoldOutcome
    day_delta: Contributions
    timezone: str  # the tenant's time zone after the delta


def tenant_timezone(state: LoadedState) -> str:
    tenant = state.directory.get("tenant")
    if tenant and not tenant.get("erased"):
        return str(tenant.get("timezone") or "UTC")
    return "UTC"


def compute_batch(delta: Iterable[Record], state: LoadedState, tz: str) -> BatchResult:
    """Fold ``delta`` into ``state`` (in place) and return the exact change to the
    day documents. ``tz`` is the zone the stored day documents use. ``state`` holds
    only the worlds the delta touches, so this costs O(delta), not O(history)."""
    before = contributions(state.worlds.values(), tz)
    outcome = fold(delta, state)
    after = contributions(state.worlds.values(), tz)
    return BatchResult(outcome, subtract(after, before), tenant_timezone(state))


def merge_days(old: Mapping[DayKey, Counter], delta: Contributions) -> dict[DayKey, Counter]:
    """New content of every day document the delta touches."""
    out: dict[DayKey, Counter] = {}
    for key, cells in delta.items():
        doc = dict(old.get(key, {}))
        add_into(doc, cells)
        out[key] = doc
    return out


def build_presets(
    today: date, days: Mapping[DayKey, Counter], apart: date | None = None
) -> dict[PresetKey, RangeSummary]:
    """Every preset of every section, from stored day documents; with ``apart`` (today),
    that day's dated cells are left out (``kept_apart``)."""
    apart_iso = apart.isoformat() if apart else None
    presets = {(p, s): RangeSummary(s, preset_range(p, today)) for p in PRESETS for s in SECTIONS}
    for (section, day_key), cells in days.items():
        if kept_apart(section, day_key, apart_iso):
            continue
        for p in PRESETS:
            presets[(p, section)].fold_doc(day_key, cells)
    return presets


def update_presets(
    presets: Mapping[PresetKey, RangeSummary], delta: Contributions, apart: date | None = None
) -> set[PresetKey]:
    """Apply a day delta to preset summaries in place; returns those that changed."""
    apart_iso = apart.isoformat() if apart else None
    changed: set[PresetKey] = set()
    for (section, day_key), cells in delta.items():
        if kept_apart(section, day_key, apart_iso):
            continue
        for p in PRESETS:
            summary = presets.get((p, section))
            if summary is not None and summary.fold_doc(day_key, cells):
                changed.add((p, section))
    return changed
