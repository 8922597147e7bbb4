"""The aggregator's fast parse (orjson) answers exactly as the standard library's json did:
the same records, the same version hashes, the same rejections with the same reasons."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from mediana.domain.records import (
    AUTHOR_TYPES,
    CHANNELS,
    INTERACTION_TYPES,
    KINDS,
    Rejection,
    _canonical_reference,
    parse_line,
    parse_line_reference,
    version_hash,
)

_STAMPS = st.sampled_from(
    ["2026-03-02T12:00:00Z", "2026-03-02T12:00:00.123456789Z", "2026-03-02T07:00:00-05:00", "2026-02-30T00:00:00Z"]
)
_TEXT = st.text(max_size=12) | st.sampled_from(["acme", "ct-1", "cv-1", "u-ana", "é", "\x00", "a\\b", '"', "\ud800"])
_NUMBERS = st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([60, 1.5])
_SCALARS = st.none() | st.booleans() | _NUMBERS | _TEXT | _STAMPS
_VALUES = _SCALARS | st.lists(_SCALARS, max_size=3) | st.dictionaries(_TEXT, _SCALARS, max_size=2)
_FIELD_VALUES: dict[str, Any] = {
    "kind": st.sampled_from(KINDS) | _VALUES,
    "tenant_id": st.just("acme") | _VALUES,
    "id": st.sampled_from(["acme", "x-1"]) | _VALUES,
    "updated_at": _STAMPS | _VALUES,
    "created_at": _STAMPS | _VALUES,
    "occurred_at": _STAMPS | _VALUES,
    "channel": st.sampled_from(CHANNELS) | _VALUES,
    "direction": st.sampled_from(["inbound", "outbound"]) | _VALUES,
    "author_type": st.sampled_from(AUTHOR_TYPES) | _VALUES,
    "type": st.sampled_from(INTERACTION_TYPES) | _VALUES,
    "duration_seconds": _NUMBERS | _VALUES,
    "contact_id": _TEXT,
    "conversation_id": _TEXT,
    "name": _TEXT,
    "origin": _TEXT,
    "timezone": st.sampled_from(["UTC", "America/Bogota", "Nowhere/City"]) | _VALUES,
    "call_types": st.lists(_TEXT, max_size=3) | _VALUES,
    "active": _VALUES,
    "erased": st.booleans() | _VALUES,
}
_OBJECTS = st.fixed_dictionaries(
    {"kind": _FIELD_VALUES["kind"], "tenant_id": st.just("acme"), "id": _FIELD_VALUES["id"]},
    optional={name: value for name, value in _FIELD_VALUES.items() if name not in ("kind", "tenant_id", "id")},
)
_NAMES = st.text(max_size=10) | st.none()
_VALID = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.just("tenant"), "id": st.just("acme")},
        optional={
            "name": _NAMES,
            "timezone": st.sampled_from(["UTC", "America/Bogota"]),
            "call_types": st.lists(st.text(min_size=1, max_size=5), max_size=3),
        },
    ),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["user", "group"]), "id": _TEXT}, optional={"name": _NAMES, "active": st.booleans()}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("contact"), "id": _TEXT, "created_at": _STAMPS},
        optional={"origin": _NAMES, "group_id": _NAMES, "owner_id": _NAMES, "deleted_at": _STAMPS | st.none()},
    ),
    st.fixed_dictionaries(
        {"kind": st.just("conversation"), "id": _TEXT, "contact_id": _TEXT, "created_at": _STAMPS},
        optional={"channel": st.sampled_from(CHANNELS), "closed_at": _STAMPS | st.none()},
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("message"),
            "id": _TEXT,
            "conversation_id": _TEXT,
            "created_at": _STAMPS,
            "direction": st.just("outbound"),
            "author_type": st.sampled_from(["advisor", "bot"]),
            "author_id": _NAMES,
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("interaction"),
            "id": _TEXT,
            "contact_id": _TEXT,
            "occurred_at": _STAMPS,
            "type": st.just("call_log"),
        },
        optional={
            "duration_seconds": st.integers(0, 86_400) | st.floats(0, 86_400) | st.none(),
            "outcome": st.sampled_from(["answered", "busy"]),
            "call_type": _NAMES,
        },
    ),
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["conversation", "interaction"]),
            "id": _TEXT,
            "contact_id": _TEXT,
            "erased": st.just(True),
        }
    ),
).map(lambda obj: {"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **obj})
# a valid record with at most one field given any value (most lines parse; some do not)
_PERTURBED = st.builds(
    lambda obj, name, value, apply: {**obj, name: value} if apply else obj,
    _VALID,
    st.sampled_from(sorted(_FIELD_VALUES)),
    _VALUES,
    st.integers(0, 3).map(lambda n: n == 0),
)
_OBJECTS = _PERTURBED | _OBJECTS


def _encode(obj: Any, ascii_only: bool) -> str:
    return json.dumps(obj, ensure_ascii=ascii_only, allow_nan=True)


_LINES = (
    st.builds(_encode, _OBJECTS, st.booleans())
    | st.builds(lambda obj, cut: _encode(obj, True)[:cut], _OBJECTS, st.integers(0, 80))  # truncated
    | st.builds(lambda obj, junk: _encode(obj, False) + junk, _OBJECTS, st.sampled_from([" ", "\t", "x", "\x00", "}"]))
    | st.text(max_size=40)
    | st.sampled_from(["", "   ", "[]", "null", '{"kind": NaN}', "\ufeff{}", '{"a":' * 2000 + "1" + "}" * 2000])
)


def _same(line: bytes | str) -> None:
    fast, reference = parse_line(line, "acme"), parse_line_reference(line, "acme")
    event(type(reference).__name__)
    assert type(fast) is type(reference)
    if isinstance(fast, Rejection):
        assert fast == reference
    elif fast is not None:
        assert json.dumps(fast, sort_keys=True) == json.dumps(reference, sort_keys=True)  # NaN-safe equality


@settings(max_examples=600, deadline=None)
@given(_LINES)
def test_the_fast_parse_answers_as_the_reference_for_text(line: str) -> None:
    _same(line)


@settings(max_examples=300, deadline=None)
@given(_LINES.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=60))
def test_the_fast_parse_answers_as_the_reference_for_bytes(line: bytes) -> None:
    _same(line)


_RECORD_VALUES = st.none() | st.booleans() | _NUMBERS | _TEXT | st.lists(_TEXT | _NUMBERS, max_size=3)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.sampled_from(list(_FIELD_VALUES) + ["h", "ns", "é"]), _RECORD_VALUES, max_size=8))
def test_the_fast_version_hash_is_the_digest_of_jsons_canonical_form(record: dict[str, Any]) -> None:
    expected = hashlib.blake2b(_canonical_reference(record), digest_size=6).hexdigest()
    assert version_hash(record) == expected


def test_a_big_integer_is_quoted_as_json_quotes_it() -> None:
    line = '{"kind": 18446744073709551616, "tenant_id": "acme", "id": "x"}'
    assert parse_line(line, "acme") == Rejection("kind", "unknown kind 18446744073709551616")
