"""The day sections' frames are built by Arrow from columns (contrib._table), and group
their rows by factorised codes (contrib._emit): both give exactly what pandas gave. The
response-time samples come from integer runs (contrib._response_samples): they are the
definition's walk, message by message."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain import contrib

_TEXT = st.none() | st.sampled_from(["a", "b", "é", "g-sales", ""]) | st.text(max_size=4).filter(str.isprintable)
_COLUMNS = st.lists(st.sampled_from(["text", "int", "bool", "none"]), min_size=1, max_size=5)
_VALUE = {"text": _TEXT, "int": st.integers(-(2**62), 2**62), "bool": st.booleans(), "none": st.none()}


@st.composite
def _rows(draw: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    kinds = draw(_COLUMNS)
    rows = draw(st.lists(st.tuples(*(_VALUE[k] for k in kinds)), max_size=8))
    return [f"c{i}" for i in range(len(kinds))], rows


@settings(max_examples=300, deadline=None)
@given(_rows())
def test_a_table_is_the_frame_pandas_infers_from_the_rows(table: tuple[list[str], list[tuple[Any, ...]]]) -> None:
    columns, rows = table
    built, inferred = contrib._table(rows, columns), pd.DataFrame(rows, columns=columns)
    assert built.dtypes.to_dict() == inferred.dtypes.to_dict()
    pd.testing.assert_frame_equal(built, inferred, check_exact=True)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["2026-03-01", "2026-03-02"]), _TEXT, st.integers(0, 3), st.integers(0, 5)),
             min_size=1, max_size=12),
    st.booleans(),
)  # fmt: skip
def test_emitted_cells_are_the_groupby_of_the_rows(rows: list[tuple[Any, ...]], summed: bool) -> None:
    frame = pd.DataFrame(rows, columns=["day", "who", "hour", "n"])
    frame["day"] = pd.to_datetime(frame["day"]).to_numpy().astype("datetime64[D]")
    out: contrib.Contributions = {}
    contrib._emit(out, "s", frame, ["who", "hour"], value="n" if summed else None)
    expected: contrib.Contributions = {}
    for day, who, hour, n in rows:
        cells = expected.setdefault(("s", day), {})
        cells[(who, hour)] = cells.get((who, hour), 0) + (n if summed else 1)
    expected = {k: {c: v for c, v in cells.items() if v} for k, cells in expected.items()}
    assert out == {k: cells for k, cells in expected.items() if cells}


_PAIRS = [("inbound", "contact"), ("outbound", "advisor"), ("outbound", "bot"), ("outbound", "system")]


def _walk(rows: list[tuple[str, str, int, str, str]]) -> list[tuple[str, int]]:
    """reports.md's response-time, message by message: per conversation in (created_at,
    id) order, the first inbound after the last advisor reply starts a wait and the next
    advisor outbound ends it; bots and system messages do neither."""
    samples = []
    for vid in {r[1] for r in rows}:
        wait = None
        for mid, _, created, direction, author in sorted((r for r in rows if r[1] == vid), key=lambda r: (r[2], r[0])):
            if author == "advisor":
                if wait is not None:
                    samples.append((mid, max(0, created - wait) // 10**9))
                wait = None
            elif direction == "inbound" and wait is None:
                wait = created
    return sorted(samples)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.text("ab1é", min_size=1, max_size=3), st.sampled_from(["v1", "v2", "v3"]),
                  st.integers(0, 6).map(lambda s: s * 10**9) | st.integers(0, 6 * 10**9), st.sampled_from(_PAIRS)),
        max_size=14, unique_by=lambda r: r[0],
    )
)  # fmt: skip
def test_response_samples_are_the_definitions_walk(drawn: list[tuple[str, str, int, tuple[str, str]]]) -> None:
    """Ties on the instant (ordered by id, as text), repeated replies, bots between, waits
    that never end, sub-second gaps: the vectorised runs give the walk's samples."""
    rows = [(mid, vid, created, direction, author) for mid, vid, created, (direction, author) in drawn]
    frame = contrib._table(rows, ["mid", "vid", "created", "direction", "author_type"])
    samples = contrib._response_samples(frame)
    assert sorted(zip(samples["mid"], samples["seconds"].tolist(), strict=True)) == _walk(rows)
