"""A damaged stored item never stops its tenant for long.

The aggregator that cannot decode a document it needs -- a world, a route, a day document,
the directory, a pending batch's journal (``storage.documents.DamagedItem``) -- or that a
reader reported (the read path met it: a day item no later batch may read again) notes when it
first met it, and waits ``heal_after_s``: while a deploy replaces the functions, an older
function can meet a newer one's items for a few seconds, and that must not cost a rebuild. Each
run reads the noted item first: decoded, the note is cleared; still damaged after the wait, it
is mended by a rebuild from the log into a new generation, and readers keep the one they have
until it completes (``storage.generations``). Damage again within ``heal_every_s`` of such a
rebuild is a fault a rebuild does not mend (a writer that writes what it cannot read): the
refresh fails as any other, so its message retries, parks in the DLQ and alarms.

Pure decisions over the tenant state's fields; the aggregator carries them out.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Protocol

from mediana.storage import keys
from mediana.storage.documents import DamagedItem
from mediana.storage.state_fields import json_or_none


class Verdict(Enum):
    WAIT = "wait"  # noted; the tenant is due again when the wait ends
    REBUILD = "rebuild"  # the damage outlived the wait: rebuild from the log
    FAIL = "fail"  # damage again soon after a rebuild mended it: a fault to fix, not to loop on


class _State(Protocol):
    damaged_since: Any
    damaged_key: Any
    healed_at: Any


def decide(state: _State, now_s: int, heal_after_s: int, heal_every_s: int) -> Verdict:
    """What to do on meeting a damaged item now."""
    if state.healed_at is not None and now_s - int(state.healed_at) < heal_every_s:
        return Verdict.FAIL
    if state.damaged_since is None or now_s - int(state.damaged_since) < heal_after_s:
        return Verdict.WAIT
    return Verdict.REBUILD


def noted_fields(state: _State, damage: DamagedItem, now_s: int) -> dict[str, Any]:
    """State fields of a damage met (the first time it was met stays)."""
    since = int(state.damaged_since) if state.damaged_since is not None else now_s
    return {
        "damaged_since": since,
        "damaged_item": str(damage)[:500],
        "damaged_key": json.dumps([damage.pk, damage.base]),
    }


def suspect(state: _State, tenant: str, reported: tuple[str, str] | None) -> tuple[str, str] | None:
    """The item a run reads first: the one noted, else one a reader reported (only an item of
    ``tenant``'s own partitions; a journal is the aggregator's to note)."""
    noted = json_or_none(state.damaged_key)
    if isinstance(noted, list) and len(noted) == 2 and all(isinstance(part, str) and part for part in noted):
        return noted[0], noted[1]
    if reported is not None and (
        reported[0] == keys.tenant_pk(tenant) or reported[0].startswith(keys.tenant_pk(tenant) + "#")
    ):
        return reported
    return None


def due_s(state: _State, now_s: int, heal_after_s: int) -> int:
    """When the tenant is due again to look at the damage: as the wait ends."""
    since = int(state.damaged_since) if state.damaged_since is not None else now_s
    return max(now_s, since + heal_after_s)


def healed_fields(now_s: int) -> dict[str, Any]:
    """State fields a mending rebuild commits with its start."""
    return {"damaged_since": None, "damaged_item": None, "damaged_key": None, "healed_at": now_s}


def cleared_fields() -> dict[str, Any]:
    """The noted item decodes when read again: the damage is gone (the deploy that caused it
    ended, or it was rewritten)."""
    return {"damaged_since": None, "damaged_item": None, "damaged_key": None}
