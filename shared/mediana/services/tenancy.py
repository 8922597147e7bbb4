"""Tenant isolation enforced by IAM as well as by the code (the SaaS "dynamic policy" pattern):
the read API reads and writes a tenant's partitions with credentials of ``TenantAccessRole``,
assumed with the tenant id as the session tag ``tenant_id``. That role may touch only items
whose partition key is ``T#{tag}`` or ``T#{tag}#...`` (``dynamodb:LeadingKeys`` in
template.yaml), so a bug that builds another tenant's key is denied by DynamoDB. The function's
own role keeps only the cost ledger (``COST#...``), the idempotency table and the queue.

Credentials are cached per tenant per container and renewed five minutes before they expire;
a container keeps at most ``MAX_TENANTS`` tenants' clients."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import boto3

from mediana.domain.records import valid_tenant_id
from mediana.metering.meter import METER
from mediana.storage.store import Store

SESSION_SECONDS = 3600  # the role's MaxSessionDuration
RENEW_BEFORE_S = 300  # a tenant's credentials are renewed this long before they expire
MAX_TENANTS = 256  # clients kept per container (least recently used dropped)
TAG = "tenant_id"


class TenantStores:
    """A ``Store`` per tenant whose DynamoDB client holds that tenant's scoped credentials.
    Without a role ARN (a bare test, a stack without the role) it hands out the base Store."""

    def __init__(self, base: Store, role_arn: str | None, clock: Callable[[], float] = time.time) -> None:
        self.base = base
        self.role_arn = role_arn
        self.clock = clock
        self._lock = threading.Lock()
        self._stores: OrderedDict[str, tuple[Store, float]] = OrderedDict()  # tenant -> (store, renew at)
        # one boto3 session for every tenant's client: its loaded service models are shared, so a
        # new tenant's client costs milliseconds, not a fresh read of botocore's data files
        self._session = boto3.session.Session(region_name=base.cfg.region)
        self._sts: Any = None
        self.assumed = 0  # AssumeRole calls made (the bench and the tests read it)

    def for_tenant(self, tenant: str) -> Store:
        if not valid_tenant_id(tenant):  # the tag would be refused by STS; never reach it
            raise ValueError(f"not a tenant id: {tenant!r}")
        if not self.role_arn:
            return self.base
        now = self.clock()
        with self._lock:
            found = self._stores.get(tenant)
            if found is not None and now < found[1]:
                self._stores.move_to_end(tenant)
                return found[0]
        store, expires = self._scoped(tenant)  # outside the lock: an STS round trip
        with self._lock:
            self._stores[tenant] = (store, expires - RENEW_BEFORE_S)
            self._stores.move_to_end(tenant)
            while len(self._stores) > MAX_TENANTS:
                self._stores.popitem(last=False)
        return store

    def _scoped(self, tenant: str) -> tuple[Store, float]:
        """AssumeRole with the tenant's session tag; a Store whose DynamoDB client signs with it."""
        cfg = self.base.cfg
        if self._sts is None:
            self._sts = self._session.client("sts", endpoint_url=cfg.endpoint)
        out = self._sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=f"mediana-{tenant}"[:64],
            Tags=[{"Key": TAG, "Value": tenant}],
            DurationSeconds=SESSION_SECONDS,
        )["Credentials"]
        self.assumed += 1
        client = self._session.client(
            "dynamodb",
            endpoint_url=cfg.endpoint,
            aws_access_key_id=out["AccessKeyId"],
            aws_secret_access_key=out["SecretAccessKey"],
            aws_session_token=out["SessionToken"],
        )
        METER.install(client)  # booked to the tenant served, like the base Store's calls
        return self.base.scoped(client), out["Expiration"].timestamp()

    def clear(self) -> None:
        with self._lock:
            self._stores.clear()


_DEFAULT: TenantStores | None = None


def default_tenant_stores(base: Store) -> TenantStores:
    """The container's TenantStores over its Store (role from ``TENANT_ROLE_ARN``); made anew
    if either changed (a test's stack, a local restart), never on a warm Lambda."""
    global _DEFAULT
    role = os.environ.get("TENANT_ROLE_ARN") or None
    if _DEFAULT is None or _DEFAULT.base is not base or _DEFAULT.role_arn != role:
        _DEFAULT = TenantStores(base, role)
    return _DEFAULT
