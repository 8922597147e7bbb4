"""Issue 9's first part, through the API handler on moto: the tenant claim must be a
tenant id of the contract, roles are exact names, finance is the operator's tenant
only, every route names an unknown parameter in a 400, If-None-Match follows RFC 9110,
and no tenant id can produce another tenant's storage key (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.domain.records import valid_tenant_id
from mediana.metering.meter import SHARED
from mediana.services.auth import mint
from mediana.storage import keys
from mediana_cli.local import call_api


def _call(method: str, path: str, tenant: Any, roles: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    token = mint(tenant, roles)
    status, _, body = call_api(method, path, {"Authorization": f"Bearer {token}", **(headers or {})})
    return status, json.loads(body) if body else None


BAD_TENANTS = [123, ["acme"], {"id": "acme"}, "acme#R", "acme/x", "..", "a" * 65, "a" * 10_000, "acme\n", " acme", "é"]


@pytest.mark.parametrize("tenant", BAD_TENANTS, ids=[repr(t)[:20] for t in BAD_TENANTS])
def test_a_token_whose_tenant_is_not_a_tenant_id_is_refused(stack: Any, tenant: Any) -> None:
    for method, path in (("GET", "/v1/reports"), ("GET", "/v1/reports/origins"), ("POST", "/v1/refresh")):
        status, body = _call(method, path, tenant, ["viewer", "admin"])
        assert status == 403 and body["error"]["code"] == "invalid_tenant", (method, path, body)


ROLE_CLAIMS = {
    "x finance": False,
    " finance ": False,
    "finance,admin": False,
    "Finance": False,
    "[finance admin]": False,  # the function reads the token itself: a list is a JSON list
    "finance": True,
}


@pytest.mark.parametrize("claim", list(ROLE_CLAIMS))
def test_roles_are_exact_names(stack: Any, claim: str) -> None:
    status, body = _call("GET", "/v1/costs", "ops", claim)
    assert (status == 200) == ROLE_CLAIMS[claim], (claim, status, body)


def test_a_token_without_a_reader_role_reads_nothing(stack: Any) -> None:
    for roles in ([], ["finance"], ["Viewer"], [["viewer"]]):
        status, body = _call("GET", "/v1/reports/origins", "acme", roles)
        assert status == 403 and body["error"]["code"] == "forbidden", roles
    assert _call("GET", "/v1/reports/origins", "acme", ["viewer"])[0] == 200


def test_finance_is_the_operator_tenants_role_only(stack: Any) -> None:
    status, body = _call("GET", "/v1/costs", "acme", ["finance"])
    assert status == 403 and "operator" in body["error"]["message"]
    assert _call("GET", "/v1/costs", "ops", ["finance"])[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "roles", "name"),
    [
        ("GET", "/v1/costs?tenant=x", ["finance"], "tenant"),
        ("GET", "/v1/reports?foo=1", ["viewer"], "foo"),
        ("GET", "/v1/reports/origins?foo=1", ["viewer"], "foo"),
        ("POST", "/v1/refresh?x=1", ["admin"], "x"),
        ("GET", "/v1/refresh/r-1?x=1", ["viewer"], "x"),
        ("GET", "/v1/dimensions?x=1", ["viewer"], "x"),
        ("GET", "/v1/costs?month=2026-11%0A", ["finance"], "month"),
        ("GET", "/v1/costs?month=2026-13", ["finance"], "month"),
        ("GET", "/v1/reports/origins?from=20260101xx&to=2026-01-02", ["viewer"], "from"),
    ],
)
def test_a_parameter_a_route_does_not_take_is_a_400_naming_it(
    stack: Any, method: str, path: str, roles: list[str], name: str
) -> None:
    status, body = _call(method, path, "ops", roles)
    assert status == 400 and body["error"]["parameter"] == name, body


def test_if_none_match_uses_weak_comparison_lists_and_star(stack: Any) -> None:
    token = mint("acme", ["viewer"])
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, _ = call_api("GET", "/v1/reports", auth)
    tag = headers["ETag"]
    for header, expected in (
        (tag, 304),
        (f"W/{tag}", 304),
        ("*", 304),
        (f'"other",{tag}', 304),
        (f' "other" ,  W/{tag} ', 304),
        ('"other"', 200),
        (tag[:-2] + '"', 200),
    ):
        assert call_api("GET", "/v1/reports", {**auth, "If-None-Match": header})[0] == expected, header


TENANT_IDS = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=64)


def _partitions(tenant: str, gen: int) -> set[str]:
    return {
        keys.tenant_pk(tenant),
        keys.quarantine_pk(tenant),
        keys.refresh_pk(tenant),
        *keys.generation_pks(tenant, gen),
        keys.incoming_prefix(tenant),
        keys.journal_prefix(tenant),
    }


@settings(max_examples=400, deadline=None)
@given(TENANT_IDS, TENANT_IDS, st.integers(0, 10**6), st.integers(0, 10**6), st.dates().map(str))
def test_no_two_tenants_share_a_key(a: str, b: str, gen_a: int, gen_b: int, day: str) -> None:
    """Every partition, S3 prefix and ledger key of one tenant differs from any of another's
    (any generation): the id alphabet leaves out '#' and '/', the keys' separators."""
    assert valid_tenant_id(a) and valid_tenant_id(b)
    if a == b:
        return
    assert not _partitions(a, gen_a) & _partitions(b, gen_b)
    assert not any(p.startswith(q) or q.startswith(p) for p in (keys.incoming_prefix(a), keys.journal_prefix(a))
                   for q in (keys.incoming_prefix(b), keys.journal_prefix(b)))  # fmt: skip
    ledger = {keys.costs_sk(a, day), keys.costs_sk(b, day), keys.costs_sk(SHARED, day)}
    assert len(ledger) == 3
    assert keys.tenant_of_incoming(keys.incoming_prefix(a) + "f.jsonl") == a


def test_no_tenant_can_book_into_the_shared_ledger_row() -> None:
    assert not valid_tenant_id(SHARED)
