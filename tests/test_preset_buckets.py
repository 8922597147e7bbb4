"""Presets in day buckets (issue 11, write only what changed): the buckets of a preset partition
its days, so their sum is the preset; and a bucket that a roll leaves unwritten, or that a reader
takes though it was written for an earlier day, holds exactly the cells it would be rebuilt with."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain.presets import bucket_ids, build_presets, merged, unchanged_at_roll, valid_for
from mediana.domain.ranges import PRESETS, preset_range
from mediana.domain.sections import ALL_DAYS, SECTIONS, RangeSummary
from mediana.services.preset_items import preset_doc

TODAY = date(2026, 3, 1)  # a month boundary nearby: this_month and last_month change whole
_CELLS = {
    "rt": st.tuples(
        st.sampled_from(["Web", "Ads"]), st.just(None), st.just("whatsapp"), st.just("u1"), st.integers(0, 5)
    ),
    "nc": st.tuples(st.sampled_from(["Web", "Ads"]), st.just(None), st.sampled_from(["n", "p"])),
}
_DAYS = st.dictionaries(
    st.tuples(
        st.sampled_from(sorted(_CELLS)),
        (st.integers(-800, 3) | st.integers(-85, 3)).map(lambda n: (TODAY + timedelta(days=n)).isoformat()),
    ),
    st.just(None),
    max_size=40,
).flatmap(
    lambda keys: st.fixed_dictionaries(
        {key: st.dictionaries(_CELLS[key[0]], st.integers(1, 3), min_size=1, max_size=3) for key in keys}
    )
)
_OWN = st.dictionaries(
    st.tuples(
        st.integers(-800, 0).map(lambda n: (TODAY + timedelta(days=n)).isoformat()), st.sampled_from(["u1", None])
    ),
    st.integers(1, 3),
    max_size=5,
)


def _days(dated: dict[Any, Any], own: dict[Any, int]) -> dict[Any, Any]:
    return {**dated, **({("own", ALL_DAYS): own} if own else {})}


@settings(max_examples=150, deadline=None)
@given(_DAYS, _OWN, st.integers(0, 40))
def test_a_presets_buckets_sum_to_the_preset_summed_from_its_days(dated: Any, own: Any, back: int) -> None:
    today = TODAY - timedelta(days=back)
    days = _days(dated, own)
    buckets = build_presets(today, days, apart=today)
    for (preset, section), whole in merged(buckets).items():
        direct = RangeSummary(section, preset_range(preset, today))
        for (s, day_key), cells in days.items():
            if s == section and not (day_key == today.isoformat() and not SECTIONS[s].cumulative):
                direct.fold_doc(day_key, cells)
        assert (whole.cur, whole.prev) == (direct.cur, direct.prev), (preset, section)
        assert len([k for k in buckets if k[:2] == (preset, section)]) == len(bucket_ids(preset, section, direct.span))


@settings(max_examples=150, deadline=None)
@given(_DAYS, _OWN, st.integers(1, 40), st.integers(0, 40))
def test_a_bucket_kept_at_a_roll_holds_what_a_rebuild_would_write(dated: Any, own: Any, gap: int, back: int) -> None:
    """The day rolls from ``before`` to ``today`` (1-40 days later, across month ends) with no
    new data: every bucket ``unchanged_at_roll`` keeps is equal to its rebuild, and a reader
    takes a stored bucket for today exactly when it is one of those (or was rewritten)."""
    today = TODAY - timedelta(days=back)
    before = today - timedelta(days=gap)
    days = _days(dated, own)
    old, new = build_presets(before, days, apart=before), build_presets(today, days, apart=today)
    kept = 0
    for key, summary in new.items():
        preset, section, _ = key
        if key in old and unchanged_at_roll(key, before, today):
            assert (old[key].cur, old[key].prev) == (summary.cur, summary.prev), key
            kept += 1
        if key in old:
            doc = preset_doc(key, old[key], before)
            assert valid_for(doc, preset_range(preset, today), today) == unchanged_at_roll(key, before, today)
        assert valid_for(preset_doc(key, summary, today), preset_range(preset, today), today)
    if gap == 1:
        assert kept > len(new) // 2  # a one-day roll keeps most buckets


def test_a_one_day_roll_rewrites_the_buckets_at_the_edges_only() -> None:
    before, today = date(2026, 3, 10), date(2026, 3, 11)
    for preset in ("last_30_days", "last_90_days", "last_365_days"):
        span = preset_range(preset, today)
        keys = [(preset, "rt", b) for b in bucket_ids(preset, "rt", span)]
        rewritten = [k for k in keys if not unchanged_at_roll(k, before, today)]
        assert 1 <= len(rewritten) <= 4 < len(keys), (preset, len(rewritten), len(keys))
    assert all(not unchanged_at_roll((p, "rt", None), before, today) for p in ("today", "last_7_days"))
    assert unchanged_at_roll(("last_month", "rt", None), before, today)  # same range all month
    assert set(PRESETS) >= {"last_month", "this_month"}


def test_every_roll_of_up_to_35_days_over_dense_days_keeps_only_equal_buckets() -> None:
    """Data on every day, so any bucket kept wrongly shows: each roll from ``before`` to every
    later day (month ends included), through each day's part in both ranges."""
    days: dict[Any, Any] = {}
    for n in range(-130, 1):
        day = (TODAY + timedelta(days=n)).isoformat()
        days[("rt", day)] = {("Web", None, "whatsapp", "u1", n % 7): 1}
        days[("nc", day)] = {("Ads", None, "n"): 2}
    checked = 0
    for back in range(0, 12, 3):
        before = TODAY - timedelta(days=back + 40)
        old = build_presets(before, days, apart=before)
        for gap in range(1, 36):
            today = before + timedelta(days=gap)
            for key, summary in build_presets(today, days, apart=today).items():
                if key in old and unchanged_at_roll(key, before, today):
                    assert (old[key].cur, old[key].prev) == (summary.cur, summary.prev), (key, before, today)
                    checked += 1
    assert checked > 1000
