"""``mediana audit``: each tenant's day documents counted again from its log and compared
with the stored ones, and its preset buckets with the presets of those days
(``mediana.services.audit``). One JSON line per tenant; exit 0 when
every audited tenant matches, 1 when one drifted, 3 when one could not be audited now."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from mediana.domain.timeutil import now_s


def cmd_audit(args: argparse.Namespace, store: Any) -> int:
    from mediana.services.audit import DRIFT, NOT_NOW, audit_tenant

    tenants = args.tenant or sorted(s.pk[2:] for s in store.list_states())
    worst = 0
    for tenant in tenants:
        result = audit_tenant(store, tenant)
        line = asdict(result)
        line["drifts"] = line["drifts"][: args.show]  # the first few days; the count says how many
        line["days_drifted"] = len(result.drifts)
        line["preset_drifts"] = line["preset_drifts"][: args.show]
        line["presets_drifted"] = len(result.preset_drifts)
        for name in ("read_seconds", "count_seconds"):
            line[name] = round(line[name], 3)
        if result.status == DRIFT and args.rebuild:
            store.mark_due(tenant, now_s(), rebuild=True)  # the aggregator rebuilds it from the log
            line["rebuild_asked"] = True
        print(json.dumps(line, ensure_ascii=False, default=list))
        worst = max(worst, {DRIFT: 1, NOT_NOW: 3}.get(result.status, 0))
    return worst


def add_parser(sub: Any, tenant_id: Callable[[str], str], store: Callable[[], Any]) -> None:
    aud = sub.add_parser("audit", help="count each tenant's day documents again from its log and compare, presets too")
    aud.add_argument("--tenant", action="append", type=tenant_id, help="a tenant (repeatable; default: every one)")
    aud.add_argument("--show", type=int, default=5, help="drifted days and preset buckets shown per tenant (default 5)")
    aud.add_argument(
        "--rebuild", action="store_true", help="ask for a rebuild of each tenant that drifted (days or presets)"
    )
    aud.set_defaults(func=lambda args: cmd_audit(args, store()))
