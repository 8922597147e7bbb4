"""``mediana audit`` through moto: a tenant's stored day documents counted again from its
log, and its preset buckets against the presets of those days (``services/audit.py``). A
clean build matches, after batches that update presets in place and a day roll too; a day
document that lost a write, or holds a cell it should not, or one that is missing, is named
with its cells, and so is a preset bucket that lost a write; a tenant in the middle of a
batch or a rebuild is not audited; ``--rebuild`` asks for the rebuild that mends a drift, and
the audit after it matches again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mediana.domain.cells import decode_counter, encode_counter
from mediana.services import aggregate, audit
from mediana.storage import keys
from mediana_cli import main as cli
from test_generations import _records, _upload


def _built(stack: Any, tenant: str = "acme", recs: list[dict[str, Any]] | None = None) -> None:
    _upload(stack, tenant, _records(tenant) if recs is None else recs)
    aggregate.refresh_tenant(stack.store, tenant)


def _day_docs(stack: Any, tenant: str = "acme") -> dict[str, Any]:
    return dict(stack.store.iter_docs(keys.days_pk(tenant, 0)))


def _rewrite(stack: Any, base: str, cells: dict[Any, int] | None, tenant: str = "acme") -> None:
    """A day document as a lost or a wrong write would leave it (None: gone)."""
    pk = keys.days_pk(tenant, 0)
    parts = stack.store.part_counts(pk)
    docs = {} if cells is None else {base: {"cells": encode_counter(cells)}}
    stack.store.put_docs(pk, docs, {base: parts[base]})


def test_a_clean_build_matches_its_recount(stack: Any) -> None:
    _built(stack)
    _built(stack, "globex")
    result = audit.audit_tenant(stack.store, "acme")
    assert result.status == audit.SAME, result
    assert result.records > 100 and result.days_stored == result.days_counted == len(_day_docs(stack)) > 10
    assert result.cursor == int(stack.store.get_state("acme").cursor)
    presets = stack.store.part_counts(keys.presets_pk("acme", 0))
    assert result.presets_stored == len(presets) > 20 and result.presets_day and not result.preset_drifts


def test_presets_updated_in_place_and_rolled_to_the_next_day_match_too(stack: Any, monkeypatch: Any) -> None:
    """The writer's other paths: buckets updated in place by later batches of the same day, and
    the buckets a day roll keeps as they are (``unchanged_at_roll``) beside those it rewrites."""
    from mediana.domain.timeutil import CLOCK_SHIFT_ENV, clock_shift_s
    from test_damaged_items import _moved

    recs = _records("acme")
    _built(stack, "acme", recs)
    older = [r for r in recs if r["kind"] in ("contact", "conversation")]
    older, start = older[: len(older) // 2], clock_shift_s()  # days before today: in the presets
    for n, day in enumerate((0, 0, 1, 1, 3)):  # days after the build, each with new contacts and conversations
        monkeypatch.setenv(CLOCK_SHIFT_ENV, str(start + day * 86_400))  # of past days
        _upload(stack, "acme", [_moved(r, f"-{n}", minutes=2) for r in older[n :: len(older) // 9]], f"{n}.jsonl")
        report = aggregate.refresh_tenant(stack.store, "acme")
        assert report.presets_written and not report.rebuilt, report
        result = audit.audit_tenant(stack.store, "acme")
        assert result.status == audit.SAME and result.presets_day, (n, result.preset_drifts[:2], result.drifts[:2])


def test_drifted_day_documents_are_named_with_their_cells(stack: Any) -> None:
    _built(stack)
    docs = _day_docs(stack)
    lost, extra, gone = sorted(b for b in docs if b.startswith("cv#"))[:3]
    lost_cells = decode_counter(docs[lost]["cells"])
    key = next(iter(lost_cells))
    _rewrite(stack, lost, {**lost_cells, key: lost_cells[key] - 1} if lost_cells[key] > 1 else {
        k: v for k, v in lost_cells.items() if k != key})  # fmt: skip
    stray = ("Ads", "g-none", "whatsapp", "u-none", 3)
    _rewrite(stack, extra, {**decode_counter(docs[extra]["cells"]), stray: 2})
    _rewrite(stack, gone, None)

    result = audit.audit_tenant(stack.store, "acme")
    assert result.status == audit.DRIFT
    by_day = {f"{d.section}#{d.day}": d for d in result.drifts}
    assert set(by_day) == {lost, extra, gone}
    assert by_day[lost].sample == ((key, lost_cells[key] - 1, lost_cells[key]),)
    assert by_day[extra].sample == ((stray, 2, 0),)
    assert by_day[gone].differing == len(decode_counter(docs[gone]["cells"]))


def _preset_lost_a_write(stack: Any, tenant: str = "acme") -> str:
    """A stored preset bucket one count short in its range's counter, as a lost write of an
    in-place update leaves it; returns its name."""
    pk = keys.presets_pk(tenant, 0)
    docs = dict(stack.store.iter_docs(pk))
    base = "last_7_days#cv"  # one item, which every reader of the last 7 days takes
    cells = decode_counter(docs[base]["cur"])
    cell = sorted(cells, key=repr)[0]
    wrong = {**docs[base], "cur": encode_counter({**cells, cell: cells[cell] - 1})}
    wrong.pop("cur_views", None)  # its projections would have been stale with it
    stack.store.put_docs(pk, {base: wrong}, {base: stack.store.part_counts(pk)[base]})
    return base


def test_a_preset_bucket_that_lost_a_write_is_named_and_rolled_again_without_a_rebuild(stack: Any) -> None:
    from test_generations import _answers

    _built(stack, "acme", _records("acme"))
    _built(stack, "twin", _records("twin"))
    base = _preset_lost_a_write(stack)
    assert _answers("acme", volatile=False) != _answers("twin", volatile=False)  # readers answer from it
    found = audit.audit_tenant(stack.store, "acme")
    assert found.status == audit.DRIFT and found.drifts == []  # the days are right
    assert [(d.item, d.why, d.differing) for d in found.preset_drifts] == [(base, "cells", 1)]

    _owes_audit(stack)
    report = aggregate.refresh_tenant(stack.store, "acme")  # the audit, then the roll it asks for
    assert (report.audit, report.days_drifted, report.presets_drifted, report.rebuilt) == (audit.DRIFT, 0, 1, False)
    assert report.presets_written and report.batches == 1
    state = stack.store.get_state("acme")
    assert int(state.gen or 0) == 0 and json.loads(state.last_audit)["preset_drifts"][0]["item"] == base
    assert _answers("acme", volatile=False) == _answers("twin", volatile=False)
    assert audit.audit_tenant(stack.store, "acme").status == audit.SAME


def test_a_tenant_mid_batch_or_never_aggregated_is_not_audited(stack: Any) -> None:
    assert audit.audit_tenant(stack.store, "acme").status == audit.NOT_NOW
    _built(stack)
    state = stack.store.get_state("acme")
    stack.store.acquire_lease(state, "me", aggregate.now_us() // 1000)
    stack.store.set_pending("acme", int(state.cursor), {"batch": 99, "key": "k"}, "me")
    result = audit.audit_tenant(stack.store, "acme")
    assert (result.status, result.reason) == (audit.NOT_NOW, "a batch is being applied: audit it once it ends")


def test_a_batch_committed_during_the_audit_makes_it_read_again(stack: Any, monkeypatch: Any) -> None:
    _built(stack)
    reads = []
    pages = stack.store.log_pages

    def log_pages(tenant: str, upto: int) -> Any:
        reads.append(upto)
        if len(reads) == 1:  # the aggregator commits a batch meanwhile
            _upload(stack, "acme", [{**r, "id": r["id"] + "-late"} for r in _records("acme")[-20:]], "b.jsonl")
            aggregate.refresh_tenant(stack.store, "acme")
        return pages(tenant, upto)

    monkeypatch.setattr(stack.store, "log_pages", log_pages)
    result = audit.audit_tenant(stack.store, "acme")
    assert result.status == audit.SAME and len(reads) == 2 and reads[1] > reads[0]


def test_the_command_prints_each_tenant_and_rebuilds_one_that_drifted(stack: Any, capsys: Any) -> None:
    _built(stack)
    _built(stack, "globex")
    base = sorted(b for b in _day_docs(stack) if b.startswith("nc#"))[0]
    _rewrite(stack, base, None)

    assert cli.main(["audit", "--rebuild", "--show", "1"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["tenant"], x["status"], x["days_drifted"]) for x in lines] == [
        ("acme", "drift", 1),
        ("globex", "same", 0),
    ]
    assert lines[0]["rebuild_asked"] and len(lines[0]["drifts"]) == 1
    assert stack.store.get_state("acme").rebuild

    aggregate.refresh_tenant(stack.store, "acme")  # the rebuild, as the scheduled run makes it
    assert cli.main(["audit", "--tenant", "acme"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "same"


@pytest.mark.parametrize("argv", [["audit", "--tenant", "a b"], ["audit", "--show", "x"]])
def test_bad_arguments_name_the_flag(argv: list[str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert argv[1] in capsys.readouterr().err


# ---- the aggregator's own audit (services/audit.audit_under_lease) ---------------------------


def _owes_audit(stack: Any, tenant: str = "acme") -> None:
    """The tenant's audit falls due now (as a week after its last one would)."""
    stack.store.ddb.update_item(
        TableName=stack.store.cfg.state_table,
        Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
        UpdateExpression="SET audit_due_at = :due",
        ExpressionAttributeValues={":due": {"N": "1"}},
    )


