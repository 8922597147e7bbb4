"""A tenant state field that does not decode -- a hand edit, a past release's bug -- never stops
its tenant (storage/state_fields.py). A pending batch that does not decode is damage, as its
journal gone is: the tenant waits, then is rebuilt from its log, equal to a clean twin. The
fields whose loss only costs something read as absent: the retired generations, a rebuild's
time zone pin, a damage note, an audit's summary. Through moto, with the twin of
test_damaged_items."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mediana.services import aggregate
from mediana.storage import keys
from mediana.storage.generations import read_view
from mediana.storage.state_fields import PENDING
from mediana_cli import main as cli
from test_damaged_items import _later, _same_as_twin, _twins
from test_generations import ZONE, _records, _upload


def _set_raw(stack: Any, tenant: str, **fields: str) -> None:
    """State fields written as a hand edit would leave them, beside the aggregator's."""
    names = {f"#{name}": name for name in fields}
    stack.store.ddb.update_item(
        TableName=stack.store.cfg.state_table,
        Key={"pk": {"S": keys.tenant_pk(tenant)}, "sk": {"S": keys.STATE_SK}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in fields),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": {"S": value} for name, value in fields.items()},
    )


def _with_delta(stack: Any) -> None:
    delta, twin_delta = _twins(stack)
    _upload(stack, "acme", delta, "delta.jsonl")
    _upload(stack, "twin", twin_delta, "delta.jsonl")
    aggregate.refresh_tenant(stack.store, "twin")


def test_a_pending_batch_that_does_not_decode_waits_then_heals_by_a_rebuild(stack: Any, monkeypatch: Any) -> None:
    _with_delta(stack)
    _set_raw(stack, "acme", pending='{"batch": 2, "key": ')  # cut short

    run = aggregate.refresh_tenant(stack.store, "acme")  # no exception: noted, the tenant waits
    state = stack.store.get_state("acme")
    assert run.damaged and PENDING in run.damaged and not run.resumed and state.pending
    assert run.batches == 0  # nothing folds over a batch that may be half-applied

    run = aggregate.refresh_tenant(stack.store, "acme")  # still waiting: the note is read again first
    assert run.damaged and not run.healed

    _later(monkeypatch, stack.store.cfg.heal_after_s)
    run = aggregate.refresh_tenant(stack.store, "acme")
    state = stack.store.get_state("acme")
    assert run.healed and not state.pending and read_view(state).gen == 1 and not state.damaged_item
    _same_as_twin()


