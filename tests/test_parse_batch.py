"""The batch parse (``parse_lines``, columns at a time) answers exactly as ``parse_line`` on
each line: the same records with the same keys in the same order, the same rejections
and reasons, whatever mix of lines a batch holds. And
``parse_instants`` gives ``parse_instant``'s answer for every value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from line_strategies import CHANNELS, FIELD_VALUES, INTERACTION_TYPES, LINES, STAMPS, TEXT, VALUES, encode
from mediana.domain.parse_batch import parse_lines
from mediana.domain.records import CALL_OUTCOMES, Rejection, parse_line
from mediana.domain.timeutil import parse_instant, parse_instants

_DIGITS = st.integers(0, 99).map(lambda n: f"{n:02d}")
# the usual form, and its near misses: any two digits per field, years around the window's ends
_USUAL = st.builds(
    lambda y, mo, d, h, mi, s, tail: f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}{tail}",
    st.sampled_from([1969, 1970, 2000, 2024, 2026, 2099, 2100, 2101, 9999, 0]) | st.integers(0, 9999),
    _DIGITS, _DIGITS, _DIGITS, _DIGITS, _DIGITS,
    st.sampled_from(["Z", "Z", "Z", "z", "+00:00", "-05:00", ".5Z", "", "ZZ"]),
)  # fmt: skip
_INSTANTS = _USUAL | STAMPS | TEXT | st.none() | st.integers() | st.lists(st.just("2026-03-02T12:00:00Z"), max_size=1)
_STAMP = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")) | STAMPS | _USUAL
_ID = TEXT | st.sampled_from(["x" * 128, "x" * 129])
_NAME = st.sampled_from(["g-sales", "u-ana", "Web form"]) | st.none() | TEXT
# every field present, as exporters write them (the columns' fastest path)
_FULL = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("contact"),
            "id": _ID,
            "created_at": _STAMP,
            "origin": _NAME,
            "entry_group_id": _NAME,
            "group_id": _NAME,
            "owner_id": _NAME,
            "deleted_at": st.none() | _STAMP,
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("conversation"),
            "id": _ID,
            "contact_id": TEXT,
            "channel": st.sampled_from(CHANNELS) | st.none(),
            "created_at": _STAMP,
            "closed_at": st.none() | _STAMP,
            "group_id": _NAME,
            "owner_id": _NAME,
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("message"),
            "id": _ID,
            "conversation_id": TEXT,
            "direction": st.sampled_from(["inbound", "outbound"]),
            "author_type": st.sampled_from(["contact", "advisor", "bot"]),
            "author_id": _NAME,
            "created_at": _STAMP,
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("interaction"),
            "id": _ID,
            "contact_id": TEXT,
            "owner_id": _NAME,
            "occurred_at": _STAMP,
            "type": st.sampled_from(INTERACTION_TYPES),
            "call_type": _NAME,
            "outcome": st.sampled_from(CALL_OUTCOMES) | st.none(),
            "duration_seconds": st.none()
            | st.integers(-1, 86_401)
            | st.sampled_from([-1, 0, 86_400, 86_401, 0.5, -0.0, 86_400.0, 86_400.5, 1e300]),
        }
    ),
).map(lambda obj: {"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **obj})
_FULL_PERTURBED = st.builds(
    lambda obj, name, value, apply: {**obj, name: value} if apply else obj,
    _FULL, st.sampled_from(sorted(FIELD_VALUES)), VALUES, st.integers(0, 4).map(lambda n: n == 0),
)  # fmt: skip
_BATCH_LINES = LINES | st.builds(encode, _FULL_PERTURBED, st.booleans())


def _canonical(answer: Any) -> Any:
    if isinstance(answer, dict):
        return ("record", list(answer), json.dumps(answer, sort_keys=True))  # key order too; NaN-safe
    return answer


def _same_batch(lines: list[Any], tenant: str = "acme", *, events: bool = True) -> None:
    batch = parse_lines(lines, tenant)
    one_by_one = [parse_line(line, tenant) for line in lines]
    for answer in one_by_one if events else ():
        event(type(answer).__name__)
    assert [_canonical(a) for a in batch] == [_canonical(a) for a in one_by_one]


@settings(max_examples=300, deadline=None)
@given(st.lists(_BATCH_LINES, max_size=30))
def test_a_batch_answers_as_each_line_alone(lines: list[str]) -> None:
    _same_batch(lines)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(encode, _FULL, st.booleans()), min_size=1, max_size=30))
def test_a_batch_of_whole_records_answers_as_each_line_alone(lines: list[str]) -> None:
    _same_batch(lines)


@settings(max_examples=100, deadline=None)
@given(st.lists(_BATCH_LINES.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=40), max_size=20))
def test_a_batch_of_bytes_answers_as_each_line_alone(lines: list[bytes]) -> None:
    _same_batch(lines)


@pytest.mark.parametrize("tenant", ["other", "bad tenant!", ""])
def test_a_batch_for_another_or_an_invalid_tenant_answers_as_each_line_alone(tenant: str) -> None:
    line = json.dumps({"kind": "message", "tenant_id": "acme", "id": "m-1", "updated_at": "2026-03-02T12:00:00Z",
                       "conversation_id": "cv-1", "direction": "inbound", "author_type": "contact",
                       "created_at": "2026-03-02T12:00:00Z"})  # fmt: skip
    _same_batch([line, line.replace('"acme"', json.dumps(tenant))], tenant, events=False)
    assert all(isinstance(a, Rejection) for a in parse_lines([line], tenant))


def _reference(value: object) -> tuple[str, int | None]:
    if value is None:
        return ("missing", None)
    try:
        return ("ok", parse_instant(value))
    except ValueError:
        return ("bad", None)


@settings(max_examples=500, deadline=None)
@given(st.lists(_INSTANTS, max_size=12))
def test_parse_instants_answers_as_parse_instant(values: list[object]) -> None:
    instants, bad = parse_instants(values)
    expected = [_reference(v) for v in values]
    for kind, _ in expected:
        event(kind)
    assert bad == [i for i, (kind, _) in enumerate(expected) if kind == "bad"]
    assert instants == [value for _, value in expected]


def test_the_windows_last_instant_is_in_and_the_next_out() -> None:
    instants, bad = parse_instants(["2100-01-01T00:00:00Z", "2100-01-01T00:00:01Z", "1970-01-01T00:00:00Z"])
    assert instants == [4_102_444_800 * 10**9, None, 0] and bad == [1]


_WHOLE: list[dict[str, Any]] = [
    {"kind": "contact", "id": "ct-1", "created_at": "2026-03-02T11:58:00Z", "origin": "Web form",
     "entry_group_id": "g-1", "group_id": "g-1", "owner_id": "u-1", "deleted_at": None},
    {"kind": "conversation", "id": "cv-1", "contact_id": "ct-1", "channel": "whatsapp",
     "created_at": "2026-03-02T14:58:00Z", "closed_at": None, "group_id": "g-1", "owner_id": "u-1"},
    {"kind": "message", "id": "m-1", "conversation_id": "cv-1", "direction": "outbound", "author_type": "advisor",
     "author_id": "u-1", "created_at": "2026-03-02T15:04:30Z"},
    {"kind": "interaction", "id": "i-1", "contact_id": "ct-1", "owner_id": "u-1", "type": "call_log",
     "occurred_at": "2026-03-03T10:00:00Z", "call_type": "demo", "outcome": "answered", "duration_seconds": 754},
]  # fmt: skip
_EDITS = [
    ("erased", True), ("erased", False), ("erased", None), ("erased", 1), ("erased", "yes"),
    ("duration_seconds", 0), ("duration_seconds", 86_400), ("duration_seconds", 86_401), ("duration_seconds", -1),
    ("duration_seconds", 1.5), ("duration_seconds", -0.0), ("duration_seconds", 86_400.0),
    ("duration_seconds", 86_400.5), ("duration_seconds", -0.5), ("duration_seconds", 1e300),
    ("duration_seconds", True), ("duration_seconds", None), ("id", "x" * 128),
    ("id", "x" * 129), ("id", ""), ("id", 7), ("tenant_id", "other"), ("tenant_id", None), ("updated_at", None),
    ("updated_at", "2026-03-02T12:00:00+00:00"), ("updated_at", "2026-02-30T00:00:00Z"), ("channel", None),
    ("channel", "fax"), ("direction", "inbound"), ("author_type", "contact"), ("author_type", "bot"),
    ("outcome", None), ("outcome", "maybe"), ("type", "note"), ("type", "call"), ("closed_at", "2026-03-03T00:00:00Z"),
    ("deleted_at", "garbage"), ("origin", 3), ("contact_id", ""), ("contact_id", None), ("author_id", ["u"]),
]  # fmt: skip


@pytest.mark.parametrize("kind", [w["kind"] for w in _WHOLE])
def test_every_edit_of_a_whole_record_in_one_batch_answers_as_each_line_alone(kind: str) -> None:
    whole = {"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **next(w for w in _WHOLE if w["kind"] == kind)}
    lines = [json.dumps(whole)] + [json.dumps({**whole, name: value}) for name, value in _EDITS]
    answers = parse_lines(lines, "acme")
    _same_batch(lines, events=False)
    assert not isinstance(answers[0], Rejection)  # the whole record is valid, and some edits are not
    assert any(isinstance(a, Rejection) for a in answers)
    for edit in range(len(lines)):  # and each edit alone among whole records (a column all fast but one)
        _same_batch([lines[0]] * 3 + [lines[edit]], events=False)


def test_a_duration_no_double_holds_is_judged_as_alone() -> None:
    """orjson refuses NaN and numbers beyond a double, which Python's json reads as
    floats: such a call takes the reference's path, and gets its answer."""
    call = {"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **_WHOLE[-1]}
    lines = [json.dumps(call).replace('"duration_seconds": 754', f'"duration_seconds": {v}') for v in
             ("754", "NaN", "1e400", "-1e400", "754.25")]  # fmt: skip
    _same_batch(lines, events=False)
    assert [type(a).__name__ for a in parse_lines(lines, "acme")] == ["dict", *["Rejection"] * 3, "dict"]


def test_an_unhashable_value_beside_a_wrong_pair_is_judged_like_any_other() -> None:
    message = next(w for w in _WHOLE if w["kind"] == "message")
    base = {"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **message}
    lines = [json.dumps({**base, "direction": ["outbound"]}), json.dumps({**base, "author_type": "contact"})]
    _same_batch(lines, events=False)
    assert all(isinstance(a, Rejection) for a in parse_lines(lines, "acme"))


def test_a_fault_in_a_column_check_costs_speed_not_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from mediana.domain import parse_batch

    def broken(raws: list[Any], tenant: str) -> Any:
        raise RuntimeError("a bug in a check")

    monkeypatch.setitem(parse_batch._BUILDERS, "message", broken)
    lines = [json.dumps({"tenant_id": "acme", "updated_at": "2026-03-02T12:00:00Z", **w}) for w in _WHOLE]
    _same_batch([*lines, "not json", ""], events=False)
