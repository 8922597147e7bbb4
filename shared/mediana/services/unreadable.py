"""What the read path does with a stored item it cannot decode -- a newer writer's, met while a
deploy replaces the functions, or a damaged one. A preset bucket is answered without (from the
day documents, by the caller); any other item fails the request with a 503 to retry. Either is
reported to the aggregator, which reads it again and mends it if it stays damaged
(``services/damage``): it may be an item no later batch reads, that only a reader would meet.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mediana.domain.timeutil import now_s
from mediana.services.request import ApiError
from mediana.storage.documents import Unreadable
from mediana.storage.store import Store

_LOG = logging.getLogger(__name__)  # under the handler's Powertools logger: JSON, with the tenant


def fail_unreadable(
    store: Store, tenant: str, docs: Mapping[tuple[str, str], Any], presets_pk: str = ""
) -> list[Unreadable]:
    """The preset buckets read that do not decode (the days answer instead); any other item that
    does not decode fails the request with a 503, as a read to retry. Each is logged and
    reported to the aggregator."""
    bad = [doc for doc in docs.values() if isinstance(doc, Unreadable)]
    for doc in bad:
        _LOG.warning("stored item not readable: %s %s (%s)", doc.pk, doc.base, doc.reason)
        report_damage(store, tenant, doc)  # a preset bucket too: no delta may ever rewrite it
        if doc.pk != presets_pk:
            raise ApiError(503, "unreadable_item", f"a stored item ({doc.base}) cannot be read now; retry shortly")
    return bad


_REPORTED: dict[tuple[str, str, str], int] = {}  # (tenant, pk, base) -> the 5-minute slot it was reported in


def report_damage(store: Store, tenant: str, doc: Unreadable) -> bool:
    """Ask the aggregator to read again an item this read could not decode: it may be one no
    later batch reads, so only a reader would ever meet it (``services/damage``). Once per item
    per 5 minutes per container; SQS FIFO deduplicates the containers' copies. Best effort,
    as ``roll_presets``: the next read that meets it asks again."""
    slot = now_s() // 300
    if _REPORTED.get((tenant, doc.pk, doc.base)) == slot:
        return False
    digest = hashlib.sha256(f"{doc.pk}\0{doc.base}".encode()).hexdigest()[:32]
    try:
        store.enqueue(tenant, "damaged", f"{tenant}:damaged:{digest}:{slot}", check=[doc.pk, doc.base])
    except (BotoCoreError, ClientError):
        return False
    _REPORTED[(tenant, doc.pk, doc.base)] = slot
    return True
