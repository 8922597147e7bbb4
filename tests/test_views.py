"""Every report answers the same whether its sections are decoded whole or through the
views the read path uses (only the dimensions a report reads and the cells its filters
accept): from day documents, from a preset, from a preset's stored projections
(``domain/projections``), and with the counters stored as rows or as columns. A ``reads``
declaration that leaves out a dimension a builder reads fails here."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from helpers import stored_counter
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain.cells import COLUMNS_FROM_CELLS, View, decode_counter, project
from mediana.domain.definitions import REPORTS
from mediana.domain.projections import add_projections, decode_role
from mediana.domain.ranges import DateRange
from mediana.domain.report_values import request_views, section_view
from mediana.domain.reports import build_report
from mediana.domain.sections import SECTIONS, RangeSummary
from mediana.storage import blobs

END = date(2026, 3, 10)
SPAN = DateRange(END - timedelta(days=6), END, "last_7_days")

# each dimension's values, None among them (an unassigned owner, a contact of no group)
POOLS: dict[str, list[Any]] = {
    "origin": ["Ads", "Web", "unknown"],  # never None: a contact of no origin counts as "unknown"
    "group": ["g1", "g2", None],
    "entry_group": ["g1", "g2", None],
    "channel": ["whatsapp", "messenger", "other"],
    "owner": ["u1", "u2", None],
    "author": ["u1", "u2", None],
    "hour": [0, 9, 23],
    "seconds": [0, 1, 59, 60, 3600],
    "contact": ["c1", "c2"],
    "type": ["call_log", "note"],
    "call_type": ["sales", None],
    "outcome": ["answered", "rejected", None],
    "kind": ["c", "a"],
    "created": [(END - timedelta(days=d)).isoformat() for d in (0, 3, 20)],
}
METRICS = {"nc": ["n", "p"], "org": ["c", "ct", "r", "d"], "it": ["n", "t", "ms"]}
VIEWED = sorted(r for r, d in REPORTS.items() if d.reads is not None)


def _cells(draw: Any, section: str) -> dict[tuple[Any, ...], int]:
    dims = SECTIONS[section].dims
    pools = [METRICS[section] if d == "metric" else POOLS[d] for d in dims]
    keys = draw(st.lists(st.tuples(*map(st.sampled_from, pools)), max_size=25))
    return {key: draw(st.integers(1, 9)) for key in keys}


@st.composite
def _days(draw: Any, report_id: str) -> dict[tuple[str, str], dict[tuple[Any, ...], int]]:
    """Stored day documents of the report's sections over the range and its previous period."""
    out = {}
    for section in REPORTS[report_id].sections:
        if SECTIONS[section].cumulative:
            cells = _cells(draw, section)
            out[(section, "all")] = {(draw(st.sampled_from(POOLS["created"])), *k): v for k, v in cells.items()}
            continue
        for back in draw(st.lists(st.integers(0, 13), max_size=5, unique=True)):
            out[(section, (END - timedelta(days=back)).isoformat())] = _cells(draw, section)
    return out


@st.composite
def _filters(draw: Any, report_id: str) -> dict[str, list[str]]:
    out = {}
    for name, dim in REPORTS[report_id].filters.items():
        given_values = [v if v is not None else "none" for v in POOLS[dim]]
        out[name] = draw(st.lists(st.sampled_from(given_values), max_size=2, unique=True))
    return out


@settings(max_examples=60, deadline=None)
@pytest.mark.parametrize("report_id", VIEWED)
@given(data=st.data())
def test_a_report_answers_the_same_through_its_views(report_id: str, data: Any) -> None:
    days = data.draw(_days(report_id))
    filters = data.draw(_filters(report_id))
    views = request_views(REPORTS[report_id], filters)
    whole = {s: RangeSummary(s, SPAN) for s in REPORTS[report_id].sections}
    from_days = {s: RangeSummary(s, SPAN) for s in REPORTS[report_id].sections}
    for (section, day_key), cells in days.items():
        whole[section].fold_doc(day_key, cells)
        from_days[section].fold_doc(day_key, decode_counter(stored_counter(cells), views[section].day))
    from_preset = {
        s: RangeSummary(
            s,
            SPAN,
            decode_counter(stored_counter(w.cur), views[s].cur),
            decode_counter(stored_counter(w.prev), views[s].prev),
        )
        for s, w in whole.items()
    }
    from_projections = {}
    for s, w in whole.items():
        doc = {"cur": stored_counter(w.cur), "prev": stored_counter(w.prev)}
        add_projections(doc, s, {"cur": w.cur, "prev": w.prev}, min_cells=0)  # every counter, however small
        stored = blobs.decode(blobs.encode(doc))
        from_projections[s] = RangeSummary(
            s, SPAN, decode_role(stored, "cur", views[s].cur), decode_role(stored, "prev", views[s].prev)
        )
    expected = build_report(report_id, whole, filters)
    assert build_report(report_id, from_days, filters) == expected
    assert build_report(report_id, from_preset, filters) == expected
    assert build_report(report_id, from_projections, filters) == expected


def test_views_drop_what_the_answer_does_not_read() -> None:
    """The unfiltered response-time report reads a seconds histogram; a filter keeps its dimension."""
    rt = REPORTS["response-time"]
    assert section_view(rt, "rt", {}, False) == View((False, False, False, False, True))
    owner = section_view(rt, "rt", {"owner": ["u1", "none"]}, False)
    assert owner == View((False, False, False, True, True), ((3, frozenset({"u1", None})),))
    heat = section_view(REPORTS["activity-heatmap"], "cv", {}, True)  # dated: the day stays first
    assert heat == View((True, False, False, False, False, True))
    assert section_view(REPORTS["interactions-by-type"], "it", {}, False) is None  # reads everything


@st.composite
def _counter_and_view(draw: Any) -> tuple[dict[tuple[Any, ...], int], View]:
    width = draw(st.integers(1, 5))
    pool = st.sampled_from(["a", "b", None, 0, 7, 90_000])
    size = draw(st.sampled_from([0, 5, COLUMNS_FROM_CELLS, 300]))
    keys = draw(st.lists(st.tuples(*[pool] * width), min_size=size, max_size=size))
    counter = {key: draw(st.integers(-5, 9).filter(bool)) for key in keys}
    keep = tuple(draw(st.lists(st.booleans(), min_size=width, max_size=width)))
    tested = draw(st.lists(st.integers(0, width - 1), unique=True, max_size=2))
    accept = tuple((i, frozenset(draw(st.lists(pool, max_size=3)))) for i in tested)
    return counter, View(keep, accept)


@settings(max_examples=150, deadline=None)
@given(_counter_and_view())
def test_decoding_through_a_view_is_the_counter_seen_through_it(case: tuple[dict[Any, int], View]) -> None:
    counter, view = case
    expected: dict[tuple[Any, ...], int] = {}
    for key, count in counter.items():
        if all(key[i] in accepted for i, accepted in view.accept):
            seen = tuple(v if kept else None for v, kept in zip(key, view.keep, strict=True))
            expected[seen] = expected.get(seen, 0) + count
    expected = {k: v for k, v in expected.items() if v}
    assert project(counter, view) == expected
    assert decode_counter(stored_counter(counter), view) == expected


def test_a_view_of_another_width_is_refused() -> None:
    with pytest.raises(ValueError, match="a view of 2 dimensions on cells of 3"):
        project({("a", "b", 1): 1}, View((True, False)))
