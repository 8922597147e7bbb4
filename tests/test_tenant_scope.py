"""Isolation enforced by IAM too (issue 9): the API reads and writes a tenant's partitions only
with credentials of TenantAccessRole assumed with that tenant's session tag, and the policy in
template.yaml admits exactly those partitions.

moto enforces no IAM (its STS ignores tags, its DynamoDB checks no condition), so every AWS
call the API makes is recorded with the access key that signed it, and each DynamoDB request is
judged against the template's own ``dynamodb:LeadingKeys`` conditions, the principal tag
substituted as IAM would: the code must use the scoped credentials, and the policy must both
admit that real traffic and refuse any other tenant's key."""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mediana.services import tenancy
from mediana.services.auth import mint
from mediana.services.tenancy import TAG, default_tenant_stores
from mediana.storage import keys
from mediana_cli.local import call_api, upload
from mediana_cli.template import load_template
from test_pipeline_moto import _today, lines

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def _statements(policy_doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy_doc["Statement"] if s["Effect"] == "Allow"]


def _state_table_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if s.get("Resource") == {"Fn::GetAtt": ["StateTable", "Arn"]}]


TENANT_RULES = _state_table_statements(
    _statements(RESOURCES["TenantAccessRole"]["Properties"]["Policies"][0]["PolicyDocument"])
)
FUNCTION_RULES = _state_table_statements(_statements(RESOURCES["ApiFunction"]["Properties"]["Policies"][0]))


