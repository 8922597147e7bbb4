"""Defence in depth: find the records of a batch whose aggregation raises.

The input contract keeps out the values known to break the arithmetic (instants
outside 1970..2100, unbounded durations). Whatever else slips through must not
stop a tenant: the batch is bisected until the records that fail on their own
are found, so they can be quarantined with the exception as their reason and the
rest of the batch goes on. Pure: ``attempt`` does the computing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from mediana.domain.records import Record


class PoisonRecords(Exception):
    """Records whose aggregation raised, each with the reason."""

    def __init__(self, found: list[tuple[Record, str]]) -> None:
        super().__init__(f"{len(found)} record(s) fail aggregation: {found[0][1]}")
        self.found = found

    def as_quarantined(self) -> list[tuple[int, str, str]]:
        """(seq, the record as stored, reason) of each, as the quarantine keeps them."""
        return [
            (int(rec["seq"]), json.dumps({k: v for k, v in rec.items() if k not in ("seq", "_at")}), reason)
            for rec, reason in self.found
        ]


def isolate(records: Sequence[Record], attempt: Callable[[Sequence[Record]], Any]) -> list[tuple[Record, str]]:
    """The records on which ``attempt`` raises alone, by bisection: O(k log n) attempts
    for k bad records. Empty if only a combination fails (then nobody is blamed)."""
    try:
        attempt(records)
        return []
    except Exception as exc:  # noqa: BLE001 - any failure is what we are looking for
        if len(records) == 1:
            return [(records[0], f"aggregation failed: {type(exc).__name__}: {exc}"[:500])]
    mid = len(records) // 2
    return isolate(records[:mid], attempt) + isolate(records[mid:], attempt)
