"""S3 incoming objects, SQS messages and manual refresh records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from mediana.storage import keys
from mediana.storage.base import DESERIALIZER, SERIALIZER, SQS_BATCH, StoreBase, plain_number
from mediana.storage.models import (
    conditional_failed,
)


class MessageOps(StoreBase):
    """What the handlers send and receive besides the tables' documents."""

    def get_incoming(self, bucket: str, key: str, etag: str | None = None) -> dict[str, Any] | None:
        """An incoming object (its streaming body, ETag and size); with ``etag``, only that
        version: None if it was replaced or deleted since (its own event covers the new one)."""
        try:
            return self.s3.get_object(Bucket=bucket, Key=key, **({"IfMatch": etag} if etag else {}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "NoSuchKey", "412", "404"):
                return None
            raise

    def send_checkpoint(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.cfg.ingest_queue_url, MessageBody=body)

    def enqueue(
        self, tenant: str, reason: str, dedup: str, refresh_id: str | None = None, check: list[str] | None = None
    ) -> None:
        """A refresh message for ``tenant``; ``check``: an item (pk, base) a reader could not decode."""
        body: dict[str, Any] = {"tenant_id": tenant, "reason": reason}
        if refresh_id:
            body["refresh_id"] = refresh_id
        if check:
            body["check"] = check
        self.sqs.send_message(
            QueueUrl=self.cfg.queue_url,
            MessageBody=json.dumps(body),
            MessageGroupId=tenant,
            MessageDeduplicationId=dedup[:128],
        )

    def enqueue_many(self, due: Iterable[tuple[str, str]], reason: str) -> list[str]:
        """Enqueue (tenant, dedup) pairs, ten to a SendMessageBatch (the scheduler's fan-out);
        returns the tenants whose entry SQS refused. They stay due: the next tick sends again."""
        failed: list[str] = []
        pending = list(due)
        for start in range(0, len(pending), SQS_BATCH):
            chunk = pending[start : start + SQS_BATCH]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"tenant_id": tenant, "reason": reason}),
                    "MessageGroupId": tenant,
                    "MessageDeduplicationId": dedup[:128],
                }
                for i, (tenant, dedup) in enumerate(chunk)
            ]
            out = self.sqs.send_message_batch(QueueUrl=self.cfg.queue_url, Entries=entries)
            failed += [chunk[int(f["Id"])][0] for f in out.get("Failed", [])]
        return failed

    def put_refresh(self, tenant: str, record: Mapping[str, Any]) -> None:
        item = {k: SERIALIZER.serialize(v) for k, v in record.items() if v is not None}
        item.update(self._key(keys.refresh_pk(tenant), record["refresh_id"]))
        self.ddb.put_item(TableName=self.cfg.state_table, Item=item)

    def get_refresh(self, tenant: str, refresh_id: str) -> dict[str, Any] | None:
        out = self.ddb.get_item(
            TableName=self.cfg.state_table, Key=self._key(keys.refresh_pk(tenant), refresh_id), ConsistentRead=True
        )
        item = out.get("Item")
        if not item:
            return None
        return {k: plain_number(DESERIALIZER.deserialize(v)) for k, v in item.items() if k not in ("pk", "sk")}

    def update_refresh(self, tenant: str, refresh_id: str, fields: Mapping[str, Any], only_open: bool = False) -> bool:
        """Set fields of an existing refresh record (never recreates an expired one);
        ``only_open``: only while it is queued or running. False if nothing changed."""
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": SERIALIZER.serialize(v) for i, v in enumerate(fields.values())}
        condition = "attribute_exists(pk)"
        if only_open:
            condition += " AND #status IN (:queued, :running)"
            names["#status"] = "status"
            values.update({":queued": {"S": "queued"}, ":running": {"S": "running"}})
        try:
            self.ddb.update_item(
                TableName=self.cfg.state_table,
                Key=self._key(keys.refresh_pk(tenant), refresh_id),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            return False

    def delete_refresh(self, tenant: str, refresh_id: str) -> None:
        self.ddb.delete_item(TableName=self.cfg.state_table, Key=self._key(keys.refresh_pk(tenant), refresh_id))

    def claim_refresh(self, tenant: str, refresh_id: str, now_s: int, cooldown_s: int, stale_s: int) -> bool:
        """Atomically make ``refresh_id`` the tenant's active refresh, unless one is
        active (and not stale) or the cool-down since the last one has not passed."""
        try:
            self.ddb.update_item(
                TableName=self.cfg.state_table,
                Key=self._key(keys.tenant_pk(tenant), keys.STATE_SK),
                UpdateExpression="SET active_refresh = :id, active_since = :now",
                ConditionExpression="(attribute_not_exists(active_refresh) OR active_since < :stale) AND "
                "(attribute_not_exists(last_refresh_done) OR last_refresh_done <= :cool)",
                ExpressionAttributeValues={
                    ":id": {"S": refresh_id},
                    ":now": {"N": str(now_s)},
                    ":stale": {"N": str(now_s - stale_s)},
                    ":cool": {"N": str(now_s - cooldown_s)},
                },
            )
            return True
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise

    def release_refresh(self, tenant: str, refresh_id: str, done_at_s: int | None) -> None:
        """Clear the active refresh if it is still ``refresh_id``; a success starts the cool-down."""
        update = "REMOVE active_refresh, active_since"
        values: dict[str, Any] = {":id": {"S": refresh_id}}
        if done_at_s is not None:
            update = "SET last_refresh_done = :done " + update
            values[":done"] = {"N": str(done_at_s)}
        try:
            self.ddb.update_item(
                TableName=self.cfg.state_table,
                Key=self._key(keys.tenant_pk(tenant), keys.STATE_SK),
                UpdateExpression=update,
                ConditionExpression="active_refresh = :id",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