def allowed(rules: list[dict[str, Any]], action: str, leading: set[str], tags: dict[str, str]) -> bool:
    """IAM's verdict on one DynamoDB request: some Allow statement lists the action and, under
    ForAllValues:StringLike, every leading key matches one of its patterns (policy variables
    ${aws:PrincipalTag/...} substituted; StringLike is case-sensitive, * and ? wildcards)."""
    for rule in rules:
        actions = rule["Action"] if isinstance(rule["Action"], list) else [rule["Action"]]
        if f"dynamodb:{action}" not in actions:
            continue
        patterns = rule["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        resolved = []
        for pattern in patterns:
            for tag, value in tags.items():
                pattern = pattern.replace(f"${{aws:PrincipalTag/{tag}}}", value)
            if "${" in pattern:  # an unresolved variable matches nothing
                continue
            resolved.append(pattern)
        if leading and all(any(fnmatch.fnmatchcase(k, p) for p in resolved) for k in leading):
            return True
    return False


def leading_keys(params: dict[str, Any], table: str) -> set[str]:
    """The partition keys a DynamoDB request touches (what dynamodb:LeadingKeys holds)."""
    found: set[str] = set()
    for field in ("Key", "Item"):
        if field in params:
            found.add(params[field]["pk"]["S"])
    if "RequestItems" in params:
        for entry in params["RequestItems"].get(table, {}).get("Keys", []):
            found.add(entry["pk"]["S"])
    if "KeyConditionExpression" in params:
        found.add(params["ExpressionAttributeValues"][":pk"]["S"])
    return found


class Recorder:
    """Every AWS call made in the test process: operation, parameters, signing key."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any], str]] = []
        self.tenant_of_key: dict[str, str] = {}  # assumed-role access key -> its session tag


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = Recorder()
    original = botocore.client.BaseClient._make_api_call
    # an empty credentials cache, as in a new container: every key in use is one this test saw assumed
    monkeypatch.setattr(tenancy, "_DEFAULT", None)

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        result = original(client, operation, params)
        service = client.meta.service_model.service_name
        access_key = client._request_signer._credentials.get_frozen_credentials().access_key
        rec.calls.append((service, operation, params, access_key))
        if service == "sts" and operation == "AssumeRole":
            tags = {t["Key"]: t["Value"] for t in params.get("Tags", [])}
            rec.tenant_of_key[result["Credentials"]["AccessKeyId"]] = tags[TAG]
        return result

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield rec


def _api(method: str, path: str, tenant: str, role: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    auth = {"Authorization": f"Bearer {mint(tenant, [role])}", **(headers or {})}
    status, _, body = call_api(method, path, auth)
    return status, (json.loads(body) if body and isinstance(body, str) and body.startswith(("{", "[")) else body)


def _a_session_of_the_spa(tenant: str, day: str) -> None:
    """What a tenant's users do: every tenant route, presets and a custom range, a refresh."""
    for path in ("/v1/reports", "/v1/reports/response-time?range=today", "/v1/dimensions",
                 f"/v1/reports/response-time?from={day}&to={day}", "/v1/reports/calls-per-contact",
                 "/v1/reports/origins?range=last_7_days&origin=unknown"):  # fmt: skip
        assert _api("GET", path, tenant, "viewer")[0] == 200, path
    status, body = _api("POST", "/v1/refresh", tenant, "admin", {"Idempotency-Key": f"k-{tenant}"})
    assert status == 202, body
    assert _api("GET", f"/v1/refresh/{body['refresh_id']}", tenant, "viewer")[0] == 200
    assert _api("POST", "/v1/refresh", tenant, "admin")[0] in (202, 429)


def test_the_api_touches_each_tenants_partitions_only_with_that_tenants_credentials(
    stack: Any, recorder: Recorder
) -> None:
    day = _today()
    for tenant in ("acme", "globex"):
        upload(stack.store, tenant, f"{tenant}.jsonl", lines(tenant, day, "30"))
    stack.pump.drain()
    recorder.calls.clear()
    for tenant in ("acme", "globex"):
        _a_session_of_the_spa(tenant, day)
    assert _api("GET", "/v1/costs?month=" + day[:7], "ops", "finance")[0] == 200

    table = stack.store.cfg.state_table
    scoped = {"acme": 0, "globex": 0}
    own_keys: set[str] = set()
    for service, operation, params, access_key in recorder.calls:
        if service != "dynamodb" or (params.get("TableName") != table and table not in params.get("RequestItems", {})):
            continue
        touched = leading_keys(params, table)
        owner = recorder.tenant_of_key.get(access_key)
        if owner is not None:
            assert allowed(TENANT_RULES, operation, touched, {TAG: owner}), (owner, operation, touched)
            scoped[owner] += 1
        else:  # the function's own role: the cost ledger only
            assert allowed(FUNCTION_RULES, operation, touched, {}), (operation, touched)
            own_keys |= touched
    assert scoped["acme"] >= 10 and scoped["globex"] >= 10, scoped
    assert own_keys and all(k.startswith("COST#") for k in own_keys)
    assert sorted(recorder.tenant_of_key.values()) == ["acme", "globex"]  # one AssumeRole per tenant, cached


def test_a_bug_that_names_another_tenants_key_is_denied_by_the_policy(stack: Any, recorder: Recorder) -> None:
    """The application check is bypassed on purpose: acme's scoped Store asked for globex's
    items. The request goes out signed with acme's credentials, and IAM would refuse it."""
    acme = default_tenant_stores(stack.store).for_tenant("acme")
    recorder.calls.clear()
    acme.get_state("globex")
    acme.get_refresh("globex", "r-1")
    acme.get_docs(keys.presets_pk("globex", 0), ["last_7_days#rt"])
    table = stack.store.cfg.state_table
    judged = 0
    for service, operation, params, access_key in recorder.calls:
        if service == "dynamodb":
            assert recorder.tenant_of_key.get(access_key) == "acme"
            assert not allowed(TENANT_RULES, operation, leading_keys(params, table), {TAG: "acme"}), params
            judged += 1
    assert judged == 3


def test_the_functions_own_role_reaches_no_tenant_partition() -> None:
    for pk in (keys.tenant_pk("acme"), keys.presets_pk("acme", 0), keys.refresh_pk("acme"), "T#*"):
        for action in ("GetItem", "Query", "UpdateItem", "PutItem", "BatchGetItem", "DeleteItem", "Scan"):
            assert not allowed(FUNCTION_RULES, action, {pk}, {}), (action, pk)
    assert not allowed(TENANT_RULES, "Scan", {"T#acme"}, {TAG: "acme"})  # no Scan: it has no leading key
    assert not allowed(TENANT_RULES, "GetItem", {"T#acme"}, {})  # no tag, no access


def test_the_role_trusts_only_the_api_functions_role_and_needs_the_tag() -> None:
    trust = RESOURCES["TenantAccessRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"AWS": {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}}]
    assert all(s["Condition"]["StringLike"][f"aws:RequestTag/{TAG}"] == "?*" for s in trust)
    grant = RESOURCES["ApiAssumeTenantRolePolicy"]["Properties"]
    assert grant["Roles"] == [{"Ref": "ApiFunctionRole"}]
    assert grant["PolicyDocument"]["Statement"][0]["Resource"] == {"Fn::GetAtt": ["TenantAccessRole", "Arn"]}
    env = RESOURCES["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TENANT_ROLE_ARN"] == {"Fn::GetAtt": ["TenantAccessRole", "Arn"]}


TENANT_IDS = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=64)


@settings(max_examples=300, deadline=None)
@given(TENANT_IDS, TENANT_IDS, st.integers(0, 10**6))
def test_no_tenant_tag_admits_another_tenants_partition(a: str, b: str, gen: int) -> None:
    own = {keys.tenant_pk(a), keys.quarantine_pk(a), keys.refresh_pk(a), *keys.generation_pks(a, gen)}
    assert allowed(TENANT_RULES, "Query", own, {TAG: a})
    if a != b:
        for pk in (keys.tenant_pk(b), keys.quarantine_pk(b), keys.refresh_pk(b), *keys.generation_pks(b, gen)):
            assert not allowed(TENANT_RULES, "Query", {pk}, {TAG: a}), (a, pk)
            assert not allowed(TENANT_RULES, "BatchGetItem", {keys.tenant_pk(a), pk}, {TAG: a})


def test_credentials_are_cached_renewed_before_expiry_and_bounded(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    offset = [0.0]
    stores = tenancy.TenantStores(stack.store, os.environ["TENANT_ROLE_ARN"], clock=lambda: time.time() + offset[0])
    first = stores.for_tenant("acme")
    assert stores.for_tenant("acme") is first and stores.assumed == 1
    offset[0] = tenancy.SESSION_SECONDS - tenancy.RENEW_BEFORE_S + 1  # inside the renewal window
    renewed = stores.for_tenant("acme")
    assert renewed is not first and stores.assumed == 2
    assert renewed.ddb is not first.ddb and renewed.get_refresh("acme", "r-none") is None  # a working new client
    monkeypatch.setattr(tenancy, "MAX_TENANTS", 3)
    for tenant in ("t1", "t2", "t3"):
        stores.for_tenant(tenant)
    assert "acme" not in stores._stores and len(stores._stores) == 3  # least recently used dropped
    with pytest.raises(ValueError):
        stores.for_tenant("acme#R")
    assert tenancy.TenantStores(stack.store, None).for_tenant("acme") is stack.store  # no role: unscoped
