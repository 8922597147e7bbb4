"""Bearer tokens. On AWS the HTTP API's JWT authorizer verifies them and the
function reads the verified claims; locally the stack verifies HS256 tokens
signed with a local key (``mint``/``verify``), then passes claims the same way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mediana.records import valid_tenant_id

LOCAL_ISSUER = "mediana-local"
LOCAL_AUDIENCE = "mediana"
DEFAULT_LOCAL_SECRET = "mediana-local-development-key"
ROLES = ("viewer", "admin", "finance")


class AuthError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or ("unauthorized" if status == 401 else "forbidden")


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    roles: frozenset[str]
    subject: str | None = None

    def require(self, *roles: str) -> None:
        if not self.roles.intersection(roles):
            raise AuthError(403, f"this needs the role {' or '.join(roles)}")


def local_secret() -> str:
    return os.environ.get("MEDIANA_JWT_SECRET", DEFAULT_LOCAL_SECRET)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(tenant: str, roles: list[str], secret: str | None = None, ttl_s: int = 12 * 3600) -> str:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": f"local:{tenant}",
        "tenant_id": tenant,
        "roles": roles,
        "iat": now,
        "exp": now + ttl_s,
    }
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = hmac.new((secret or local_secret()).encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(sig)}"


def verify(token: str, secret: str | None = None) -> dict[str, Any]:
    """Claims of a locally minted token; AuthError(401) when it is not valid."""
    try:
        head, body, sig = token.split(".")
        header = json.loads(_unb64(head))
        claims = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError):
        raise AuthError(401, "malformed token") from None
    if header.get("alg") != "HS256":
        raise AuthError(401, "unsupported token algorithm")
    expected = hmac.new((secret or local_secret()).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(sig)):
        raise AuthError(401, "bad token signature")
    if claims.get("iss") != LOCAL_ISSUER or claims.get("aud") != LOCAL_AUDIENCE:
        raise AuthError(401, "wrong token issuer or audience")
    if int(claims.get("exp", 0)) < time.time():
        raise AuthError(401, "token expired")
    return dict(claims)


_GATEWAY_ARRAY = re.compile(r"\[([a-z]+(?: [a-z]+)*)?\]")


def _roles(value: Any) -> frozenset[str]:
    """Exact role names only. A token's claim is a list of them (or one name); API
    Gateway's JWT authorizer hands an array claim on flattened as "[a b]", which is
    taken in exactly that form. Anything else grants nothing."""
    if isinstance(value, list):
        names = value
    elif isinstance(value, str) and (flat := _GATEWAY_ARRAY.fullmatch(value)):
        names = (flat.group(1) or "").split(" ")
    elif isinstance(value, str):
        names = [value]
    else:
        names = []
    return frozenset(n for n in names if isinstance(n, str) and n in ROLES)


def principal_from_claims(claims: Mapping[str, Any] | None) -> Principal:
    """The caller, from claims an authorizer verified. The tenant comes from here
    only, never from a request parameter, and must be a tenant id of the contract."""
    if not claims or claims.get("tenant_id") in (None, ""):
        raise AuthError(401, "missing or invalid bearer token")
    tenant = claims["tenant_id"]
    if not valid_tenant_id(tenant):
        raise AuthError(403, "the token's tenant_id is not 1-64 characters of [A-Za-z0-9_-]", "invalid_tenant")
    subject = claims.get("sub")
    return Principal(tenant, _roles(claims.get("roles")), str(subject) if subject else None)
