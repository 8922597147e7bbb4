"""The source log (every version, under the tenant's sequence) and the quarantine."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mediana.domain.records import upgrade
from mediana.domain.timeutil import format_us, now_us
from mediana.storage import keys
from mediana.storage.base import StoreBase
from mediana.storage.models import (
    LogItem,
    QuarantineItem,
)


class UndecodableLogRecords(Exception):
    """Log records that are not JSON objects (seq, stored text, reason): the aggregator moves
    them to the quarantine, where they stay listable, and goes on with the rest."""

    def __init__(self, found: list[tuple[int, str, str]]) -> None:
        super().__init__(f"{len(found)} stored log record(s) do not decode: {found[0][2]}")
        self.found = found


def stored_text(rec: Mapping[str, Any]) -> str:
    """A record's text in the log: its fields but the seq and receipt the item holds apart."""
    return json.dumps({k: v for k, v in rec.items() if k not in ("seq", "_at")}, separators=(",", ":"))


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"a JSON {type(value).__name__}, not an object")
    return value


class LogOps(StoreBase):
    """Appends, delta reads and compaction of the log; quarantined lines with their reason."""

    # ---- source log -----------------------------------------------------
    def write_log(self, tenant: str, records: Iterable[Mapping[str, Any]], received_us: int) -> None:
        """Puts each record under its ``seq``; one read back from the log (a stamp record
        replacing its version) keeps the ``_at`` it was received at."""
        with LogItem.batch_write() as batch:
            for rec in records:
                at = int(rec.get("_at", received_us))
                batch.save(LogItem(tenant, rec["seq"], r=stored_text(rec), at=at))

    def read_log(self, tenant: str, after: int, upto: int, limit: int) -> list[dict[str, Any]]:
        """Records ``after`` < seq <= ``upto``, at most ``limit``; UndecodableLogRecords if a
        stored one is not a JSON object (damaged at rest)."""
        out: list[dict[str, Any]] = []
        if upto <= after:
            return out
        damaged: list[tuple[int, str, str]] = []
        for item in LogItem.query(
            tenant, LogItem.seq.between(after + 1, upto), limit=limit, page_size=min(limit, 5000)
        ):
            try:
                rec = upgrade(_object(json.loads(item.r)))
            except (ValueError, TypeError) as exc:
                damaged.append((int(item.seq), str(item.r), f"stored record does not decode: {exc}"[:500]))
                continue
            rec["seq"] = int(item.seq)
            rec["_at"] = int(item.at)
            out.append(rec)
        if damaged:
            raise UndecodableLogRecords(damaged)
        return out

    def log_pages(self, tenant: str, upto: int) -> Iterator[list[str]]:
        """The stored text of every record with seq <= ``upto``, as written, a page (up to
        1 MB) at a time: what a build from the whole log reads (``domain/recount``), which
        holds one page's strings at once. One paginated Query of the text alone."""
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.log_table,
            KeyConditionExpression="tenant_id = :t AND seq <= :upto",
            ExpressionAttributeValues={":t": {"S": tenant}, ":upto": {"N": str(upto)}},
            ProjectionExpression="r",
            ConsistentRead=True,
        )
        for page in pages:
            yield [item.get("r", {}).get("S", "") for item in page["Items"]]

    def delete_log(self, tenant: str, seqs: Iterable[int]) -> None:
        with LogItem.batch_write() as batch:
            for seq in seqs:
                batch.delete(LogItem(tenant, seq))

    # ---- quarantine -----------------------------------------------------
    def quarantine_log(self, tenant: str, found: list[tuple[int, str, str]]) -> None:
        """Move log records (seq, stored text, reason) out of the log, into the quarantine."""
        received = format_us(now_us())
        entries = [
            {
                "source": "log",
                "line": seq,
                "field": "(record)",
                "reason": why,
                "raw": raw[:2000],
                "received_at": received,
            }
            for seq, raw, why in found
        ]
        self.put_quarantine(tenant, entries)
        self.delete_log(tenant, [seq for seq, _, _ in found])

    def put_quarantine(self, tenant: str, entries: Iterable[Mapping[str, Any]]) -> None:
        """Each entry keeps its reason and raw line for ``cfg.quarantine_ttl_s``, then expires."""
        expires_at = int(time.time()) + self.cfg.quarantine_ttl_s
        with QuarantineItem.batch_write() as batch:
            for e in entries:
                batch.save(
                    QuarantineItem(
                        keys.quarantine_pk(tenant),
                        keys.quarantine_sk(e["received_at"], e["source"], e["line"]),
                        source=e["source"],
                        line=e["line"],
                        field=e["field"],
                        reason=e["reason"],
                        raw=e["raw"],
                        received_at=e["received_at"],
                        expires_at=expires_at,
                    )
                )

    def list_quarantine(self, tenant: str, limit: int = 1000) -> list[dict[str, Any]]:
        items = QuarantineItem.query(keys.quarantine_pk(tenant), scan_index_forward=False, limit=limit)
        return [
            {
                "received_at": q.received_at,
                "source": q.source,
                "line": int(q.line),
                "field": q.field,
                "reason": q.reason,
                "raw": q.raw,
            }
            for q in items
        ]
