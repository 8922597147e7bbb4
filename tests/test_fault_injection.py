"""Crashes and rival runners, enumerated (not sampled), on moto.

Every write step of a multi-batch first build, of an incremental run and of a rebuild
fails once (before the call, or after it succeeded), then the message is redelivered;
and a rival runner takes the tenant over while the first is paused at each step, with
the first resuming afterwards. Every time, the stored worlds, routes, day and preset
documents equal a clean run's, and the tenant is left unstuck.

A step is one write call, except inside a group of independent calls (one partition's
fenced document writes, which Lambda sends 8 at a time in no set order): there the
cases are its first call (nothing of the group written), its second (one written) and
its last (all but one). Any other call of the group leaves a subset of the same kind,
and one-at-a-time order is not a contract to enumerate.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mediana.services import aggregate
from mediana.services.ingest import ingest_lines
from mediana.storage import keys
from mediana.storage.generations import read_view
from mediana.storage.store import MODEL_TABLES, StaleWriter, Store, TenantBusy

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "PutObject", "DeleteObject", "SendMessage"}
BATCH = 3  # records per batch: the first build takes several batches
LATE = 4  # records of the incremental run
BATCHES = {"first-build": BATCH, "incremental": BATCH, "rebuild": 4}  # the compacted log (10 records): 3 batches


def _records(day: str, late: bool) -> list[dict[str, Any]]:
    at = f"{day}T1"
    recs: list[dict[str, Any]] = [
        {"kind": "user", "id": "u1", "updated_at": "2026-01-01T00:00:00Z", "name": "Ana"},
        {"kind": "group", "id": "g1", "updated_at": "2026-01-01T00:00:00Z", "name": "Sales"},
    ]
    for c in range(2):
        recs.append(
            {
                "kind": "contact",
                "id": f"c{c}",
                "updated_at": "2026-02-01T00:00:00Z",
                "created_at": f"{at}0:00:0{c}.000000500Z",
                "origin": "Ads" if c else None,
                "entry_group_id": "g1",
                "group_id": "g1",
                "owner_id": "u1",
            }
        )
        recs.append(
            {
                "kind": "conversation",
                "id": f"v{c}",
                "updated_at": "2026-02-01T00:00:00Z",
                "contact_id": f"c{c}",
                "channel": "whatsapp",
                "created_at": f"{at}0:00:0{c}Z",
                "closed_at": None,
                "group_id": "g1",
                "owner_id": "u1",
            }
        )
        recs.append(
            {
                "kind": "message",
                "id": f"m{c}",
                "updated_at": "2026-02-01T00:00:00Z",
                "conversation_id": f"v{c}",
                "direction": "inbound",
                "author_type": "contact",
                "created_at": f"{at}1:00:00Z",
            }
        )
    if late:  # a reply (sub-microsecond), a late older version, an edit, a call
        recs += [
            {**recs[4], "kind": "message", "id": "r0", "direction": "outbound", "author_type": "advisor",
             "author_id": "u1", "conversation_id": "v0", "created_at": f"{at}1:00:42.000000900Z"},
            {**recs[2], "updated_at": "2026-01-15T00:00:00Z", "origin": "stale"},
            {**recs[5], "updated_at": "2026-03-01T00:00:00Z", "origin": "Web", "owner_id": None},
            {"kind": "interaction", "id": "i1", "updated_at": "2026-02-01T00:00:00Z", "contact_id": "c1",
             "owner_id": "u1", "type": "call_log", "occurred_at": f"{at}2:00:00Z", "call_type": "demo",
             "outcome": "answered", "duration_seconds": 61.5},
        ]  # fmt: skip
    return recs


def _ingest(store: Store, tenant: str, recs: list[dict[str, Any]]) -> None:
    lines = [json.dumps({"tenant_id": tenant, **r}).encode() for r in recs]
    result = ingest_lines(store, tenant, "test.jsonl", lines)
    assert result.rejected == 0, result.rejections


def _snapshot(store: Store, tenant: str) -> dict[str, Any]:
    """Every derived document of the tenant (the contents readers and later batches use)."""
    out: dict[str, Any] = {}
    gen = read_view(store.get_state(tenant)).gen  # the generation readers use, whatever its number
    for name, pk in zip("WVDPIM", keys.generation_pks(tenant, gen), strict=True):
        out[name] = dict(store.iter_docs(pk))
    base = keys.directory_base(gen)
    out["DIR"] = store.get_docs(keys.tenant_pk(tenant), [base]).get(base, (None,))[0]
    # a record's receipt time rides along in the worlds; it differs between tenants by nature
    return json.loads(json.dumps(out), object_hook=lambda d: {k: v for k, v in d.items() if k != "_at"})


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two snapshots differ (for the assertion message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _diff(a.get(key), b.get(key), f"{path}/{key}")
        return out[:10]
    return [] if a == b else [f"{path}: {str(a)[:200]} != {str(b)[:200]}"]


def _settled(store: Store, tenant: str) -> None:
    state = store.get_state(tenant)
    assert state is not None
    assert int(state.cursor) == int(state.next_seq) and not state.pending and not state.rebuild
    # released, or (a crash at the release itself) expired: the next runner is not kept waiting
    assert not state.lease_owner or int(state.lease_until or 0) <= aggregate.now_us() // 1000


class Writes:
    """Counts (and intercepts) the write calls the Store's clients make on one thread."""

    def __init__(self, store: Store) -> None:
        models = [m._get_connection().connection.client for m in MODEL_TABLES]  # each PynamoDB model has its own
        self.clients = list({id(c): c for c in [store.ddb, store.s3, store.sqs, *models]}.values())
        self.on_before: Callable[[int, str], None] = lambda n, op: None
        self.on_after: Callable[[int, str], None] = lambda n, op: None
        self.thread: threading.Thread | None = None
        self.count = 0
        self.groups: list[tuple[int, int]] = []  # first and last call of each group of independent calls
        self._store = store

    def _mine(self) -> bool:
        return self.thread is None or threading.current_thread() is self.thread

    def _before(self, model: Any, **_: Any) -> None:
        if model.name in WRITES and self._mine():
            self.count += 1
            self.on_before(self.count, model.name)

    def _after(self, model: Any, **_: Any) -> None:
        if model.name in WRITES and self._mine():
            self.on_after(self.count, model.name)

    def _grouping(self, calls: list[Any]) -> None:
        first = self.count + 1
        self._run_calls(calls)
        if len(calls) > 1 and self._mine():
            self.groups.append((first, self.count))

    def steps(self) -> list[int]:
        """The write calls to fail at: every one, but only the first, second and last of a group."""
        inner = {n for first, last in self.groups for n in range(first + 2, last)}
        return [n for n in range(1, self.count + 1) if n not in inner]

    @contextmanager
    def watching(self) -> Iterator[Writes]:
        for c in self.clients:
            c.meta.events.register("before-call", self._before, unique_id="mediana-test-before")
            c.meta.events.register("after-call", self._after, unique_id="mediana-test-after")
        self._run_calls = self._store._run_calls
        self._store._run_calls = self._grouping  # type: ignore[method-assign]
        try:
            yield self
        finally:
            del self._store._run_calls
            for c in self.clients:
                c.meta.events.unregister("before-call", unique_id="mediana-test-before")
                c.meta.events.unregister("after-call", unique_id="mediana-test-after")


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """moto in process (no HTTP hop): the enumeration makes thousands of calls, and the
    calls, conditions and item sizes are the same ones the HTTP tests make."""
    from mediana.config import Config
    from mediana_cli.template import create_resources
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        for name, value in create_resources(None, "us-east-1", prefix="fi").items():  # type: ignore[arg-type]
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MEDIANA_WRITE_THREADS", "1")  # write calls in one order, on one thread: enumerable
        yield Store(Config.from_env())


