"""The ``mediana`` command: run the stack locally, feed it, query it, operate it."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mediana.domain.timeutil import now_s
from mediana.services.auth import mint
from mediana.storage.generations import read_view
from mediana.storage.state_fields import json_or_none

from mediana_cli import audit


def _store() -> Any:
    """A Store for the stack this command targets (see mediana_cli.target)."""
    from mediana.config import Config
    from mediana.storage.store import Store

    return Store(Config.from_env())


def _target(args: argparse.Namespace) -> None:
    """Point this process at the chosen stack: --stack (deployed), else the local one."""
    from mediana_cli.target import deployed_env, local_env

    if args.stack:
        os.environ.update(deployed_env(args.stack, args.region, args.profile))
    elif "STATE_TABLE" not in os.environ:  # already set: running inside a stack's environment
        for name, value in local_env().items():
            if name.startswith(("AWS_", "POWERTOOLS_")):  # the caller's own settings win
                os.environ.setdefault(name, value)
            else:
                os.environ[name] = value


DEMO_TENANTS = (("acme", "America/Argentina/Buenos_Aires"), ("globex", "Europe/Madrid"))
FINANCE_TENANT = "ops"  # the operator's own tenant: finance reads every tenant's costs from it


def demo_tokens(tenants: list[str]) -> list[dict[str, str]]:
    """One token per role, each carrying only that role (12 hours)."""
    out = [{"tenant": t, "role": role, "token": mint(t, [role])} for t in tenants for role in ("viewer", "admin")]
    return [*out, {"tenant": FINANCE_TENANT, "role": "finance", "token": mint(FINANCE_TENANT, ["finance"])}]


def cmd_local(args: argparse.Namespace) -> int:
    from mediana_cli.demo import generate, write_jsonl
    from mediana_cli.local import LocalStack, PortBusy, upload

    if not args.verbose:  # the handlers' JSON log lines would bury the URL and tokens
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    stack = LocalStack(args.aws_port, args.port, args.schedule_seconds)
    try:
        store = stack.start()
    except PortBusy as busy:
        print(f"mediana: {busy}", file=sys.stderr)
        return 2
    print(f"moto server (AWS stand-in): {stack.endpoint}", flush=True)
    from mediana_cli import snapshot

    tenants = []
    kept = None if args.fresh else snapshot.load(store)
    if kept is not None:
        stack.pump.seen |= kept
        tenants = sorted(s.pk[2:] for s in store.list_states()) or []
        print(f"state kept from the last run ({snapshot.SNAPSHOT}; --fresh starts over): {', '.join(tenants)}")
    elif not args.no_demo:
        from mediana_cli.progress import FoldProgress

        t0 = time.monotonic()
        lines = 0
        print(f"demo data: {args.demo_days} days for {', '.join(t for t, _ in DEMO_TENANTS)} (--demo-days N for more)")
        for i, (tenant, tz) in enumerate(DEMO_TENANTS):
            rows = list(write_jsonl(generate(tenant, args.demo_days, seed=7 + i, timezone=tz)))
            lines += len(rows)
            upload(store, tenant, "demo.jsonl", "\n".join(rows).encode())
            tenants.append(tenant)
        with FoldProgress(store, tenants, lines):
            stack.pump.drain()
        print(f"demo data loaded and refreshed in {time.monotonic() - t0:.1f}s", flush=True)
    tokens = demo_tokens([t for t, _ in DEMO_TENANTS if t in tenants] or tenants[:2] or [DEMO_TENANTS[0][0]])
    stack.serve_api(tokens)
    stack.run_background()
    url = f"http://127.0.0.1:{args.port}"
    print(f"\nreport viewer:  {url}/   (pick a demo tenant and role at the top)")
    print(f"read API:       {url}/v1/reports   Swagger UI: {url}/v1/docs   OpenAPI: {url}/v1/openapi.json")
    print("\ntokens (12 h), each with only its role:")
    for row in tokens:
        print(f"  {row['tenant']} {row['role']}:\n    {row['token']}")
    example = f"{url}/v1/reports/response-time?range=last_30_days"
    print(f"\ntry:\n  curl -H 'Authorization: Bearer {tokens[0]['token']}' '{example}'")
    print("\nfrom another shell in this folder: .venv/bin/mediana tenants   (also refresh, ingest, quarantine, costs)")
    print("Ctrl-C stops everything (the state is kept for the next run).")
    print("Only warnings and errors are shown from here on (--verbose: every log line).")
    sys.stdout.flush()

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM (a service manager, `kill`) stops as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # even when started in the background, where SIGINT is ignored
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping: saving the state for the next run...", flush=True)
        with stack.pump.lock:
            kept_count = snapshot.save(store, stack.pump.seen)
        print(f"kept {kept_count} items and objects in {snapshot.SNAPSHOT}", flush=True)
    finally:
        stack.stop()
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from mediana_cli.local import upload

    store = _store()
    path = Path(args.file)
    key = upload(store, args.tenant, path.name, path.read_bytes())
    print(json.dumps({"uploaded": f"s3://{store.cfg.bucket}/{key}"}))
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """The same request as POST /v1/refresh: deduplicated, cooled down, tracked."""
    from mediana.services import refresh

    store = _store()
    asked_at = now_s()
    if args.rebuild:
        store.mark_due(args.tenant, asked_at, rebuild=True)
    # an operator's refresh: never throttled by the tenant-facing cool-down
    answer = refresh.request_refresh(store, args.tenant, asked_at, "cli", cooldown=False)
    refresh_id = answer.body["refresh_id"]
    if not (args.inline or args.wait):
        print(json.dumps(answer.body))
        return 0
    from mediana_cli.progress import FoldProgress

    with FoldProgress(store, [args.tenant]):  # records folded so far, while it runs
        return _refresh_and_wait(args, store, refresh_id, asked_at)


def _refresh_and_wait(args: argparse.Namespace, store: Any, refresh_id: str, asked_at: int) -> int:
    from mediana.services import refresh

    if args.inline:  # run it in this process (under the tenant's lease, like the queue's runs)
        from mediana.services.aggregate import refresh_tenant
        from mediana.storage.store import TenantBusy

        if refresh.start(store, args.tenant, refresh_id, asked_at, 1):
            deadline = time.monotonic() + args.timeout
            while True:
                try:
                    refresh_tenant(store, args.tenant)
                    break
                except TenantBusy:
                    if time.monotonic() > deadline:
                        raise
                    print("another runner holds the tenant; waiting for it...", file=sys.stderr)
                    time.sleep(2)
            state = store.get_state(args.tenant)
            through = read_view(state).data_through
            refresh.finish(store, args.tenant, refresh_id, now_s(), data_through=through)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        record = store.get_refresh(args.tenant, refresh_id)
        if record and record["status"] in ("succeeded", "failed"):
            print(json.dumps(refresh.public(record)))
            return 0 if record["status"] == "succeeded" else 1
        time.sleep(0.5)
    print(json.dumps({"refresh_id": refresh_id, "status": "timeout"}), file=sys.stderr)
    return 1


def cmd_token(args: argparse.Namespace) -> int:
    roles = [r for r in args.roles.replace(",", " ").split() if r]
    print(mint(args.tenant, roles, ttl_s=args.ttl))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mediana_cli.demo import generate, write_jsonl

    for line in write_jsonl(generate(args.tenant, args.days, args.seed, args.per_day, args.timezone)):
        sys.stdout.write(line + "\n")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    for entry in _store().list_quarantine(args.tenant, args.limit):
        print(json.dumps(entry, ensure_ascii=False))
    return 0


def cmd_tenants(args: argparse.Namespace) -> int:
    """Operators: each tenant with its cursor, freshness, last refresh and quarantine."""
    for s in _store().list_states():
        print(
            json.dumps(
                {
                    "tenant_id": s.pk[2:],
                    "cursor": int(s.cursor or 0),
                    "next_seq": int(s.next_seq or 0),
                    "behind": int(s.next_seq or 0) - int(s.cursor or 0),
                    "timezone": (view := read_view(s)).tz,
                    "data_through": view.data_through,
                    "computed_at": view.computed_at,
                    "rebuilding": view.rebuilding,
                    "active_refresh": s.active_refresh,
                    "last_manual_refresh": (
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(s.last_refresh_done)))
                        if s.last_refresh_done
                        else None
                    ),
                    "quarantined": int(s.quarantined or 0),
                    "failure": s.failure,  # set while its refresh keeps failing (parked after 5 receives)
                    "damaged_item": s.damaged_item,  # met by the aggregator; rebuilt if it lasts (services/damage)
                    "healed_at": (
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(s.healed_at))) if s.healed_at else None
                    ),
                    "lease_owner": s.lease_owner,  # a runner aggregating it now
                    "last_audit": json_or_none(s.last_audit),  # recounted from the log
                }
            )
        )
    return 0


def cmd_costs(args: argparse.Namespace) -> int:
    """Finance: the month's per-tenant cost, as a table (or CSV)."""
    from mediana.metering.costs import MONTH, month_rows, to_csv

    if not MONTH.match(args.month):
        print(f"--month: expected YYYY-MM, got {args.month!r}", file=sys.stderr)
        return 2
    store = _store()
    report = month_rows(store.month_costs(args.month), args.month, args.price_region or store.cfg.region)
    if args.csv:
        sys.stdout.write(to_csv(report))
        return 0
    services = list(report["total"]["services_usd"])
    header = ["tenant", *services, "total_usd"]
    table = [
        [row["tenant_id"], *(f"{row['services_usd'][s]:.4f}" for s in services), f"{row['total_usd']:.4f}"]
        for row in [*report["rows"], report["total"]]
    ]
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    print(f"{report['month']}  {report['region']}  {report['currency']}  (prices as of {report['prices_as_of']})")
    for i, row in enumerate([header, *table]):
        if i == len(table):
            print("  ".join("-" * w for w in widths))
        print(
            "  ".join(
                str(c).rjust(w) if j else str(c).ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return 0


def tenant_id(value: str) -> str:
    """An argparse type: the contract's tenant id (1-64 characters of [A-Za-z0-9_-]), so a
    typo or a crafted id never reaches a key (exit 2, naming the flag)."""
    from mediana.domain.records import valid_tenant_id

    if not valid_tenant_id(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a tenant id (1-64 characters of [A-Za-z0-9_-])")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mediana", description=__doc__)
    p.add_argument("--stack", help="a deployed stack's name (default: the local stack of `make run`)")
    p.add_argument("--region", help="the deployed stack's region")
    p.add_argument("--profile", help="AWS profile for the deployed stack")
    sub = p.add_subparsers(dest="command", required=True)
    loc = sub.add_parser("local", help="run the whole stack locally on a moto server")
    loc.add_argument("--port", type=int, default=8080, help="read API port")
    loc.add_argument("--aws-port", type=int, default=5005, help="moto server port")
    loc.add_argument("--no-demo", action="store_true", help="start empty")
    loc.add_argument("--verbose", action="store_true", help="show the handlers' log lines")
    loc.add_argument("--demo-days", type=int, default=30, help="days of demo data for each demo tenant (default 30)")
    loc.add_argument("--fresh", action="store_true", help="ignore the state kept from the last run")
    loc.add_argument("--schedule-seconds", type=float, default=15.0, help="schedule tick (the cloud default is 15 min)")
    loc.set_defaults(func=cmd_local)
    ing = sub.add_parser("ingest", help="drop a JSON Lines file (optionally .gz) for a tenant")
    ing.add_argument("file")
    ing.add_argument("--tenant", required=True, type=tenant_id)
    ing.set_defaults(func=cmd_ingest)
    ref = sub.add_parser("refresh", help="ask for a refresh of a tenant now")
    ref.add_argument("--tenant", required=True, type=tenant_id)
    ref.add_argument("--wait", action="store_true", help="return once the refresh has been applied")
    ref.add_argument("--inline", action="store_true", help="run the aggregator in this process")
    ref.add_argument("--rebuild", action="store_true", help="forget derived items and rebuild from the log")
    ref.add_argument("--timeout", type=float, default=300)
    ref.set_defaults(func=cmd_refresh)
    tok = sub.add_parser("token", help="mint a bearer token the local stack accepts")
    tok.add_argument("--tenant", required=True, type=tenant_id)
    tok.add_argument("--roles", default="viewer")
    tok.add_argument("--ttl", type=int, default=12 * 3600)
    tok.set_defaults(func=cmd_token)
    demo = sub.add_parser("demo-data", help="print reproducible demo JSON Lines")
    demo.add_argument("--tenant", required=True, type=tenant_id)
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--per-day", type=float, default=30.0, help="new contacts per weekday")
    demo.add_argument("--timezone")
    demo.set_defaults(func=cmd_demo)
    qua = sub.add_parser("quarantine", help="list a tenant's rejected lines with reasons")
    qua.add_argument("--tenant", required=True, type=tenant_id)
    qua.add_argument("--limit", type=int, default=1000)
    qua.set_defaults(func=cmd_quarantine)
    ten = sub.add_parser("tenants", help="each tenant with its cursor and freshness")
    ten.set_defaults(func=cmd_tenants)
    cost = sub.add_parser("costs", help="per-tenant AWS cost of a month (finance)")
    cost.add_argument("--month", default=time.strftime("%Y-%m", time.gmtime()), help="YYYY-MM (UTC)")
    cost.add_argument("--price-region", default=None, help="price table region (default: the stack's)")
    cost.add_argument("--csv", action="store_true", help="CSV instead of a table")
    cost.set_defaults(func=cmd_costs)
    audit.add_parser(sub, tenant_id, _store)
    return p


LOCAL_ONLY = ("local", "token", "demo-data")  # commands that need no running stack


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import NoCredentialsError

    from mediana_cli.target import TargetError

    args = parser().parse_args(argv)
    try:
        if args.command not in LOCAL_ONLY:
            _target(args)
        return int(args.func(args))
    except TargetError as exc:
        print(f"mediana: {exc}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("mediana: no AWS credentials: pass --profile, set AWS_PROFILE, or run `aws sso login`", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
