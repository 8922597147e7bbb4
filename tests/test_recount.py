"""The audit's build (``domain/recount.py``) equals the incrementally kept day documents,
for any split, order, duplication and lateness of the records (hypothesis), read from the
compacted log as the aggregator stores it -- and from a log not yet compacted, with the
older microsecond encoding, or with texts Arrow refuses."""

from __future__ import annotations

from typing import Any

import pytest
import test_incremental_property as incremental  # its strategies (a module import: no test collected twice)
from helpers import fed, normalise
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediana.domain import recount
from mediana.domain.records import INSTANT_FIELDS, NS_MARK
from mediana.domain.versions import version_of
from mediana.storage.log import stored_text  # a record as LogOps.write_log stores it

TZ = incremental.TZ
SETTINGS = settings(max_examples=incremental.EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fed_models(draw: st.DrawFn) -> Any:
    _, deltas = draw(incremental.arrivals(moving=draw(st.booleans())))
    return fed(deltas, TZ)[0]


@SETTINGS
@given(fed_models(), st.randoms(use_true_random=False))
def test_the_recount_of_the_compacted_log_equals_the_incremental_days(model: Any, rnd: Any) -> None:
    texts = [stored_text(rec) for rec in model.log.values()]
    rnd.shuffle(texts)  # the recount reads no order into the log
    assert recount.recount_days(texts, TZ) == model.days


@SETTINGS
@given(incremental.arrivals(moving=True), st.randoms(use_true_random=False))
def test_the_recount_of_every_version_ever_stored_equals_the_incremental_days(case: Any, rnd: Any) -> None:
    """Before compaction the log holds every version, replays and losers among them."""
    _, deltas = case
    model, _ = fed(deltas, TZ)
    texts = [stored_text(rec) for delta in deltas for rec in normalise(delta)]
    rnd.shuffle(texts)
    assert recount.recount_days(texts, TZ) == model.days


@SETTINGS
@given(incremental.arrivals(moving=True), st.randoms(use_true_random=False), st.data())
def test_a_log_read_in_pages_of_any_size_counts_the_same_days(case: Any, rnd: Any, data: Any) -> None:
    """The audit reads the log a Query page at a time (``log_columns``): any cut of every
    version ever stored -- replays and ties across pages, versions of the older encoding, a
    page Arrow refuses -- gives the days of one read."""
    _, deltas = case
    model, _ = fed(deltas, TZ)
    recs = [rec for delta in deltas for rec in normalise(delta)]
    older = data.draw(st.lists(st.booleans(), min_size=len(recs), max_size=len(recs)))
    texts = [stored_text(_microseconds(r) if o and _whole_us(r) else r) for r, o in zip(recs, older, strict=True)]
    rnd.shuffle(texts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(texts)), max_size=6)))
    pages = [texts[a:b] for a, b in zip([0, *cuts], [*cuts, len(texts)], strict=True)]
    if data.draw(st.booleans()):  # a text Arrow refuses, which takes its page the slow way
        refused = '{"kind":"user","id":"u9","updated_at":1,"ns":1,"created_at":"x"}'
        pages.insert(rnd.randrange(len(pages) + 1), [refused])
    log = recount.log_columns(pages)
    assert log.rows == sum(map(len, pages)) and recount.count_days(log, TZ) == model.days


def _whole_us(rec: dict[str, Any]) -> bool:
    return all(rec.get(n) is None or rec[n] % 1000 == 0 for n in INSTANT_FIELDS)


