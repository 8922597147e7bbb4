"""A stored counter reads back as the counter that was stored, in either form: rows (small
counters, and every document stored before columns) or columns (large ones)."""

from __future__ import annotations

import json
from typing import Any

from helpers import stored_counter
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain.cells import COLUMNS_FROM_CELLS, decode_counter, encode_counter

# the values a key holds (text, ids, ISO dates, None, whole seconds), and some no section
# holds, which must still read back exactly (1 and True and 1.0 are equal in Python)
_VALUE = (
    st.none()
    | st.sampled_from(["a", "b", "é", "2026-03-01", ""])
    | st.integers(-(2**40), 2**40)
    | st.integers(0, 5)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
)
_NARROW = st.none() | st.sampled_from(["a", "b", "c"]) | st.integers(0, 3)  # few values: long runs


@st.composite
def _counters(draw: Any) -> dict[tuple[Any, ...], int]:
    width = draw(st.integers(0, 6))
    columns = [draw(st.sampled_from([_VALUE, _NARROW, st.integers(0, 90_000)])) for _ in range(width)]
    size = draw(st.sampled_from([0, 5, COLUMNS_FROM_CELLS - 1, COLUMNS_FROM_CELLS, 300]))
    keys = draw(st.lists(st.tuples(*columns), min_size=size, max_size=size))
    counts = st.integers(-(2**40), 2**40).filter(bool)
    return {key: draw(counts) for key in keys}


@settings(max_examples=400, deadline=None)
@given(_counters())
def test_a_counter_reads_back_as_stored(counter: dict[tuple[Any, ...], int]) -> None:
    back = decode_counter(stored_counter(counter))
    assert back == counter
    # equal keys of other types (1 for True, 1 for 1.0) would compare equal above
    assert {k: tuple(map(type, k)) for k in back} == {k: tuple(map(type, k)) for k in counter}


@settings(max_examples=200, deadline=None)
@given(_counters())
def test_rows_stored_before_columns_still_read(counter: dict[tuple[Any, ...], int]) -> None:
    rows = json.loads(json.dumps([[*key, value] for key, value in counter.items()]))
    assert decode_counter(rows) == counter


def test_a_large_histogram_is_stored_as_columns_and_smaller() -> None:
    histogram = {
        (origin, "g1", "whatsapp", f"u{i % 6}", s): 1 + s % 3 for i, origin in enumerate("abc") for s in range(400)
    }
    stored = encode_counter(histogram)
    assert isinstance(stored, dict) and decode_counter(stored_counter(histogram)) == histogram
    as_rows = len(json.dumps([[*k, v] for k, v in histogram.items()]))
    assert len(json.dumps(stored)) < as_rows / 3
    assert isinstance(encode_counter(dict(list(histogram.items())[: COLUMNS_FROM_CELLS - 1])), list)