class Injected(Exception):
    pass


def _refresh(store: Store, tenant: str, batch: int = BATCH) -> aggregate.RefreshReport:
    return aggregate.refresh_tenant(store, tenant, max_records=batch)


def _prepare(store: Store, tenant: str, day: str, mode: str) -> None:
    """first-build: data never aggregated; incremental: a late delta on built items;
    rebuild: built items, and a rebuild asked for (into generation 1)."""
    _ingest(store, tenant, _records(day, late=False))
    if mode != "first-build":
        _refresh(store, tenant)
        _ingest(store, tenant, _records(day, late=True)[-LATE:])
    if mode == "rebuild":
        _refresh(store, tenant)
        store.mark_due(tenant, 0, rebuild=True)


def _clone(store: Store, source: str, tenant: str) -> None:
    """Copy a prepared tenant (state, documents, log) under another id: each case starts
    from the same stored state without rebuilding it."""
    ddb, cfg = store.ddb, store.cfg
    items = []
    pairs = zip(
        (keys.tenant_pk(source), *keys.generation_pks(source, 0)),
        (keys.tenant_pk(tenant), *keys.generation_pks(tenant, 0)),
        strict=True,
    )
    for source_pk, target_pk in pairs:
        for item in _query(store, cfg.state_table, "pk", source_pk):
            item["pk"] = {"S": target_pk}
            if "tenant_id" in item:
                item["tenant_id"] = {"S": tenant}
            items.append((cfg.state_table, item))
    items += [
        (cfg.log_table, {**i, "tenant_id": {"S": tenant}}) for i in _query(store, cfg.log_table, "tenant_id", source)
    ]
    for start in range(0, len(items), 25):
        requests: dict[str, list[Any]] = {}
        for table, item in items[start : start + 25]:
            requests.setdefault(table, []).append({"PutRequest": {"Item": item}})
        ddb.batch_write_item(RequestItems=requests)


