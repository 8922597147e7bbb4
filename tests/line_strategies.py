"""Hypothesis strategies for JSON Lines: valid records of every kind, the same with one
field given any value, arbitrary objects, truncated and padded lines, and junk."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from mediana.domain.records import AUTHOR_TYPES, CHANNELS, INTERACTION_TYPES, KINDS

STAMPS = st.sampled_from(
    ["2026-03-02T12:00:00Z", "2026-03-02T12:00:00.123456789Z", "2026-03-02T07:00:00-05:00", "2026-02-30T00:00:00Z"]
)
TEXT = st.text(max_size=12) | st.sampled_from(["acme", "ct-1", "cv-1", "u-ana", "é", "\x00", "a\\b", '"', "\ud800"])
NUMBERS = st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([60, 1.5])
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT | STAMPS
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(TEXT, SCALARS, max_size=2)
FIELD_VALUES: dict[str, Any] = {
    "kind": st.sampled_from(KINDS) | VALUES,
    "tenant_id": st.just("acme") | VALUES,
    "id": st.sampled_from(["acme", "x-1"]) | VALUES,
    "updated_at": STAMPS | VALUES,
    "created_at": STAMPS | VALUES,
    "occurred_at": STAMPS | VALUES,
    "channel": st.sampled_from(CHANNELS) | VALUES,
    "direction": st.sampled_from(["inbound", "outbound"]) | VALUES,
    "author_type": st.sampled_from(AUTHOR_TYPES) | VALUES,
    "type": st.sampled_from(INTERACTION_TYPES) | VALUES,
    "duration_seconds": NUMBERS | VALUES,
    "contact_id": TEXT,
    "conversation_id": TEXT,
    "name": TEXT,
    "origin": TEXT,
    "timezone": st.sampled_from(["UTC", "America/Bogota", "Nowhere/City"]) | VALUES,
    "call_types": st.lists(TEXT, max_size=3) | VALUES,
    "active": VALUES,
    "erased": st.booleans() | VALUES,
}
OBJECTS = st.fixed_dictionaries(
    {"kind": FIELD_VALUES["kind"], "tenant_id": st.just("acme"), "id": FIELD_VALUES["id"]},
    optional={name: value for name, value in FIELD_VALUES.items() if name not in ("kind", "tenant_id", "id")},
)
NAMES = st.text(max_size=10) | st.none()
VALID = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.just("tenant"), "id": st.just("acme")},
        optional={
            "name": NAMES,
            "timezone": st.sampled_from(["UTC", "America/Bogota"]),
            "call_types": st.lists(st.text(min_size=1, max_size=5), max_size=3),
        },
    ),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["user", "group"]), "id": TEXT}, optional={"name": NAMES, "active": st.booleans()}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("contact"), "id": TEXT, "created_at": STAMPS},
        optional={"origin": NAMES, "group_id": NAMES, "owner_id": NAMES, "deleted_at": STAMPS | st.none()},
    ),
    st.fixed_dictionaries(
        {"kind": st.just("conversation"), "id": TEXT, "contact_id": TEXT, "created_at": STAMPS},
        optional={"channel": st.sampled_from(CHANNELS), "closed_at": STAMPS | st.none()},
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("message"),
            "id": TEXT,
            "conversation_id": TEXT,
            "created_at": STAMPS,
            "direction": st.just("outbound"),
            "author_type": st.sampled_from(["advisor", "bot"]),
            "author_id": NAMES,
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("interaction"),
            "id": TEXT,
            "contact_id": TEXT,
            "occurred_at": STAMPS,
            "type": st.just("call_log"),
        },
        optional={
            "duration_seconds": st.integers(0, 86_400) | st.floats(0, 86_400) | st.none(),
            "outcome": st.sampled_from(["answered", "busy"]),
            "call_type": NAMES,
        },
    ),
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["conversation", "interaction"]),
            "id": TEXT,
            "contact_id": TEXT,
            "erased": st.just(True),
        }
    ),
).map(lambda obj: {"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **obj})
# a valid record with at most one field given any value (most lines parse; some do not)
PERTURBED = st.builds(
    lambda obj, name, value, apply: {**obj, name: value} if apply else obj,
    VALID,
    st.sampled_from(sorted(FIELD_VALUES)),
    VALUES,
    st.integers(0, 3).map(lambda n: n == 0),
)
OBJECTS = PERTURBED | OBJECTS


def encode(obj: Any, ascii_only: bool) -> str:
    return json.dumps(obj, ensure_ascii=ascii_only, allow_nan=True)


LINES = (
    st.builds(encode, OBJECTS, st.booleans())
    | st.builds(lambda obj, cut: encode(obj, True)[:cut], OBJECTS, st.integers(0, 80))  # truncated
    | st.builds(lambda obj, junk: encode(obj, False) + junk, OBJECTS, st.sampled_from([" ", "\t", "x", "\x00", "}"]))
    | st.text(max_size=40)
    | st.sampled_from(["", "   ", "[]", "null", '{"kind": NaN}', "\ufeff{}", '{"a":' * 2000 + "1" + "}" * 2000])
)
