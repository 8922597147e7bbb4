"""Stored documents (compressed JSON in parts) read back as json would read them: those
orjson writes now and those json wrote before; a number orjson could not read exactly is
refused when written, not misread later."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.storage import blobs

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5) | st.integers(0, 9), inner, max_size=4)
    ),
    max_leaves=20,
)


def _as_json_reads(doc: Any) -> Any:
    return json.loads(json.dumps(doc))


@settings(max_examples=200, deadline=None)
@given(_DOCS)
def test_a_document_reads_back_as_json_would_read_it(doc: Any) -> None:
    assert blobs.decode(blobs.encode(doc)) == _as_json_reads(doc)


@settings(max_examples=100, deadline=None)
@given(_DOCS)
def test_documents_json_wrote_before_read_the_same(doc: Any) -> None:
    raw = zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)
    parts = [raw[i : i + 50] for i in range(0, len(raw), 50)] or [b""]
    assert blobs.decode(parts) == _as_json_reads(doc)


def test_a_large_document_is_split_into_parts_under_the_item_limit() -> None:
    doc = {"cells": [[f"contact-{i}", i * 7919 % 100_003] for i in range(200_000)]}
    parts = blobs.encode(doc)
    assert len(parts) > 1 and max(map(len, parts)) <= blobs.PART_BYTES
    assert blobs.decode(parts) == doc


def test_an_integer_beyond_64_bits_is_refused_when_written() -> None:
    with pytest.raises(TypeError):
        blobs.encode({"count": 2**64})


def _bucket(cells: int) -> dict[str, Any]:
    """A preset bucket as the writer marks one whose counters a head can do without."""
    whole = [[f"advisor-{i % 200}", i * 7919 % 100_003, 1 + i % 3] for i in range(cells)]
    return {"section": "rt", "cur": whole, "prev": [], "cur_views": {"001": [[None, None, 5]]}, blobs.BODY: ["cur"]}


def test_a_document_in_parts_that_names_its_body_is_headed() -> None:
    doc = _bucket(200_000)
    parts = blobs.encode(doc)
    assert len(parts) > 1 and max(map(len, parts)) <= blobs.PART_BYTES
    assert parts[0].startswith(blobs.HEADED)
    assert blobs.decode(parts) == doc
    head = blobs.decode_head(parts[0])
    assert head == {key: value for key, value in doc.items() if key != "cur"}  # prev stays: not named


def test_a_document_in_one_part_is_never_headed() -> None:
    parts = blobs.encode(_bucket(100))
    assert len(parts) == 1 and blobs.decode_head(parts[0]) is None
    assert blobs.decode(parts) == _bucket(100)


def test_a_head_and_a_body_of_two_versions_are_refused() -> None:
    """A reader between a writer's puts gets part 0 of one version and the rest of another."""
    old, new = blobs.encode(_bucket(200_000)), blobs.encode(_bucket(200_001))
    assert len(old) == len(new) > 1
    with pytest.raises(ValueError, match="not the one its head was written with"):
        blobs.decode([new[0], *old[1:]])


def test_a_head_too_large_for_one_part_is_stored_whole() -> None:
    doc = _bucket(200_000)
    doc["prev"] = doc["cur"]  # not named: it would stay in the head, and fill more than a part
    parts = blobs.encode(doc)
    assert blobs.decode_head(parts[0]) is None and blobs.decode(parts) == doc