def _microseconds(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec`` as a version stored before instants were nanoseconds (``records.upgrade``
    reads it back): its instants in microseconds, no mark, its hash kept as ``h``."""
    old = {k: v for k, v in rec.items() if k != NS_MARK}
    for name in INSTANT_FIELDS:
        if isinstance(old.get(name), int):
            old[name] //= 1000
    old["h"] = version_of(rec)
    return old


@SETTINGS
@given(incremental.arrivals(), st.data())
def test_versions_of_the_older_encoding_are_read_as_the_aggregator_reads_them(case: Any, data: Any) -> None:
    """Instants whole in microseconds, stored without the mark: some of the log's texts."""
    recs, _ = case
    whole = [raw for raw, r in zip(recs, normalise(recs), strict=True) if _whole_us(r)]
    model, _ = fed([whole], TZ)
    older = data.draw(st.lists(st.booleans(), min_size=len(whole), max_size=len(whole)))
    texts = [stored_text(_microseconds(r) if o else r) for r, o in zip(normalise(whole), older, strict=True)]
    assert recount.recount_days(texts, TZ) == model.days


def test_texts_arrow_refuses_are_read_the_slow_way_with_the_same_days() -> None:
    """A value of a type the columns do not hold (a duration stored as text by some older
    writer, say) leaves Arrow; the records are then read one by one, with the same answer."""
    raws = [
        {"kind": "contact", "id": "c1", "updated_at": "2026-04-01T00:00:00Z", "created_at": "2026-04-01T10:00:00Z"},
        {"kind": "interaction", "id": "i1", "updated_at": "2026-04-01T00:00:00Z", "contact_id": "c1",
         "type": "call_log", "occurred_at": "2026-04-02T10:00:00Z", "outcome": "answered", "owner_id": "u1",
         "duration_seconds": 12.5},
    ]  # fmt: skip
    model, _ = fed([raws], TZ)
    texts = [stored_text(r) for r in normalise(raws)]
    assert recount.log_table([t.encode() for t in texts]).num_rows == 2
    odd = texts + ['{"kind":"user","id":"u9","updated_at":1,"ns":1,"created_at":"not an integer"}']
    assert recount._arrow([t.encode() for t in odd]) is None  # Arrow refuses the text instant
    assert recount.recount_days(odd, TZ) == model.days != {}


def test_a_stored_text_that_is_no_object_is_named() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        recount.recount_days(["[1, 2]"], TZ)


@SETTINGS
@given(
    st.sampled_from(["", None, "Ads", "Boca a boca ü"]),
    st.lists(st.floats(min_value=0, max_value=86_400, allow_nan=False) | st.sampled_from([0.0005, 1.0005, 2.5e-3]),
             min_size=1, max_size=4),
)  # fmt: skip
def test_values_at_their_edges_count_as_the_aggregator_counts_them(origin: str | None, durations: list[float]) -> None:
    """An empty origin reads as "unknown", as a missing one does; call durations become whole
    milliseconds as Python's ``round`` makes them (half to even, of the float itself)."""
    raws: list[dict[str, Any]] = [
        {"kind": "contact", "id": "c1", "updated_at": "2026-04-01T00:00:00Z", "created_at": "2026-04-01T10:00:00Z",
         "origin": origin, "owner_id": "u1"},
    ]  # fmt: skip
    raws += [
        {"kind": "interaction", "id": f"i{k}", "updated_at": "2026-04-01T00:00:00Z", "contact_id": "c1",
         "type": "call_log", "occurred_at": "2026-04-02T10:00:00Z", "outcome": "answered", "owner_id": "u1",
         "call_type": "demo", "duration_seconds": seconds}
        for k, seconds in enumerate(durations)
    ]  # fmt: skip
    model, _ = fed([raws], TZ)
    assert recount.recount_days([stored_text(r) for r in normalise(raws)], TZ) == model.days


_BASE: list[dict[str, Any]] = [
    {
        "kind": "contact",
        "id": "c1",
        "created_at": "2026-04-01T10:00:00Z",
        "origin": "Ads",
        "entry_group_id": "g1",
        "group_id": "g1",
        "owner_id": "u1",
        "deleted_at": None,
    },
    {
        "kind": "conversation",
        "id": "v1",
        "contact_id": "c1",
        "channel": "whatsapp",
        "created_at": "2026-04-01T11:00:00Z",
        "closed_at": None,
        "group_id": "g1",
        "owner_id": "u1",
    },
    {
        "kind": "message",
        "id": "m1",
        "conversation_id": "v1",
        "direction": "inbound",
        "author_type": "contact",
        "author_id": None,
        "created_at": "2026-04-01T11:00:00Z",
    },
    {
        "kind": "message",
        "id": "m2",
        "conversation_id": "v1",
        "direction": "outbound",
        "author_type": "advisor",
        "author_id": "u1",
        "created_at": "2026-04-01T11:05:00Z",
    },
    {
        "kind": "interaction",
        "id": "i1",
        "contact_id": "c1",
        "owner_id": "u1",
        "type": "call_log",
        "occurred_at": "2026-04-02T10:00:00Z",
        "call_type": "demo",
        "outcome": "answered",
        "duration_seconds": 30,
    },
]
_OTHER: dict[str, Any] = {
    "origin": "Web",
    "entry_group_id": "g2",
    "group_id": "g2",
    "owner_id": "u2",
    "deleted_at": "2026-04-03T00:00:00Z",
    "channel": "email",
    "closed_at": "2026-04-01T12:00:00Z",
    "author_id": "u2",
    "created_at": "2026-04-01T11:01:00Z",
    "call_type": "closing",
    "outcome": "rejected",
    "duration_seconds": 45.5,
    "occurred_at": "2026-04-02T11:00:00Z",
}


@SETTINGS
@given(st.sampled_from(range(len(_BASE))), st.data())
def test_two_versions_of_one_instant_differing_in_one_field_are_decided_as_newer_decides(index: int, data: Any) -> None:
    """Tied versions equal in every column are replays; one differing field makes them two
    versions, which ``newer`` (the version hash) decides -- in any order of the log."""
    base = {**_BASE[index], "updated_at": "2026-04-05T00:00:00Z"}
    name = data.draw(st.sampled_from(sorted(set(base) & set(_OTHER))))
    raws = [{**r, "updated_at": "2026-04-05T00:00:00Z"} for r in _BASE]
    raws.append({**base, name: _OTHER[name]})
    model, _ = fed([raws], TZ)
    texts = data.draw(st.permutations([stored_text(r) for r in normalise(raws)]))
    assert recount.recount_days(texts, TZ) == model.days
