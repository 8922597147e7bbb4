"""The tenant state item and its JSON fields, decoded in one place, so that what a hand edit
or a past release's bug left undecodable never stops its tenant for good.

A field whose loss only costs something reads as absent: the retired generations (their items
are then never deleted: storage, not numbers), the tenant record a rebuild's time zone was
pinned to (a replay may then adopt an older record's zone and rebuild once more), a damage note
(the item is met again where it is needed), an audit's summary. ``live`` too, in
``generations.read_view``: readers then answer a 503 until the rebuild switches them (the
former generation's items are never deleted). The pending batch cannot be read as absent -- a
new batch over a half-applied one would count twice -- so it is damage, as its journal gone
is: the tenant waits, then is rebuilt from the log (``services/damage``). An attribute of the
wrong type cannot be guessed (a cursor): ``state_from_raw`` names it, for a 503 and a failure.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import AttributeDeserializationError

from mediana.storage.documents import DamagedItem
from mediana.storage.models import TenantState

PENDING = "(the state's pending batch)"  # the damaged item's name when the field itself does not decode


def json_or_none(raw: str | None) -> Any:
    """A field's JSON value; None when it is absent or does not decode."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def object_or_none(raw: str | None) -> dict[str, Any] | None:
    """A field that holds a JSON object; None when it is absent, does not decode or is no object."""
    value = json_or_none(raw)
    return value if isinstance(value, dict) else None


def pending_key(raw: str | None) -> str | None:
    """The journal key of the pending batch (None: no batch is pending); DamagedItem when the
    field does not decode, as when the journal is gone."""
    if not raw:
        return None
    value = json_or_none(raw)
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise DamagedItem("journal", PENDING, f"does not decode: {raw[:100]!r}")
    return value["key"]


def state_from_raw(raw: dict[str, Any]) -> TenantState:
    """The state item as read; DamagedItem when an attribute is not of its type (a hand edit):
    readers answer a 503, the aggregator's refresh fails with that reason, parks and alarms."""
    try:
        return TenantState.from_raw_data(raw)
    except (AttributeDeserializationError, ValueError) as exc:
        pk = raw.get("pk", {}).get("S", "?")
        raise DamagedItem(pk, "STATE", f"the tenant's state item does not decode: {exc}") from None
