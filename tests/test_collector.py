"""The aggregator builds a batch with the cyclic garbage collector held off, and leaves it
as it found it, whatever happens inside."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from mediana.domain.collector import collector_paused
from mediana.services import aggregate
from mediana.services.ingest import ingest_lines


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer pause holds
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_inside_leaves_the_collector_on() -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_the_aggregator_runs_each_batch_with_the_collector_off(stack: Any, monkeypatch: Any) -> None:
    seen: list[bool] = []
    one_batch = aggregate._one_batch

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return one_batch(*args, **kwargs)

    monkeypatch.setattr(aggregate, "_one_batch", spy)
    lines = [
        {"kind": "contact", "tenant_id": "acme", "id": f"ct-{n}", "updated_at": "2026-03-02T12:00:00Z",
         "created_at": "2026-03-02T11:58:00Z"}
        for n in range(5)
    ]  # fmt: skip
    ingest_lines(stack.store, "acme", "test", [json.dumps(line).encode() for line in lines])
    report = aggregate.refresh_tenant(stack.store, "acme", max_records=2)
    assert report.records == 5 and seen == [False, False, False]
    assert gc.isenabled()
