"""The vectorised preset builder (domain/preset_frames.py) stores what the cell-by-cell one
stores: for any day documents and any today, every bucket's counters decode to the cells
``build_presets`` sums, the columns form is the very encoding ``to_doc`` writes, and a preset
item (projections included) reads the same. Day documents it cannot take as columns go the
cell-by-cell way."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain import projections
from mediana.domain.cells import COLUMNS_FROM_CELLS, decode_counter
from mediana.domain.preset_frames import EncodedSummary, encoded_presets
from mediana.domain.presets import build_presets
from mediana.domain.sections import ALL_DAYS, SECTIONS
from mediana.services.preset_items import preset_doc
from mediana.storage import blobs

TODAY = date(2026, 3, 1)
_TEXT = st.sampled_from(["a", "b", "Web form", "ü"]) | st.none()
_DIM = {  # a few values each, so that days add up into large counters
    "origin": st.sampled_from(["Web", "Ads", "unknown"]),
    "entry_group": _TEXT,
    "group": _TEXT,
    "metric": st.sampled_from(["n", "p", "c", "ms"]),
    "seconds": st.integers(0, 40) | st.sampled_from([2**40, 86_400]),
    "hour": st.integers(0, 23),
    "channel": st.sampled_from(["whatsapp", "email"]),
    "owner": _TEXT,
    "author": _TEXT,
    "type": st.sampled_from(["call_log", "note"]),
    "call_type": _TEXT,
    "outcome": _TEXT,
    "contact": st.sampled_from([f"ct-{i}" for i in range(30)]),
    "kind": st.sampled_from(["c", "a"]),
}
_COUNT = st.integers(-2, 4).filter(bool)  # day deltas too: a sum may reach zero, and leave the cell


def _cells(section: str, max_size: int) -> st.SearchStrategy[dict[tuple[Any, ...], int]]:
    dims = SECTIONS[section].dims
    if SECTIONS[section].cumulative:  # (local creation date, owner)
        key = st.tuples(st.integers(-800, 3).map(lambda n: (TODAY + timedelta(days=n)).isoformat()), _TEXT)
    else:
        key = st.tuples(*(_DIM[d] for d in dims))
    return st.dictionaries(key, _COUNT, min_size=1, max_size=max_size)


_DAY = (st.integers(-800, 3) | st.integers(-80, 3)).map(lambda n: (TODAY + timedelta(days=n)).isoformat())


@st.composite
def _days(draw: st.DrawFn, max_cells: int = 90) -> dict[tuple[str, str], dict[tuple[Any, ...], int]]:
    out = {}
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), min_size=1, max_size=4, unique=True)):
        if SECTIONS[section].cumulative:
            out[(section, ALL_DAYS)] = draw(_cells(section, max_cells))
            continue
        for day in draw(st.lists(_DAY, min_size=1, max_size=12, unique=True)):
            out[(section, day)] = draw(_cells(section, max_cells))
    return out


def _assert_same(today: date, days: dict[Any, Any]) -> dict[Any, EncodedSummary]:
    expected = build_presets(today, days, apart=today)
    got = encoded_presets(today, days)
    assert got.keys() == expected.keys()
    for key, summary in expected.items():
        doc, built = summary.to_doc(), got[key]
        for role in ("cur", "prev"):
            cells = getattr(summary, role)
            assert decode_counter(getattr(built, role)) == cells, (key, role)
            assert built.cells_of(role) == len(cells)
            if len(cells) >= COLUMNS_FROM_CELLS:  # the columns form: the very encoding, same order
                assert getattr(built, role) == doc[role], (key, role)
        assert {k: v for k, v in built.to_doc().items() if k not in ("cur", "prev")} == {
            k: v for k, v in doc.items() if k not in ("cur", "prev")
        }
    return got


@settings(max_examples=120, deadline=None)
@given(_days(), st.integers(0, 40))
def test_every_bucket_holds_the_cells_build_presets_sums(days: Any, back: int) -> None:
    _assert_same(TODAY - timedelta(days=back), days)


@settings(max_examples=40, deadline=None)
@given(_days(max_cells=400), st.integers(0, 3))
def test_large_counters_are_encoded_as_to_doc_encodes_them(days: Any, back: int) -> None:
    _assert_same(TODAY - timedelta(days=back), days)  # many counters of 64 cells or more here


def test_a_sample_reaches_the_columns_form() -> None:
    """The property above is about the columns form too: a fixed example that surely has it."""
    days: dict[tuple[str, str], dict[tuple[Any, ...], int]] = {
        ("rt", (TODAY - timedelta(days=d)).isoformat()): {("Web", None, "whatsapp", "u1", s): 1 for s in range(70)}
        for d in range(1, 4)
    }
    days[("rt", (TODAY - timedelta(days=2)).isoformat())].update({("Ads", "g", "email", None, 7): 2})
    got = _assert_same(TODAY, days)
    assert isinstance(got[("last_7_days", "rt", None)].cur, dict)  # 71 cells: columns


@pytest.mark.parametrize(
    "odd",
    [
        {("Web", None, "whatsapp", "u1", 1.5): 1},  # a float: no columns form
        {("Web", None, "whatsapp", "u1"): 1},  # a key of another width
        {("Web", None, "whatsapp", "u1", 2**70): 1},  # an integer beyond 64 bits
    ],
)
def test_cells_the_columns_cannot_take_are_built_cell_by_cell(odd: dict[Any, int]) -> None:
    day = (TODAY - timedelta(days=3)).isoformat()
    days = {("rt", day): {("Web", None, "whatsapp", "u1", s): 1 for s in range(70)} | odd}
    days[("nc", day)] = {("Web", None, "n"): 2}
    _assert_same(TODAY, days)


@pytest.mark.parametrize("least", [0, 16])  # small counters projected too (0: even empty ones)
@settings(max_examples=25, deadline=None)
@given(days=_days(max_cells=200), back=st.integers(0, 10))
def test_a_preset_item_reads_the_same_projections_included(least: int, days: Any, back: int) -> None:
    today = TODAY - timedelta(days=back)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projections, "PROJECT_FROM_CELLS", least)
        expected = build_presets(today, days, apart=today)
        got = encoded_presets(today, days)
        for key, summary in expected.items():
            a = blobs.decode(blobs.encode(preset_doc(key, summary, today)))
            b = blobs.decode(blobs.encode(preset_doc(key, got[key], today)))
            assert _readable(a) == _readable(b), key


def _readable(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored preset item as a reader takes it: counters and projections decoded."""
    out = {k: v for k, v in doc.items() if k not in ("cur", "prev", *projections.STORED.values())}
    for role, stored in projections.STORED.items():
        out[role] = decode_counter(doc[role])
        out[stored] = {m: decode_counter(c) for m, c in doc.get(stored, {}).items()}
    return out


