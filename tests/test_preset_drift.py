"""The audit's check of stored preset buckets (domain/preset_drift.py): the items the writer
stores, for any day documents and any day, hold what the reference ``build_presets`` sums
(no false drift, projections included); and any one wrong bucket -- a cell off, a stray cell,
a lost item, a stale projection, an item written for another range -- is named, alone, with
why."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
import test_preset_frames as frames
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain import preset_drift, projections
from mediana.domain.cells import decode_counter, encode_counter
from mediana.domain.preset_frames import encoded_presets
from mediana.domain.presets import build_presets, valid_for
from mediana.domain.ranges import preset_range
from mediana.services.preset_items import preset_doc
from mediana.storage import blobs, keys

TODAY = frames.TODAY


def _stored(days: Any, today: date) -> dict[str, Any]:
    """The items the writer keeps (what has cells), as a reader decodes them."""
    built = encoded_presets(today, days)
    return {
        keys.preset_base(*k): blobs.decode(blobs.encode(preset_doc(k, s, today))) for k, s in built.items() if s.cells
    }


def _expected(days: Any, today: date) -> dict[str, Any]:
    return {keys.preset_base(*k): (k, s.cur, s.prev) for k, s in build_presets(today, days, apart=today).items()}


@pytest.mark.parametrize("least", [0, 4096])  # 0: every counter projected, so projections are checked too
@settings(max_examples=40, deadline=None)
@given(days=frames._days(max_cells=120), back=st.integers(0, 40))
def test_the_items_the_writer_stores_show_no_drift(least: int, days: Any, back: int) -> None:
    today = TODAY - timedelta(days=back)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projections, "PROJECT_FROM_CELLS", least)
        stored = _stored(days, today)
    assert preset_drift.preset_drifts(stored, _expected(days, today), today) == []


_HARMS = ("off by one", "stray cell", "lost", "stale projection", "another range")


@settings(max_examples=100, deadline=None)
@given(days=frames._days(max_cells=60), back=st.integers(0, 20), harm=st.sampled_from(_HARMS), pick=st.randoms())
def test_one_wrong_bucket_is_named_alone_with_why(days: Any, back: int, harm: str, pick: Any) -> None:
    today = TODAY - timedelta(days=back)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projections, "PROJECT_FROM_CELLS", 0)
        patch.setattr(projections, "FEWER_BY", 0)  # every projection stored: each can go stale
        stored = _stored(days, today)
    with_cells = sorted(b for b, doc in stored.items() if decode_counter(doc["cur"]) or decode_counter(doc["prev"]))
    if harm == "stale projection":
        with_cells = [b for b in with_cells if any(stored[b].get(v) for v in projections.STORED.values())]
    if not with_cells:
        return
    item = pick.choice(with_cells)
    doc = copy.deepcopy(stored[item])
    role = next(r for r in projections.ROLES if decode_counter(doc[r]) and (harm != "stale projection" or doc.get(
        projections.STORED[r])))  # fmt: skip
    cells = decode_counter(doc[role])
    cell = pick.choice(sorted(cells, key=repr))
    why = preset_drift.CELLS
    if harm == "off by one":
        doc[role] = encode_counter({**cells, cell: cells[cell] + 1})
    elif harm == "stray cell":
        stray = tuple("stray" if v is None or isinstance(v, str) else -7 for v in cell)
        doc[role] = encode_counter({**cells, stray: 2})
    elif harm == "lost":
        doc, why = None, preset_drift.MISSING
    elif harm == "stale projection":
        views = doc[projections.STORED[role]]
        mask = sorted(views)[0]
        projected = decode_counter(views[mask])  # may be empty: its cells can sum to nothing
        kept = next(iter(projected), (None,) * len(mask))
        views[mask] = encode_counter({**projected, kept: projected.get(kept, 0) + 3})
        why = preset_drift.PROJECTION
    else:  # written for a range 400 days older: refused by readers today (unless it holds the same cells)
        doc["from"] = (date.fromisoformat(doc["from"]) - timedelta(days=400)).isoformat()
        doc["to"] = (date.fromisoformat(doc["to"]) - timedelta(days=400)).isoformat()
        why = preset_drift.REFUSED
    harmed = {**stored, item: doc} if doc is not None else {b: d for b, d in stored.items() if b != item}

    found = preset_drift.preset_drifts(harmed, _expected(days, today), today)
    if harm == "another range" and valid_for(doc, preset_range(doc["preset"], today), today):
        assert found == []  # its days play the same part in both ranges: readers rightly take it
        return
    assert [(d.item, d.why) for d in found] == [(item, why)]
    assert found[0].differing >= (0 if why == preset_drift.REFUSED else 1)


def test_a_drift_shows_the_stored_and_the_expected_count() -> None:
    day = (TODAY - timedelta(days=3)).isoformat()
    days = {("nc", day): {("Web", "g", "n"): 3}}
    stored = _stored(days, TODAY)
    item = "last_7_days#nc"
    stored[item] = {**stored[item], "cur": encode_counter({(day, "Web", "g", "n"): 2})}  # a series: dated cells
    (found,) = preset_drift.preset_drifts(stored, _expected(days, TODAY), TODAY)
    assert (found.item, found.why, found.differing) == (item, preset_drift.CELLS, 1)
    assert found.sample == (("cur", (day, "Web", "g", "n"), 2, 3),)


def test_a_bucket_whose_counters_do_not_decode_is_named_unreadable() -> None:
    day = (TODAY - timedelta(days=3)).isoformat()
    days = {("nc", day): {("Web", "g", "n"): 3}}
    stored = _stored(days, TODAY)
    stored["last_7_days#nc"] = {**stored["last_7_days#nc"], "cur": {"not": "a counter"}}
    del stored["last_30_days#nc#05127"]["prev"]
    stored["last_90_days#nc#01709"]["cur_views"] = {"0001": "not a counter"}  # a projection that does not decode
    found = preset_drift.preset_drifts(stored, _expected(days, TODAY), TODAY)
    assert sorted((d.item, d.why) for d in found) == [
        ("last_30_days#nc#05127", preset_drift.UNREADABLE),
        ("last_7_days#nc", preset_drift.UNREADABLE),
        ("last_90_days#nc#01709", preset_drift.UNREADABLE),
    ]