def _drop(store: Store, tenant: str) -> None:
    """Delete a finished case's items: moto's Query walks the whole table, so cases left
    behind would make every later case slower (quadratic in the enumeration)."""
    pks = [keys.tenant_pk(tenant), keys.quarantine_pk(tenant), keys.refresh_pk(tenant)]
    pks += [pk for gen in range(3) for pk in keys.generation_pks(tenant, gen)]
    doomed = [
        (store.cfg.state_table, {"pk": i["pk"], "sk": i["sk"]})
        for pk in pks
        for i in _query(store, store.cfg.state_table, "pk", pk)
    ]
    doomed += [
        (store.cfg.log_table, {"tenant_id": i["tenant_id"], "seq": i["seq"]})
        for i in _query(store, store.cfg.log_table, "tenant_id", tenant)
    ]
    for start in range(0, len(doomed), 25):
        requests: dict[str, list[Any]] = {}
        for table, key in doomed[start : start + 25]:
            requests.setdefault(table, []).append({"DeleteRequest": {"Key": key}})
        store.ddb.batch_write_item(RequestItems=requests)


def _query(store: Store, table: str, key: str, value: str) -> Iterator[dict[str, Any]]:
    for page in store.ddb.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression=f"{key} = :v", ExpressionAttributeValues={":v": {"S": value}}
    ):
        yield from page["Items"]


def _clean_run(store: Store, mode: str) -> tuple[list[int], dict[str, Any]]:
    """Prepare the tenant every case clones ("base"), and run a clean copy of it: the
    write steps to enumerate and the documents every case must end with."""
    from test_pipeline_moto import _today

    _prepare(store, "base", _today(), mode)
    _clone(store, "base", "ref")
    writes = Writes(store)
    with writes.watching():
        report = _refresh(store, "ref", BATCHES[mode])
    assert report.batches >= 2 and report.rebuilt == (mode == "rebuild"), report
    assert writes.groups and len(writes.steps()) < writes.count, writes.groups  # the grouping is seen
    return writes.steps(), _snapshot(store, "ref")


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("mode", ["first-build", "incremental", "rebuild"])
def test_a_failure_at_every_write_step_then_redelivery_equals_a_clean_run(store: Store, mode: str, where: str) -> None:
    steps, expected = _clean_run(store, mode)
    assert expected["D"] and expected["P"] and len(steps) > 10
    served = _snapshot(store, "base")  # what readers have before the run

    tried = 0
    for k in steps:
        tenant = f"{where[0]}{k}{mode[0]}"
        _clone(store, "base", tenant)
        writes = Writes(store)

        def fail(n: int, op: str, k: int = k) -> None:
            if n == k:
                raise Injected(f"write {k} ({op})")

        setattr(writes, "on_before" if where == "before" else "on_after", fail)
        with writes.watching():
            with pytest.raises(Injected):
                _refresh(store, tenant, BATCHES[mode])
        if mode == "rebuild":  # readers are on a complete generation: the old one, or the new one once switched
            switched = read_view(store.get_state(tenant)).gen == 1
            assert _snapshot(store, tenant) == (expected if switched else served), (where, k, switched)
        state = store.get_state(tenant)
        if state and state.lease_owner:  # died holding the lease: the retry comes after it expires
            state.update(actions=[type(state).lease_until.set(0)])
        _refresh(store, tenant, BATCHES[mode])  # redelivered
        snapshot = _snapshot(store, tenant)
        assert snapshot == expected, (where, k, _diff(snapshot, expected))
        _settled(store, tenant)
        _drop(store, tenant)
        tried += 1
    assert tried == len(steps)


def test_a_rival_runner_taking_over_at_every_write_step_never_corrupts(store: Store, monkeypatch: Any) -> None:
    steps, expected = _clean_run(store, "incremental")

    real_now = aggregate.now_us
    outcomes: dict[str, int] = {}
    for k in steps:
        tenant = f"rival{k}"
        _clone(store, "base", tenant)
        writes = Writes(store)
        paused, resume = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def pause(n: int, op: str, k: int = k, paused: Any = paused, resume: Any = resume) -> None:
            if n == k:
                paused.set()
                resume.wait(30)

        writes.on_before = pause

        def first(tenant: str = tenant, errors: list[BaseException] = errors) -> None:
            try:
                _refresh(store, tenant)
            except BaseException as exc:  # noqa: BLE001 - inspected below
                errors.append(exc)

        with writes.watching():
            writes.thread = threading.Thread(target=first)
            writes.thread.start()
            assert paused.wait(30)
            # the rival comes later than the first runner's lease lasts (its clock is ahead)
            monkeypatch.setattr(aggregate, "now_us", lambda: real_now() + 20 * 60 * 1_000_000)
            try:
                _refresh(store, tenant)
            except TenantBusy:
                pytest.fail("the rival must take over an expired lease")
            finally:
                monkeypatch.setattr(aggregate, "now_us", real_now)
            resume.set()
            writes.thread.join(30)
        outcome = type(errors[0]).__name__ if errors else "finished"
        assert not errors or isinstance(errors[0], StaleWriter), errors
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        _refresh(store, tenant)  # whatever is left (the stale runner's message, redelivered)
        assert _snapshot(store, tenant) == expected, k
        _settled(store, tenant)
        _drop(store, tenant)
    assert outcomes.get("StaleWriter", 0) > 0, outcomes  # some resumed runners really were fenced off
