"""Documents: compressed JSON in parts, read in one BatchGetItem, written fenced; and the journals."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from mediana.domain.cells import Counter, View, decode_counter
from mediana.domain.sections import ALL_DAYS, SECTIONS
from mediana.storage import blobs, keys
from mediana.storage.base import StoreBase
from mediana.storage.models import (
    DocPart,
    StaleWriter,
    TenantState,
    conditional_failed,
)

HeadEnough = Callable[[Any], bool]  # is a headed document's head all the caller needs of it?


class DocumentOps(StoreBase):
    """Day, preset, world and route documents, and the S3 journals that make their writes redoable."""

    # ---- documents --------------------------------------------------------
    def get_docs(self, pk: str, bases: Iterable[str], consistent: bool = True) -> dict[str, tuple[Any, int]]:
        """{base: (document, part count)} for the documents that exist."""
        return self.get_docs_of({pk: bases}, consistent)[pk]

    def get_docs_of(
        self,
        wanted: Mapping[str, Iterable[str]],
        consistent: bool = True,
        enough: HeadEnough | None = None,
        marked: bool = False,
    ) -> dict[str, dict[str, tuple[Any, int]]]:
        """``get_docs`` for documents of several partitions, in one round of BatchGetItems:
        {pk: {base: (document, part count)}}. A headed document whose head is ``enough`` for
        the caller is its head alone (``blobs.decode_head``): its other parts are not read.
        A document that does not decode raises ``DamagedItem``, or is ``marked`` ``Unreadable``
        (the read path)."""
        request = [self._key(pk, keys.part_sk(b, 0)) for pk, bases in wanted.items() for b in dict.fromkeys(bases)]
        first: dict[tuple[str, str], DocPart] = {}
        for raw in self._batch_get(request, consistent):
            part = DocPart.from_raw_data(raw)
            first[(part.pk, keys.base_of(part.sk))] = part
        heads = _heads(first, enough)
        rest = self._other_parts({key: part for key, part in first.items() if key not in heads}, consistent)
        out: dict[str, dict[str, tuple[Any, int]]] = {pk: {} for pk in wanted}
        for (pk, base), part in first.items():
            try:
                doc = heads[(pk, base)] if (pk, base) in heads else blobs.decode(_chunks(pk, base, part, rest))
            except (KeyError, zlib.error, ValueError) as exc:
                if not marked:
                    raise DamagedItem(pk, base, _reason(exc)) from exc
                doc = Unreadable(pk, base, _reason(exc))
            out[pk][base] = (doc, int(part.n))
        return out

    def _other_parts(self, first: Mapping[tuple[str, str], DocPart], consistent: bool) -> dict[tuple[str, str], bytes]:
        """Every part but part 0 of the documents whose part 0 is in ``first`` ((pk, base) -> part):
        one BatchGetItem for all of them (none when every document is one part)."""
        more = [self._key(pk, keys.part_sk(base, i)) for (pk, base), p in first.items() for i in range(1, int(p.n))]
        return {
            (raw["pk"]["S"], raw["sk"]["S"]): DocPart.from_raw_data(raw).v for raw in self._batch_get(more, consistent)
        }

    def _batch_get(self, wanted: list[dict[str, Any]], consistent: bool = False) -> list[dict[str, Any]]:
        """Raw items of ``wanted`` keys that exist: BatchGetItems of at most 100 keys, retrying
        what DynamoDB leaves unprocessed."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 100):
            table = {"Keys": wanted[start : start + 100], "ConsistentRead": consistent}
            pending: dict[str, Any] = {self.cfg.state_table: table}
            while pending:
                out = self.ddb.batch_get_item(RequestItems=pending)
                items.extend(out["Responses"].get(self.cfg.state_table, []))
                pending = out.get("UnprocessedKeys") or {}
        return items

    def get_state_and_docs(
        self, tenant: str, wanted: Iterable[tuple[str, str]], enough: HeadEnough | None = None
    ) -> tuple[TenantState | None, dict[tuple[str, str], Any]]:
        """The tenant state and some (pk, base) documents in one BatchGetItem (the read
        path's single round trip for a preset); extra parts of a large document follow, unless
        its head is ``enough`` (``get_docs_of``)."""
        request = [self._key(keys.tenant_pk(tenant), keys.STATE_SK)]
        request += [self._key(pk, keys.part_sk(b, 0)) for pk, b in wanted]
        from mediana.storage.state_fields import state_from_raw  # it imports DamagedItem from here

        items = self._batch_get(request)
        state = None
        first: dict[tuple[str, str], DocPart] = {}
        for raw in items:
            if raw["pk"]["S"] == keys.tenant_pk(tenant) and raw["sk"]["S"] == keys.STATE_SK:
                state = state_from_raw(raw)
            else:
                part = DocPart.from_raw_data(raw)
                first[(part.pk, keys.base_of(part.sk))] = part
        docs: dict[tuple[str, str], Any] = _heads(first, enough)
        others = {key: part for key, part in first.items() if key not in docs}
        rest = self._other_parts(others, consistent=False)  # large documents: one more request for them all
        for (pk, base), part in others.items():
            try:
                docs[(pk, base)] = blobs.decode(_chunks(pk, base, part, rest))
            except (KeyError, zlib.error, ValueError):  # rewritten between the two reads: read it whole again
                again = self.get_docs_of({pk: [base]}, consistent=True, marked=True)[pk].get(base)
                docs[(pk, base)] = Unreadable(pk, base, "gone on a second read") if again is None else again[0]
        return state, docs

    def day_docs(
        self,
        tenant: str,
        gen: int,
        sections: Iterable[str],
        first: date,
        last: date,
        consistent: bool = False,
        views: Mapping[str, View | None] | None = None,
    ) -> dict[tuple[str, str], Counter]:
        """Stored day documents of ``sections`` dated in [first, last]: one Query per
        dated section; a cumulative section is its one document, whatever the dates. A
        section's cells are decoded through its view, if given (cells.View)."""
        pk = keys.days_pk(tenant, gen)
        out: dict[tuple[str, str], Counter] = {}
        for section in sections:
            if SECTIONS[section].cumulative:
                base = keys.day_base(section, ALL_DAYS)
                docs = {b: doc for b, (doc, _) in self.get_docs(pk, [base], consistent).items()}
            else:
                low, high = keys.day_base(section, first.isoformat()), keys.day_base(section, last.isoformat())
                docs = self.query_docs(pk, low, high, consistent=consistent)
            for base, doc in docs.items():
                out[(section, base.split("#", 1)[1])] = decode_counter(doc["cells"], (views or {}).get(section))
        return out

    def query_docs(self, pk: str, low: str, high: str, consistent: bool = False) -> dict[str, Any]:
        """Documents whose base lies in [low, high] (sort-key order)."""
        grouped: dict[str, list[DocPart]] = {}
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.state_table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={":pk": {"S": pk}, ":low": {"S": low}, ":high": {"S": high + "\x7f"}},
            ConsistentRead=consistent,
        )
        for page in pages:
            for raw in page["Items"]:
                part = DocPart.from_raw_data(raw)
                grouped.setdefault(keys.base_of(part.sk), []).append(part)
        out = {}
        for base, parts in grouped.items():
            n = int(parts[0].n)
            try:
                if len(parts) < n:
                    raise KeyError(f"{n - len(parts)} of its {n} parts missing")
                out[base] = blobs.decode([p.v for p in parts[:n]])
            except (KeyError, zlib.error, ValueError) as exc:
                raise DamagedItem(pk, base, _reason(exc)) from exc
        return out

    def part_counts(self, pk: str) -> dict[str, int]:
        """{base: part count} of every document stored under ``pk`` (one Query, keys and
        counts only): what a rewrite of the whole partition must delete if it does not rewrite."""
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.cfg.state_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="sk, #n",
            ExpressionAttributeNames={"#n": "n"},
            ConsistentRead=True,
        )
        out: dict[str, int] = {}
        for page in pages:
            for raw in page["Items"]:
                sk = raw["sk"]["S"]
                base, index = keys.base_of(sk), keys.part_of(sk)
                out[base] = max(out.get(base, 0), index + 1, int(raw.get("n", {}).get("N", 1)))
        return out

    def put_docs(
        self, pk: str, docs: Mapping[str, Any], old_parts: Mapping[str, int] | None = None, batch: int | None = None
    ) -> int:
        """Write documents (idempotent); drop tails left by a larger old version, and the
        whole of an old one absent from ``docs``.
        Returns the bytes written. With ``batch``, every write is fenced: conditional on
        no later batch having written the item, so a stale runner is rejected."""
        if batch is not None:
            return self._put_docs_fenced(pk, docs, old_parts or {}, batch)
        written = 0
        old_parts = old_parts or {}
        with DocPart.batch_write() as writer:
            for base in dict.fromkeys([*docs, *old_parts]):  # a base only in old_parts: deleted
                chunks = blobs.encode(docs[base]) if base in docs else []
                for i, chunk in enumerate(chunks):
                    writer.save(DocPart(pk, keys.part_sk(base, i), n=len(chunks), v=chunk))
                    written += len(chunk)
                for i in range(len(chunks), old_parts.get(base, 0)):
                    writer.delete(DocPart(pk, keys.part_sk(base, i)))
        return written

    def _put_docs_fenced(self, pk: str, docs: Mapping[str, Any], old_parts: Mapping[str, int], batch: int) -> int:
        written = 0
        fence = {
            "ConditionExpression": "attribute_not_exists(b) OR b <= :b",
            "ExpressionAttributeValues": {":b": {"N": str(batch)}},
        }
        common = {"TableName": self.cfg.state_table, **fence}
        calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        for base in dict.fromkeys([*docs, *old_parts]):  # a base only in old_parts: deleted
            chunks = blobs.encode(docs[base]) if base in docs else []
            for i, chunk in enumerate(chunks):
                item = {**self._key(pk, keys.part_sk(base, i)), "n": {"N": str(len(chunks))}, "v": {"B": chunk}}
                calls.append((self.ddb.put_item, {**common, "Item": {**item, "b": {"N": str(batch)}}}))
                written += len(chunk)
            for i in range(len(chunks), old_parts.get(base, 0)):
                calls.append((self.ddb.delete_item, {**common, "Key": self._key(pk, keys.part_sk(base, i))}))
        try:
            self._run_calls(calls)
        except ClientError as exc:
            if conditional_failed(exc):
                raise StaleWriter(f"{pk}: a later batch than {batch} wrote it; write rejected") from None
            raise
        return written

    def delete_generation(self, tenant: str, gen: int) -> int:
        """Every document of one generation (its directory included)."""
        count = sum(self.delete_partition(pk) for pk in keys.generation_pks(tenant, gen))
        base = keys.directory_base(gen)
        directory = self.get_docs(keys.tenant_pk(tenant), [base])
        if directory:
            self.put_docs(keys.tenant_pk(tenant), {}, {base: directory[base][1]})
            count += directory[base][1]
        return count

    def delete_partition(self, pk: str) -> int:
        count = 0
        with DocPart.batch_write() as batch:
            for item in DocPart.query(pk, attributes_to_get=["pk", "sk"]):
                batch.delete(DocPart(pk, item.sk))
                count += 1
        return count

    def iter_docs(self, pk: str, marked: bool = False) -> Iterator[tuple[str, Any]]:
        """Every document of a partition, decoded; one that does not decode raises, or is
        ``marked`` ``Unreadable`` (as ``get_docs_of`` marks it)."""
        grouped: dict[str, list[DocPart]] = {}
        for part in DocPart.query(pk):
            grouped.setdefault(keys.base_of(part.sk), []).append(part)
        for base, parts in grouped.items():
            try:
                yield base, blobs.decode([p.v for p in parts[: int(parts[0].n)]])
            except (KeyError, zlib.error, ValueError) as exc:
                if not marked:
                    raise
                yield base, Unreadable(pk, base, _reason(exc))

    # ---- S3 and SQS -------------------------------------------------------
    def put_journal(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.cfg.bucket, Key=key, Body=body)

    def get_journal(self, key: str) -> Any:
        """A batch's journal, decoded; DamagedItem when it is gone or does not decode (any
        other failure to read it, S3's own, raises as it is: a retry may read it)."""
        try:
            body = self.s3.get_object(Bucket=self.cfg.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            raise DamagedItem("journal", key, "gone") from exc
        try:
            return json.loads(gzip.decompress(body))
        except (OSError, EOFError, zlib.error, ValueError) as exc:  # gzip's errors are OSError and EOFError
            raise DamagedItem("journal", key, _reason(exc)) from exc

    def delete_journal(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.cfg.bucket, Key=key)

    def settle_journals(self, tenant: str, key: str) -> None:
        """Delete a committed journal and any other of the tenant's (a crashed or overtaken
        attempt's, never referenced once this commit landed): journals never expire by
        lifecycle, since a pending one must outlive any outage, so nothing else removes them.
        Called under the lease, after the commit: no live runner has a journal pending."""
        listed = self.s3.list_objects_v2(Bucket=self.cfg.bucket, Prefix=keys.journal_prefix(tenant), MaxKeys=1000)
        doomed = {key} | {o["Key"] for o in listed.get("Contents", [])}
        if len(doomed) == 1:
            self.delete_journal(key)
            return
        self.s3.delete_objects(
            Bucket=self.cfg.bucket, Delete={"Objects": [{"Key": k} for k in sorted(doomed)], "Quiet": True}
        )


def _heads(first: Mapping[tuple[str, str], DocPart], enough: HeadEnough | None) -> dict[tuple[str, str], Any]:
    """The heads of the headed documents among ``first`` (part 0s) that are ``enough`` (a head
    that does not decode is none: its document is read whole, and judged there)."""
    if enough is None:
        return {}
    out = {}
    for (pk, base), part in first.items():
        try:
            head = blobs.decode_head(part.v)
        except (zlib.error, ValueError):
            continue
        if head is not None and enough(head):
            out[(pk, base)] = head
    return out


@dataclass(frozen=True)
class Unreadable:
    """A stored document no decoder here reads: written by a newer writer (during a deploy), or
    damaged. The read path answers without it where it can: a preset, from its days."""

    pk: str
    base: str
    reason: str


class DamagedItem(ValueError):
    """A stored document (or a batch's journal) that does not decode where its reader cannot do
    without it: the aggregator heals its tenant by a rebuild (``services/damage.py``), the read
    path answers a 503 to retry (``Unreadable`` is the case it can answer without)."""

    def __init__(self, pk: str, base: str, reason: str) -> None:
        super().__init__(f"{pk} {base}: {reason}")
        self.pk, self.base, self.reason = pk, base, reason


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _chunks(pk: str, base: str, first: DocPart, rest: Mapping[tuple[str, str], bytes]) -> list[bytes]:
    """A document's stored parts in order (KeyError if one is missing)."""
    return [first.v] + [rest[(pk, keys.part_sk(base, i))] for i in range(1, int(first.n))]