def test_the_aggregator_audits_a_caught_up_tenant_a_week_after_its_first_batch_then_rests(stack: Any) -> None:
    _built(stack)
    state = stack.store.get_state("acme")
    week = stack.store.cfg.audit_every_s
    assert abs(int(state.audit_due_at) - (aggregate.now_us() // 10**6 + week)) < 60 and not state.audited_cursor
    assert stack.store.get_state("acme").due_at == state.audit_due_at  # idle, but woken for the audit it owes

    _owes_audit(stack)
    report = aggregate.refresh_tenant(stack.store, "acme")
    assert (report.audit, report.days_drifted, report.rebuilt) == (audit.SAME, 0, False)
    state = stack.store.get_state("acme")
    assert int(state.audited_cursor) == int(state.cursor) and int(state.audit_due_at) > aggregate.now_us() // 10**6
    assert json.loads(state.last_audit)["status"] == audit.SAME
    assert state.sched is None  # audited, and nothing new: never woken again for it

    again = aggregate.refresh_tenant(stack.store, "acme")
    assert again.idle and again.audit is None


def test_a_drift_the_aggregator_finds_is_rebuilt_into_the_numbers_of_a_clean_twin(stack: Any) -> None:
    from test_generations import _answers

    twin = _records("twin")  # the demo ends now: drawn in the same second as acme's
    _built(stack, "acme", _records("acme"))
    _built(stack, "twin", twin)
    base = sorted(b for b in _day_docs(stack) if b.startswith("cv#"))[-1]
    cells = decode_counter(_day_docs(stack)[base]["cells"])
    _rewrite(stack, base, {k: v + 1 for k, v in cells.items()})
    assert _answers("acme", volatile=False) != _answers("twin", volatile=False)

    _owes_audit(stack)
    report = aggregate.refresh_tenant(stack.store, "acme")  # the audit, then the rebuild it starts
    assert (report.audit, report.days_drifted, report.rebuilt) == (audit.DRIFT, 1, True)
    found = json.loads(stack.store.get_state("acme").last_audit)
    assert (found["status"], found["days_drifted"]) == ("drift", 1)
    assert f"{found['drifts'][0]['section']}#{found['drifts'][0]['day']}" == base
    assert _answers("acme", volatile=False) == _answers("twin", volatile=False)
    assert audit.audit_tenant(stack.store, "acme").status == audit.SAME


def test_a_log_past_the_limit_is_not_audited_and_waits_a_week(stack: Any, monkeypatch: Any) -> None:
    import dataclasses

    _built(stack)
    _owes_audit(stack)
    monkeypatch.setattr(stack.store, "cfg", dataclasses.replace(stack.store.cfg, audit_max_records=10))
    report = aggregate.refresh_tenant(stack.store, "acme")
    assert report.audit == audit.NOT_NOW and not report.rebuilt
    state = stack.store.get_state("acme")
    assert "past 10 records" in json.loads(state.last_audit)["reason"]
    assert int(state.audit_due_at) >= aggregate.now_us() // 10**6 + stack.store.cfg.audit_every_s - 60


def test_a_day_document_that_does_not_decode_defers_the_audit_a_day_and_keeps_it_owed(stack: Any) -> None:
    from test_unreadable_items import _overwrite_part0

    _built(stack)
    base = sorted(b for b in _day_docs(stack) if b.startswith("cv#"))[0]
    _overwrite_part0(stack, keys.days_pk("acme", 0), base)
    assert audit.audit_tenant(stack.store, "acme").reason.startswith(audit.UNREADABLE)
    _owes_audit(stack)
    report = aggregate.refresh_tenant(stack.store, "acme")
    assert report.audit == audit.NOT_NOW and not report.rebuilt
    state = stack.store.get_state("acme")
    assert not state.audited_cursor  # still owed: the tenant is woken for it again
    assert int(state.due_at) == int(state.audit_due_at) <= aggregate.now_us() // 10**6 + 86_400


def test_a_log_record_damaged_at_rest_is_noted_and_never_fails_the_refresh(stack: Any) -> None:
    _built(stack)
    table = stack.store.cfg.log_table
    stack.store.ddb.put_item(TableName=table, Item={"tenant_id": {"S": "acme"}, "seq": {"N": "3"},
                                                    "r": {"S": "[not an object]"}, "at": {"N": "1"}})  # fmt: skip
    found = audit.audit_tenant(stack.store, "acme")
    assert found.status == audit.NOT_NOW and "a log record does not decode" in found.reason
    _owes_audit(stack)
    report = aggregate.refresh_tenant(stack.store, "acme")  # no exception: the tenant is not stopped
    assert report.audit == audit.NOT_NOW
    assert "does not decode" in json.loads(stack.store.get_state("acme").last_audit)["reason"]


def test_a_manual_refresh_leaves_the_audit_it_falls_on_to_the_next_scheduled_run(stack: Any) -> None:
    """A tenant waiting on "refresh now" does not wait for the week's audit too: the run its
    refresh starts skips it and brings the tenant's schedule forward to it."""
    from test_refresh_and_costs import api

    _built(stack)
    _owes_audit(stack)
    status, _, queued = api("POST", "/v1/refresh", "acme", ["admin"])
    assert status == 202, queued
    stack.pump.queue()  # the refresh's run, and nothing else
    assert api("GET", f"/v1/refresh/{queued['refresh_id']}", "acme", ["viewer"])[2]["status"] == "succeeded"
    state = stack.store.get_state("acme")
    assert not state.audited_cursor and state.last_audit is None  # not audited by the manual run
    assert int(state.due_at) <= aggregate.now_us() // 10**6  # due now: the next tick runs it

    stack.pump.drain()  # the scheduler's tick, and the run it starts
    state = stack.store.get_state("acme")
    assert int(state.audited_cursor) == int(state.cursor) and json.loads(state.last_audit)["status"] == audit.SAME


def test_a_preset_item_that_does_not_decode_is_named_and_written_again(stack: Any) -> None:
    """Unlike a day document (only a rebuild mends one), a preset bucket is written again from
    the days: the audit names it unreadable and the same run rolls the presets."""
    from test_unreadable_items import _overwrite_part0

    _built(stack)
    _overwrite_part0(stack, keys.presets_pk("acme", 0), "last_7_days#cv")
    found = audit.audit_tenant(stack.store, "acme")
    assert found.status == audit.DRIFT and not found.drifts
    assert [(d.item, d.why) for d in found.preset_drifts] == [("last_7_days#cv", "unreadable")]
    _owes_audit(stack)
    report = aggregate.refresh_tenant(stack.store, "acme")
    assert (report.audit, report.presets_drifted, report.rebuilt) == (audit.DRIFT, 1, False) and report.presets_written
    assert audit.audit_tenant(stack.store, "acme").status == audit.SAME
