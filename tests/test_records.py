"""The input contract: good records normalise, bad ones are rejected with field and reason."""

from __future__ import annotations

import json

import pytest
from mediana.records import Rejection, newer, parse_line
from mediana.timeutil import format_instant, parse_instant

GOOD_CONTACT = {
    "kind": "contact",
    "tenant_id": "acme",
    "id": "ct-1",
    "updated_at": "2026-03-02T12:00:00Z",
    "created_at": "2026-03-02T11:58:00-03:00",
    "origin": None,
    "deleted_at": None,
}


GOOD_MESSAGE = {
    "kind": "message",
    "tenant_id": "acme",
    "id": "m",
    "updated_at": "2026-01-01T00:00:00Z",
    "conversation_id": "c",
    "direction": "inbound",
    "author_type": "contact",
    "created_at": "2026-01-01T00:00:00Z",
}


def line(base: dict[str, object] = GOOD_CONTACT, **overrides: object) -> str:
    """``base`` with ``overrides`` as one JSON line (``...`` drops a field)."""
    rec = {**base, **overrides}
    return json.dumps({k: v for k, v in rec.items() if v is not ...})


def test_good_contact_normalises_timestamps_to_microseconds() -> None:
    rec = parse_line(line(), "acme")
    assert isinstance(rec, dict)
    assert rec["created_at"] == parse_instant("2026-03-02T14:58:00Z")
    assert format_instant(rec["created_at"]) == "2026-03-02T14:58:00Z"


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("{not json", "(line)", "not valid JSON"),
        ("[1,2]", "(line)", "JSON object"),
        (line(kind="lead"), "kind", "unknown kind"),
        (line(tenant_id="other"), "tenant_id", "submitted for 'acme'"),
        (line(tenant_id="bad tenant!"), "tenant_id", "[A-Za-z0-9_-]"),
        (line(id=""), "id", "1-128"),
        (line(created_at=...), "created_at", "required"),
        (line(created_at="2026-03-02 11:58"), "created_at", "RFC 3339"),
        (line(created_at="2026-02-30T10:00:00Z"), "created_at", "invalid date"),
        (line(origin=5), "origin", "string"),
        (line(updated_at="yesterday"), "updated_at", "RFC 3339"),
        (line(GOOD_MESSAGE, author_type="advisor"), "author_type", "inbound"),
        (line(GOOD_MESSAGE, direction="sideways"), "direction", "unknown value"),
        (
            json.dumps(
                {
                    "kind": "interaction",
                    "tenant_id": "acme",
                    "id": "i",
                    "updated_at": "2026-01-01T00:00:00Z",
                    "contact_id": "c",
                    "type": "call_log",
                    "occurred_at": "2026-01-01T00:00:00Z",
                    "duration_seconds": -1,
                }
            ),
            "duration_seconds",
            ">= 0",
        ),
        (
            json.dumps(
                {
                    "kind": "tenant",
                    "tenant_id": "acme",
                    "id": "acme",
                    "updated_at": "2026-01-01T00:00:00Z",
                    "timezone": "Mars/Olympus",
                }
            ),
            "timezone",
            "unknown IANA",
        ),
        (
            json.dumps(
                {
                    "kind": "message",
                    "tenant_id": "acme",
                    "id": "m",
                    "updated_at": "2026-01-01T00:00:00Z",
                    "erased": True,
                }
            ),
            "conversation_id",
            "required",
        ),
    ],
)
def test_bad_lines_are_rejected_with_field_and_reason(text: str, field: str, fragment: str) -> None:
    result = parse_line(text, "acme")
    assert isinstance(result, Rejection), result
    assert result.field == field
    assert fragment in result.reason


def test_blank_line_is_not_a_record() -> None:
    assert parse_line("   ", "acme") is None


def test_erasure_tombstone_keeps_no_content() -> None:
    rec = parse_line(
        json.dumps(
            {
                "kind": "contact",
                "tenant_id": "acme",
                "id": "ct-1",
                "updated_at": "2026-01-01T00:00:00Z",
                "erased": True,
                "origin": "secret",
            }
        ),
        "acme",
    )
    assert isinstance(rec, dict) and rec["erased"] is True and "origin" not in rec


def test_latest_updated_at_wins_and_equal_versions_tie_break_deterministically() -> None:
    old = parse_line(line(updated_at="2026-03-02T12:00:00Z"), "acme")
    new = parse_line(line(updated_at="2026-03-02T12:00:01Z"), "acme")
    assert isinstance(old, dict) and isinstance(new, dict)
    assert newer(new, old) and not newer(old, new)
    assert not newer(old, dict(old))  # a replay changes nothing
    a = parse_line(line(origin="A"), "acme")
    b = parse_line(line(origin="B"), "acme")
    assert isinstance(a, dict) and isinstance(b, dict)
    assert newer(a, b) != newer(b, a)  # same instant, different content: one total order


def test_erasure_is_terminal_whatever_the_updated_at() -> None:
    live = parse_line(line(updated_at="2026-03-02T12:00:09Z"), "acme")
    tomb = parse_line(line(updated_at="2026-03-02T12:00:00Z", erased=True), "acme")
    assert isinstance(live, dict) and isinstance(tomb, dict)
    assert newer(tomb, live) and not newer(live, tomb)  # a later live version cannot resurrect it