_KEY3 = st.tuples(_TEXT, st.sampled_from(["x", "y", None]), st.integers(0, 9))


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(_KEY3, _COUNT, min_size=1, max_size=120),
    st.tuples(st.booleans(), st.booleans(), st.booleans()),
    st.lists(st.tuples(st.integers(0, 2), st.frozensets(st.sampled_from(["a", "b", "x", None, 3, 7]))), max_size=2),
)
def test_a_projection_from_the_columns_is_the_counter_seen_through_the_view(
    counter: dict[tuple[Any, ...], int], keep: tuple[bool, bool, bool], accept: list[tuple[int, frozenset[Any]]]
) -> None:
    """Any view, filters included (no unfiltered view has one today): the projection made from
    a counter's columns holds the cells ``cells.project`` gives."""
    from mediana.domain import preset_frames
    from mediana.domain.cells import View, ordered_values, project

    counter = {k: v for k, v in counter.items() if v}
    view = View(keep, tuple(sorted(accept, key=lambda a: a[0])))
    tables = [preset_frames._Values(ordered_values([k[i] for k in counter])) for i in range(3)]
    ranks = [{v: r for r, v in enumerate(t.values)} for t in tables]
    cols = [np.array([ranks[i][k[i]] for k in counter], dtype=np.int32) for i in range(3)]
    counts = np.array(list(counter.values()), dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projections, "FEWER_BY", 0)  # every projection worth storing
        found = preset_frames._projections(cols, counts, tables, (view,))
    assert decode_counter(found[projections.mask(keep)]) == project(counter, view)
