"""Starting a tenant's rebuild, and the time zone it starts in; retiring what it replaced.

A rebuild replays the log into a new, empty generation (``storage.generations``): when an
operator asks for it, when a generation was folded in a former layout, when a newer tenant
record changes the time zone, and when a damaged item outlives its wait (``services.damage``).
"""

from __future__ import annotations

import json
from typing import Any

from mediana.domain.timeutil import now_us
from mediana.domain.versions import newer
from mediana.services import damage
from mediana.services.batch_load import stored_directory
from mediana.storage import generations, keys
from mediana.storage.documents import DamagedItem, Unreadable
from mediana.storage.state_fields import pending_key
from mediana.storage.store import US, Store, TenantState

Pin = tuple[dict[str, Any] | None, str]  # the tenant record that decided a zone (None: none did), that zone


def reset(
    store: Store,
    tenant: str,
    state: TenantState,
    pin: Pin,
    owner: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Replay the log (latest versions) from zero into a new, empty generation, in the
    time zone of ``pin`` (the tenant record that decided it, and that zone); readers keep
    the previous complete generation until the new one's last batch commits
    (``mediana.storage.generations``). One fenced commit: nothing is deleted here."""
    now = now_us()
    record, zone = pin
    fields = {
        **generations.rebuild_fields(state, zone, now // US),
        "batch": int(state.batch or 0) + 1,
        "tz_pin": json.dumps(record) if record else None,
        **(extra or {}),
    }
    store.commit(tenant, int(state.cursor or 0), fields, owner, now // 1000)


def pinned(record: dict[str, Any] | None) -> Pin:
    return record, zone_of(record)


def current_pin(store: Store, tenant: str, state: TenantState) -> Pin:
    """The tenant record of the last complete generation, and its zone. A directory that does
    not decode pins nothing and keeps the zone in use: the replay brings the tenant record, and
    a zone it disagrees with rebuilds again (``_one_batch``)."""
    view = generations.read_view(state)
    if view.damaged:  # which generation is complete is unknown: no pin, the zone in use
        return None, state.tz or "UTC"
    try:
        directory, _ = stored_directory(store, tenant, view.gen)
    except DamagedItem:
        return None, view.tz
    return pinned(directory.get("tenant") if directory else None)


def collect(store: Store, tenant: str, state: TenantState, gens: list[int], owner: str) -> None:
    """Delete retired generations no reader can still be using, then forget them."""
    for gen in gens:
        store.delete_generation(tenant, gen)
    store.commit(tenant, int(state.cursor or 0), generations.after_deleting(state, gens), owner, now_us() // 1000)


def winning_tenant(delta: list[dict[str, Any]], directory: dict[str, Any] | None) -> dict[str, Any] | None:
    """The delta's tenant record that beats the directory's, if any."""
    best = (directory or {}).get("tenant")
    changed = False
    for rec in delta:
        if rec["kind"] == "tenant" and newer(rec, best):
            best, changed = rec, True
    return best if changed else None


def zone_of(tenant_record: dict[str, Any] | None) -> str:
    if tenant_record is None or tenant_record.get("erased"):
        return "UTC"
    return str(tenant_record.get("timezone") or "UTC")


def read_again(store: Store, tenant: str, state: TenantState, pk: str, base: str, owner: str) -> None:
    """Read a suspect item again; DamagedItem if it still does not decode. A document gone is
    not damage (a later batch deleted it); a journal is, while the pending batch names it. A
    preset bucket of the building generation needs no rebuild: its presets are marked for
    rewriting from the day documents, which this run does (``preset_items``)."""
    if pk == "journal":
        if pending_key(state.pending) == base:  # DamagedItem too when the field does not decode
            store.get_journal(base)
        return
    presets = pk == keys.presets_pk(tenant, generations.building_gen(state))
    found = store.get_docs_of({pk: [base]}, marked=presets)[pk].get(base)
    if presets and found is not None and isinstance(found[0], Unreadable):
        store.note_fields(tenant, {"presets_as_of": None}, owner)


def on_damage(store: Store, tenant: str, state: TenantState, damaged: DamagedItem, owner: str) -> damage.Verdict:
    """Carry out ``damage.decide``: REBUILD when a rebuild started (go on with it), WAIT when
    the tenant waits (noted, and due again as the wait ends); raises when a rebuild would not
    mend it."""
    now_s = now_us() // US
    verdict = damage.decide(state, now_s, store.cfg.heal_after_s, store.cfg.heal_every_s)
    if verdict is damage.Verdict.FAIL:
        raise damaged
    if verdict is damage.Verdict.WAIT:
        store.note_fields(tenant, damage.noted_fields(state, damaged, now_s), owner)  # a pending batch stays
        store.reschedule(tenant, damage.due_s(state, now_s, store.cfg.heal_after_s), int(state.next_seq or 0))
    else:
        reset(store, tenant, state, current_pin(store, tenant, state), owner, damage.healed_fields(now_s))
    return verdict
