"""The day sections' frames are built by Arrow from columns (contrib._table), and group
their rows by factorised codes (contrib._emit): both give exactly what pandas gave."""

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
