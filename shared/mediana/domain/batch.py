"""One aggregation batch as pure functions: fold a delta, diff contributions,
update day documents (presets: ``mediana.domain.presets``). The aggregator function wraps this
with storage; the property tests drive it directly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mediana.domain.contest import FoldOutcome
from mediana.domain.contrib import Contributions, DayKey, contributions, subtract
from mediana.domain.records import Record
from mediana.domain.sections import Counter, add_into
from mediana.domain.world import LoadedState, fold


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
