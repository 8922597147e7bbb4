"""Ingest: validate JSON Lines, quarantine bad lines with their reason, append
good versions to the source log under fresh sequence numbers.

Ingest never decides which version wins: it appends, and the aggregator folds
(latest ``updated_at`` wins). So a retried or duplicated file is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mediana.domain.lines import MAX_LINE_BYTES, Damaged, Line, TooLong
from mediana.domain.parse_batch import parse_lines
from mediana.domain.records import Record, Rejection, valid_tenant_id
from mediana.domain.timeutil import format_us, now_us
from mediana.storage.store import Store

CHUNK_LINES = 2000
RAW_EXCERPT = 2000


@dataclass
class IngestResult:
    tenant_id: str
    source: str
    accepted: int = 0
    rejected: int = 0
    blank: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    stopped_at: int | None = None  # lines consumed (all stored) when time ran out; None: the whole object


@dataclass(frozen=True)
class Checkpoint:
    """Where an object's ingest continues in a next invocation: every line up to ``line``
    is stored. ``etag`` pins the version read (a replaced object has its own event)."""

    bucket: str
    key: str
    etag: str
    line: int

    def to_json(self) -> str:
        return json.dumps({"bucket": self.bucket, "key": self.key, "etag": self.etag, "line": self.line})

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        raw = json.loads(text)
        return cls(str(raw["bucket"]), str(raw["key"]), str(raw["etag"]), int(raw["line"]))


def ingest_lines(
    store: Store,
    tenant: str,
    source: str,
    lines: Iterable[bytes | Line],
    *,
    skip: int = 0,
    should_stop: Callable[[], bool] = lambda: False,
) -> IngestResult:
    """Store the good lines, quarantine the bad ones, ``CHUNK_LINES`` at a time. The first
    ``skip`` lines were stored by an earlier invocation (counted, not parsed). After each
    chunk, ``should_stop()`` may end the run: ``stopped_at`` is then the checkpoint."""
    if not valid_tenant_id(tenant):
        raise ValueError(f"invalid tenant id {tenant!r}")
    result = IngestResult(tenant, source)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []

    def flush() -> None:
        at = now_us()
        if good:
            start, block = store.begin_block(tenant, len(good), at)
            for offset, rec in enumerate(good):
                rec["seq"] = start + offset
            try:
                store.write_log(tenant, good, at)
                if bad:
                    store.put_quarantine(tenant, bad)
            except Exception:
                # a gap, not a hole the aggregator waits on: the retry stores these lines anew
                store.end_block(tenant, block, at, 0)
                raise
            store.end_block(tenant, block, at, len(bad))
        elif bad:
            store.put_quarantine(tenant, bad)
            start, block = store.begin_block(tenant, 0, at)
            store.end_block(tenant, block, at, len(bad))
        good.clear()
        bad.clear()

    received = format_us(now_us())

    def judge(chunk: list[tuple[int, bytes | Line]]) -> None:
        texts = [line for _, line in chunk if isinstance(line, (bytes, str))]
        verdicts = iter(parse_lines(texts, tenant))
        for number, line in chunk:
            if isinstance(line, Damaged):  # the object itself: every line before it was kept
                parsed: Record | Rejection | None = Rejection("(file)", line.reason)
                line = b""
            elif isinstance(line, TooLong):
                parsed = Rejection("(line)", f"longer than {MAX_LINE_BYTES} bytes ({line.size}+)")
                line = line.head
            else:
                parsed = next(verdicts)
            if parsed is None:
                result.blank += 1
            elif isinstance(parsed, Rejection):
                result.rejected += 1
                entry = {
                    "source": source,
                    "line": number,
                    "field": parsed.field,
                    "reason": parsed.reason,
                    "raw": line[:RAW_EXCERPT].decode("utf-8", "replace"),
                    "received_at": received,
                }
                bad.append(entry)
                if len(result.rejections) < 20:
                    result.rejections.append({k: entry[k] for k in ("line", "field", "reason")})
            else:
                result.accepted += 1
                good.append(parsed)

    chunk: list[tuple[int, bytes | Line]] = []
    for number, line in enumerate(lines, start=1):
        if number <= skip:
            continue
        chunk.append((number, line))
        if len(chunk) >= CHUNK_LINES:  # blank lines count too: a chunk is bounded in lines read
            judge(chunk)
            chunk.clear()
            flush()
            if should_stop():
                result.stopped_at = number
                return result
    judge(chunk)
    flush()
    return result
