"""A large preset bucket also stores its counters projected onto the unfiltered reports'
views, and a read decodes the projection only when it kept every dimension the request's
view keeps or tests (``domain/projections``). tests/test_views.py holds every report to the
same answers through projections; these pin which counter a read decodes, and what is stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from mediana.domain.cells import View, decode_counter, encode_counter
from mediana.domain.definitions import REPORTS
from mediana.domain.projections import PROJECT_FROM_CELLS, STORED, decode_role
from mediana.domain.ranges import preset_range
from mediana.domain.report_values import request_views
from mediana.domain.sections import RangeSummary
from mediana.services.preset_items import preset_doc
from mediana.storage import blobs

TODAY = date(2026, 12, 7)
SPAN = preset_range("last_365_days", TODAY)
KEY = ("last_365_days", "rt", 12_345)
AUTHORS = ["u1", "u2", "u3", None]


def _response_times(cells: int, seconds: int) -> dict[tuple[Any, ...], int]:
    """(origin, group, channel, author, seconds) cells: ``cells`` of them over ``seconds`` values."""
    return {("Ads", f"g{i}", "whatsapp", AUTHORS[i % 4], i % seconds): 1 + i % 3 for i in range(cells)}


def _stored(cur: dict[tuple[Any, ...], int]) -> dict[str, Any]:
    summary = RangeSummary("rt", SPAN, cur, {})
    return blobs.decode(blobs.encode(preset_doc(KEY, summary, TODAY)))  # as the read function gets it


def _histogram(cells: dict[tuple[Any, ...], int]) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    for key, count in cells.items():
        out[(None, None, None, None, key[-1])] = out.get((None, None, None, None, key[-1]), 0) + count
    return out


UNFILTERED = request_views(REPORTS["response-time"], {})["rt"].cur
ONE_ADVISOR = request_views(REPORTS["response-time"], {"owner": ["u1"]})["rt"].cur


def test_a_large_bucket_stores_its_seconds_histogram_and_a_small_one_nothing() -> None:
    cells = _response_times(PROJECT_FROM_CELLS, 50)
    doc = _stored(cells)
    assert set(doc[STORED["cur"]]) == {"00001"}  # the one view the response-time report reads rt through
    assert decode_counter(doc[STORED["cur"]]["00001"]) == _histogram(cells)
    assert STORED["prev"] not in doc  # an empty previous period: nothing to project
    assert STORED["cur"] not in _stored(_response_times(PROJECT_FROM_CELLS - 1, 50))


def test_the_unfiltered_read_decodes_the_projection_and_a_filtered_one_the_counter() -> None:
    cells = _response_times(3 * PROJECT_FROM_CELLS, 200)
    doc = _stored(cells)
    assert decode_role(doc, "cur", UNFILTERED) == _histogram(cells)
    doc["cur"] = encode_counter({})  # were the whole counter read, nothing would be left
    assert decode_role(doc, "cur", UNFILTERED) == _histogram(cells)
    # an advisor filter keeps the author: the histogram dropped it, so the (now empty) counter answers
    assert decode_role(doc, "cur", ONE_ADVISOR) == {}


def test_a_view_testing_a_dimension_the_projection_dropped_reads_the_counter() -> None:
    cells = _response_times(2 * PROJECT_FROM_CELLS, 100)
    doc = _stored(cells)
    tests_author = View((False, False, False, False, True), ((3, frozenset({"u1"})),))  # tests, does not keep
    assert decode_role(doc, "cur", tests_author) == decode_counter(encode_counter(cells), tests_author)
    assert decode_role(doc, "cur", tests_author) != decode_role(doc, "cur", UNFILTERED)


def test_a_projection_not_at_most_half_the_counter_is_not_stored() -> None:
    """One author, one cell a second: the histogram would copy every cell, and save no decoding."""
    cells = {("Ads", None, "whatsapp", "u1", s): 1 for s in range(PROJECT_FROM_CELLS)}
    assert STORED["cur"] not in _stored(cells)


def test_an_item_written_before_projections_reads_its_counter() -> None:
    cells = _response_times(PROJECT_FROM_CELLS, 50)
    doc = _stored(cells)
    del doc[STORED["cur"]]
    assert decode_role(doc, "cur", UNFILTERED) == _histogram(cells)
    assert decode_role(doc, "cur", None) == cells
