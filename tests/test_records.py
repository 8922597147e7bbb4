"""The input contract: good records normalise, bad ones are rejected with field and reason."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from mediana.domain.records import Rejection, parse_line
from mediana.domain.timeutil import format_instant, parse_instant
from mediana.domain.versions import newer

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


def line(base: Mapping[str, object] = GOOD_CONTACT, **overrides: object) -> str:
    """``base`` with ``overrides`` as one JSON line (``...`` drops a field)."""
    rec = {**base, **overrides}
    return json.dumps({k: v for k, v in rec.items() if v is not ...})


def test_good_contact_normalises_timestamps_to_nanoseconds() -> None:
    rec = parse_line(line(), "acme")
    assert isinstance(rec, dict)
    assert rec["created_at"] == parse_instant("2026-03-02T14:58:00Z") == 1_772_463_480 * 10**9
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
            "from 0 to 86400",
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


# ---- the contract's bounds (source-records.md: instants and durations) ----------------


@pytest.mark.parametrize(
    ("text", "expected_ns"),
    [
        ("2026-03-02T14:31:51.000000900Z", 1_772_461_911_000_000_900),
        ("2026-03-02T14:31:51.1Z", 1_772_461_911_100_000_000),
        ("2026-03-02T11:31:51.123456789-03:00", 1_772_461_911_123_456_789),
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T01:00:00+01:00", 0),
        ("2100-01-01T00:00:00Z", 4_102_444_800 * 10**9),
        ("2099-12-31T20:59:59.999999999-03:00", 4_102_444_800 * 10**9 - 1),
    ],
)
def test_instants_are_exact_to_the_nanosecond(text: str, expected_ns: int) -> None:
    assert parse_instant(text) == expected_ns


def test_format_instant_keeps_every_digit_it_needs() -> None:
    assert format_instant(1_772_461_911_000_000_900) == "2026-03-02T14:31:51.000000900Z"
    assert format_instant(1_772_461_911_123_456_000) == "2026-03-02T14:31:51.123456Z"
    assert format_instant(1_772_461_911 * 10**9) == "2026-03-02T14:31:51Z"
    for text in ("2026-03-02T14:31:51.000000900Z", "2026-03-02T14:31:51.123456Z", "1970-01-01T00:00:00Z"):
        assert format_instant(parse_instant(text)) == text


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-03-02T14:31:51.0000009001Z", "more than 9 fraction digits"),
        ("1969-12-31T23:59:59.999999999Z", "outside 1970-01-01T00:00:00Z ... 2100-01-01T00:00:00Z"),
        ("1970-01-01T00:00:00+00:01", "outside"),
        ("2100-01-01T00:00:00.000000001Z", "outside"),
        ("2100-01-01T00:00:00-00:01", "outside"),
        ("9999-12-31T23:59:59-12:00", "outside"),
        ("0001-01-01T00:00:00+14:00", "outside"),
        ("2026-03-02T14:31:51Z\n", "RFC 3339"),
    ],
)
def test_instants_outside_the_contract_are_rejected_with_the_reason(value: str, fragment: str) -> None:
    for field_name in ("created_at", "updated_at", "deleted_at"):
        result = parse_line(line(GOOD_CONTACT, **{field_name: value}), "acme")
        assert isinstance(result, Rejection), (field_name, result)
        assert result.field == field_name
        assert fragment in result.reason


CALL = {
    "kind": "interaction",
    "tenant_id": "acme",
    "id": "i-1",
    "updated_at": "2026-03-03T12:00:00Z",
    "contact_id": "ct-1",
    "owner_id": "u-ana",
    "type": "call_log",
    "occurred_at": "2026-03-03T10:00:00-03:00",
    "call_type": "demo",
    "outcome": "answered",
}


@pytest.mark.parametrize("seconds", [0, 0.001, 754, 86_400, 86_400.0])
def test_durations_within_one_day_are_kept(seconds: float) -> None:
    rec = parse_line(line(CALL, duration_seconds=seconds), "acme")
    assert isinstance(rec, dict), rec
    assert rec["duration_seconds"] == seconds


@pytest.mark.parametrize("text", ["1e308", "86400.001", "-0.5", '"754"', "true", "1e999"])
def test_durations_outside_the_contract_are_rejected(text: str) -> None:
    raw = line(CALL).replace('"outcome": "answered"', f'"outcome": "answered", "duration_seconds": {text}')
    result = parse_line(raw, "acme")
    assert isinstance(result, Rejection), (text, result)
    assert result.field == "duration_seconds"
    assert "finite number from 0 to 86400" in result.reason


def test_an_erasure_is_terminal_whatever_the_order() -> None:
    live = parse_line(line(updated_at="2026-05-01T00:00:00.000000001Z"), "acme")
    tomb = parse_line(line(updated_at="2026-05-01T00:00:00Z", erased=True), "acme")
    assert isinstance(live, dict) and isinstance(tomb, dict)
    assert newer(tomb, live) and not newer(live, tomb)


@pytest.mark.parametrize(
    ("field", "extra"),
    [("id", {}), ("origin", {}), ("owner_id", {}), ("name", {"kind": "tenant", "id": "acme"}),
     ("call_types", {"kind": "tenant", "id": "acme"})],
)  # fmt: skip
def test_a_lone_surrogate_is_no_text_and_is_rejected_naming_its_field(field: str, extra: dict[str, object]) -> None:
    # JSON's \ud800 escape spells a code unit no UTF-8 text holds; before, such a record was
    # accepted and then broke the aggregation (pandas' Arrow strings), where only bisection found it
    record = {**GOOD_CONTACT, **extra}
    record[field] = ["demo", "\ud800"] if field == "call_types" else "x\udfff"
    answer = parse_line(json.dumps(record), "acme")
    assert answer == Rejection(field, "not Unicode text: a lone surrogate (an unpaired \\ud800-\\udfff escape)")
    paired = {**record, field: ["demo", "\U0001f600"] if field == "call_types" else "x\U0001f600"}  # a pair: text
    assert not isinstance(parse_line(json.dumps(paired), "acme"), Rejection)