@pytest.mark.parametrize(
    "fields",
    [
        {"retired": "{1: 2"},  # retired generations
        {"retired": '{"x": "y"}'},
        {"damaged_key": "not json"},  # a damage note
        {"damaged_key": '["only one"]'},
        {"last_audit": "{"},  # an audit's summary
    ],
    ids=["retired", "retired-values", "damage-note", "damage-note-shape", "audit-summary"],
)
def test_a_field_whose_loss_costs_only_something_reads_as_absent(
    stack: Any, capsys: Any, fields: dict[str, str]
) -> None:
    _with_delta(stack)
    _set_raw(stack, "acme", **fields)
    run = aggregate.refresh_tenant(stack.store, "acme")
    assert run.batches == 1 and not run.damaged and not run.rebuilt
    _same_as_twin()
    capsys.readouterr()  # the functions' log lines so far
    assert cli.main(["tenants"]) == 0
    listed = {line["tenant_id"]: line for line in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(listed) == {"acme", "twin"} and listed["acme"]["cursor"] == listed["twin"]["cursor"]


def test_a_time_zone_pin_that_does_not_decode_reads_as_none(stack: Any) -> None:
    """A generation's first batch meets the tenant record with a zone other than the state's:
    the pin (the record a rebuild's zone was chosen by) decides only against an older one."""
    for tenant in ("acme", "twin"):
        _upload(stack, tenant, _records(tenant))
    _set_raw(stack, "acme", tz_pin="[not, json")
    for tenant in ("acme", "twin"):
        run = aggregate.refresh_tenant(stack.store, tenant)
        assert run.batches >= 1 and not run.rebuilt, (tenant, run)
    assert stack.store.get_state("acme").tz == stack.store.get_state("twin").tz == ZONE != "UTC"
    _same_as_twin()


def test_live_that_does_not_decode_answers_503_until_the_rebuild_switches(
    stack: Any, capsys: Any, monkeypatch: Any
) -> None:
    """``live`` names the complete generation readers use while a rebuild runs: undecodable,
    no reader can know it, so each answers a 503 to retry (never a 500, never partial numbers)
    until the rebuild's last batch switches readers to the new generation."""
    from mediana.storage.generations import retired
    from test_generations import _past_grace, _small_batch
    from test_pipeline_moto import get

    _with_delta(stack)
    aggregate.refresh_tenant(stack.store, "acme")
    stack.store.mark_due("acme", 0, rebuild=True)
    small = _small_batch(stack, "acme")
    part = aggregate.refresh_tenant(stack.store, "acme", max_records=small, time_left_ms=lambda: 0)
    assert part.rebuilt and part.batches == 1 and stack.store.get_state("acme").live  # out of time mid-rebuild
    _set_raw(stack, "acme", live="{cut short")

    status, _, body = get("/v1/reports/response-time?range=last_7_days", "acme")
    assert status == 503 and body["error"]["code"] == "unreadable_item", body
    capsys.readouterr()
    assert cli.main(["tenants"]) == 0  # operators still see the tenant, rebuilding
    listed = {line["tenant_id"]: line for line in map(json.loads, capsys.readouterr().out.splitlines())}
    assert listed["acme"]["rebuilding"] is True

    run = aggregate.refresh_tenant(stack.store, "acme")  # the rebuild's other batches, then the switch
    state = stack.store.get_state("acme")
    assert run.batches >= 1 and not state.live and read_view(state).gen == 1
    assert 1 not in retired(state)  # the generation the former live named is unknown: never the new one
    _same_as_twin()
    _past_grace(monkeypatch)
    aggregate.refresh_tenant(stack.store, "acme")  # what was retired is collected: readers keep their numbers
    _same_as_twin()


def test_a_state_attribute_of_the_wrong_type_is_a_503_and_a_named_failure_not_a_500(stack: Any) -> None:
    """A hand edit that stores the cursor as text: nothing can guess the cursor, so the
    tenant's readers answer a 503 to retry and its refresh fails naming the item (retried,
    parked, alarmed), until it is mended; another tenant reads on."""
    from mediana.storage.documents import DamagedItem
    from test_pipeline_moto import get

    _with_delta(stack)
    aggregate.refresh_tenant(stack.store, "acme")
    before = get("/v1/reports/response-time?range=last_7_days", "acme")
    _set_raw(stack, "acme", cursor="85")  # a string where a number belongs

    status, _, body = get("/v1/reports/response-time?range=last_7_days", "acme")
    assert status == 503 and body["error"]["code"] == "unreadable_item", body
    assert get("/v1/reports/response-time?range=last_7_days", "twin")[0] == 200
    with pytest.raises(DamagedItem, match="state item does not decode.*cursor"):
        aggregate.refresh_tenant(stack.store, "acme")

    cursor = int(stack.store.get_state("twin").cursor)  # mended by hand: the twin's cursor is acme's
    stack.store.ddb.update_item(
        TableName=stack.store.cfg.state_table,
        Key={"pk": {"S": keys.tenant_pk("acme")}, "sk": {"S": keys.STATE_SK}},
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "cursor"},
        ExpressionAttributeValues={":c": {"N": str(cursor)}},
    )
    assert get("/v1/reports/response-time?range=last_7_days", "acme")[2] == before[2]
