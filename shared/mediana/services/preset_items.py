"""The preset items a batch writes: its buckets updated in place while the presets are
for today, or rebuilt from the day documents (writing only what changed) when the local
day rolled, a preset gets its first data, or a rebuild runs (``mediana.domain.presets``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from mediana.domain.preset_frames import EncodedSummary, encoded_presets
from mediana.domain.presets import PresetKey, bucket_ids, touched, unchanged_at_roll, update_presets
from mediana.domain.projections import add_projections, put_projections
from mediana.domain.ranges import PRESETS, preset_range, preset_span
from mediana.domain.sections import SECTIONS, RangeSummary, keeps_today_apart
from mediana.storage import blobs, generations, keys
from mediana.storage.documents import Unreadable
from mediana.storage.store import Store, TenantState


def presets_to_write(
    store: Store, tenant: str, state: TenantState, today: date, new_days: dict[tuple[str, str], Any], delta: Any
) -> dict[str, tuple[dict[str, Any] | None, int]]:
    """Preset buckets to write: the ones the day delta changes, updated in place while the
    presets are for today; every bucket, rebuilt from the day documents, when the local day
    rolled (``mediana.domain.presets``)."""
    gen = generations.building_gen(state)
    pk = keys.presets_pk(tenant, gen)
    changed = touched(delta, today, apart=today)
    if state.presets_as_of == presets_mark(today):
        in_place = _presets_in_place(store, pk, today, delta, changed)
        if in_place is not None:
            return in_place
    span = preset_span(today)
    days = store.day_docs(tenant, gen, SECTIONS, span.start, span.end, consistent=True)
    days.update(new_days)
    presets = encoded_presets(today, days)
    old = store.part_counts(pk)  # every stored item: what is not rewritten is deleted
    before = presets_day(state)
    docs: dict[str, tuple[dict[str, Any] | None, int]] = {}
    keep: set[str] = set()
    for p in PRESETS:
        span = preset_range(p, today)
        for s in SECTIONS:
            ids = bucket_ids(p, s, span)
            stored = [i for i, b in enumerate(ids) if keys.preset_base(p, s, b) in old]
            data = [i for i, b in enumerate(ids) if presets[(p, s, b)].cells]
            # a preset with nothing in it and nothing stored is not written: a reader finds no
            # preset and sums the (absent) days. One that keeps today apart is written even
            # empty (its last bucket): today's data, in its day documents, is read through it.
            if not stored and not data and not keeps_today_apart(s, span, today):
                continue
            for b in ids[min([*stored, *data, len(ids) - 1]) :]:  # the run (mediana.domain.presets)
                key, base = (p, s, b), keys.preset_base(p, s, b)
                keep.add(base)
                # the day rolled (or a rebuild on the same day): a stored bucket whose days keep
                # their parts, and that this batch does not change, holds its cells already
                if base in old and before is not None and key not in changed and unchanged_at_roll(key, before, today):
                    continue
                docs[base] = (preset_doc(key, presets[key], today), old.get(base, 0))
    # buckets that left the ranges, items of a former layout: deleted
    return docs | {base: (None, n) for base, n in old.items() if base not in keep}


def presets_day(state: TenantState) -> date | None:
    """The local day the stored presets are for, when they are in today's shape."""
    day, _, shape = str(state.presets_as_of or "").partition("/")
    try:
        return date.fromisoformat(day) if shape == PRESETS_SHAPE else None
    except ValueError:
        return None


PRESETS_SHAPE = "buckets"


def presets_mark(today: date) -> str:
    """The state's ``presets_as_of``: the local day the presets are for, and their shape
    (today kept apart, day buckets). A state written before that shape fails the
    comparison, so its presets are rebuilt once, in the new shape."""
    return f"{today.isoformat()}/{PRESETS_SHAPE}"


def _presets_in_place(
    store: Store, pk: str, today: date, delta: Any, wanted: set[PresetKey]
) -> dict[str, tuple[dict[str, Any] | None, int]] | None:
    """The buckets the delta changes (``wanted``), read, updated and returned for writing;
    None when one is not stored, or does not decode (a damaged item): the caller rebuilds
    the presets from the days, writing what changed -- that bucket among them."""
    bases = {key: keys.preset_base(*key) for key in wanted}
    stored = store.get_docs_of({pk: bases.values()}, marked=True)[pk]
    if len(stored) < len(wanted):  # a preset's first data, or data before its run: a rebuild writes it
        return None
    if any(isinstance(doc, Unreadable) for doc, _ in stored.values()):
        return None
    summaries = {key: RangeSummary.from_doc(stored[base][0]) for key, base in bases.items()}
    changed = update_presets(summaries, delta, apart=today)
    return {bases[key]: (preset_doc(key, summaries[key], today), stored[bases[key]][1]) for key in changed}


def preset_doc(key: PresetKey, summary: RangeSummary | EncodedSummary, today: date) -> dict[str, Any]:
    """A preset bucket's item; ``apart`` names the day whose cells it leaves to that day's
    document (every preset of a dated section that contains today). Its large counters also
    hold their projections onto the unfiltered reports' views (``domain/projections``)."""
    doc = summary.to_doc()
    if isinstance(summary, EncodedSummary):  # its projections were made with its counters
        projected = put_projections(doc, summary.views)
    else:
        projected = add_projections(doc, summary.section, {"cur": summary.cur, "prev": summary.prev})
    if projected:  # once it needs parts, those counters go after the rest (storage/blobs: headed)
        doc[blobs.BODY] = projected
    doc["as_of"] = today.isoformat()
    if key[2] is not None:
        doc["bucket"] = key[2]
    if keeps_today_apart(summary.section, summary.span, today):
        doc["apart"] = today.isoformat()
    return doc
