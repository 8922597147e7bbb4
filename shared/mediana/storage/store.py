"""DynamoDB (PynamoDB models, boto3 where an expression needs it), S3 and SQS
access. Every AWS call of the project goes through here, so the services stay
plain Python and the endpoint (a moto server locally) is set in one place. The Store is
composed of its parts, one module each: tenants, log, documents, messages, ledger."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from mediana.config import Config
from mediana.metering.meter import METER
from mediana.storage.base import LEASE_MS, US
from mediana.storage.documents import DocumentOps
from mediana.storage.ledger import LedgerOps
from mediana.storage.log import LogOps
from mediana.storage.messages import MessageOps
from mediana.storage.models import MODEL_TABLES, LogItem, QuarantineItem, StaleWriter, TenantBusy, TenantState, bind
from mediana.storage.tenants import TenantOps

__all__ = [
    "LEASE_MS",
    "US",
    "MODEL_TABLES",
    "LogItem",
    "QuarantineItem",
    "StaleWriter",
    "Store",
    "TenantBusy",
    "TenantState",
    "default_store",
]


class Store(TenantOps, LogOps, DocumentOps, MessageOps, LedgerOps):
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._pool: ThreadPoolExecutor | None = None
        bind(cfg)
        session = boto3.session.Session(region_name=cfg.region)
        self.ddb = session.client("dynamodb", endpoint_url=cfg.endpoint)
        self.s3 = session.client("s3", endpoint_url=cfg.endpoint)
        self.sqs = session.client("sqs", endpoint_url=cfg.endpoint)
        # every AWS call this Store makes is metered for the tenant being served
        METER.configure({cfg.state_table: {"sched", "due_at"}}, cfg.trust_reported_capacity)
        for client in (self.ddb, self.s3, self.sqs):
            METER.install(client)
        for model in MODEL_TABLES:
            METER.install(model._get_connection().connection.client)

    def scoped(self, ddb: Any) -> Store:
        """This Store with another DynamoDB client (a tenant's scoped credentials, see
        ``mediana.services.tenancy``): every method that reads or writes a tenant's partitions
        for the API goes through ``self.ddb``, never through PynamoDB's shared connections."""
        view = copy.copy(self)
        view.ddb = ddb
        return view


_DEFAULT: Store | None = None


def default_store() -> Store:
    """The process-wide Store for a Lambda, built from the environment on first use
    (after the handler module loads, so tests and the local stack can set it)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Store(Config.from_env())
    return _DEFAULT
