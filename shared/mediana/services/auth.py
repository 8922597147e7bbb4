"""Bearer tokens, verified by the API function itself (locally and on AWS alike, so every
401 has the documented shape and CORS headers: an HTTP API's JWT authorizer answers
``{"message": "Unauthorized"}`` and cannot be customised). joserfc checks the signature
and ``exp``/``nbf``/``iat``/``iss``/``aud``: RS256/ES256 against the identity provider's
JWKS (``JWKS_URL``), or HS256 with a shared key where one is configured (the local stack's
tokens, ``mint``)."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mediana.domain.records import valid_tenant_id

LOCAL_ISSUER = "mediana-local"
LOCAL_AUDIENCE = "mediana"
DEFAULT_LOCAL_SECRET = "mediana-local-development-key"
ROLES = ("viewer", "admin", "finance")
LEEWAY_S = 60  # clock skew allowed on exp, nbf and iat
JWKS_REFETCH_S = 60  # an unknown key id fetches the key set again, at most this often
JWKS_MAX_BYTES = 1 << 20
ASYMMETRIC = ("RS256", "ES256")


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


@dataclass(frozen=True)
class TokenRules:
    """Which tokens the API accepts."""

    issuer: str = LOCAL_ISSUER
    audience: str = LOCAL_AUDIENCE
    secret: str | None = None  # HS256 shared key; never set on AWS unless the operator asks
    jwks_url: str | None = None  # the identity provider's public keys (RS256/ES256)

    @classmethod
    def from_env(cls) -> TokenRules:
        """The local dev key is accepted only against a local endpoint (moto): a deployed
        function never takes tokens signed with a key printed in this repository."""
        local = bool(os.environ.get("AWS_ENDPOINT_URL"))
        return cls(
            issuer=os.environ.get("JWT_ISSUER") or LOCAL_ISSUER,
            audience=os.environ.get("JWT_AUDIENCE") or LOCAL_AUDIENCE,
            secret=os.environ.get("MEDIANA_JWT_SECRET") or (DEFAULT_LOCAL_SECRET if local else None),
            jwks_url=os.environ.get("JWKS_URL") or None,
        )


def local_secret() -> str:
    return os.environ.get("MEDIANA_JWT_SECRET", DEFAULT_LOCAL_SECRET)


def mint(tenant: Any, roles: Any, secret: str | None = None, ttl_s: int = 12 * 3600, **claims: Any) -> str:
    """A local HS256 token (the local stack's viewer and tests); ``claims`` override."""
    from joserfc import jwt
    from joserfc.jwk import OctKey

    now = int(time.time())
    body = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": f"local:{tenant}",
        "tenant_id": tenant,
        "roles": roles,
        "iat": now,
        "exp": now + ttl_s,
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, body, OctKey.import_key(secret or local_secret()))


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


def _header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise AuthError(401, "malformed token") from None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise AuthError(401, "malformed token")
    return header


class _Jwks:
    """The identity provider's key set, fetched once per container; an unknown key id
    (the provider rotated its keys) fetches it again, at most once a minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[Any, float]] = {}

    def key_set(self, url: str, kid: str | None) -> Any:
        with self._lock:
            found = self._sets.get(url)
            if found and (kid is None or _has_kid(found[0], kid) or time.monotonic() - found[1] < JWKS_REFETCH_S):
                return found[0]
            keys = self._fetch(url)
            self._sets[url] = (keys, time.monotonic())
            return keys

    @staticmethod
    def _fetch(url: str) -> Any:
        from joserfc.jwk import KeySet

        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - the operator's URL
                return KeySet.import_key_set(json.loads(response.read(JWKS_MAX_BYTES)))
        except Exception as exc:  # noqa: BLE001 - any failure means: cannot verify now
            reason = f"the identity provider's keys are unavailable ({type(exc).__name__})"
            raise AuthError(503, reason, "keys_unavailable") from None

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


def _has_kid(key_set: Any, kid: str) -> bool:
    return any(k.kid == kid for k in key_set.keys)


JWKS = _Jwks()

_CLAIM_MESSAGES = {"iss": "wrong token issuer", "aud": "wrong token audience"}


def verify(token: str, rules: TokenRules | None = None) -> dict[str, Any]:
    """The claims of a valid token; AuthError(401) naming what is wrong otherwise."""
    from joserfc import jwt
    from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
    from joserfc.jwk import OctKey

    rules = rules or TokenRules.from_env()
    header = _header(token)
    alg = header.get("alg")
    key: Any
    if alg == "HS256" and rules.secret:
        key = OctKey.import_key(rules.secret)
    elif alg in ASYMMETRIC and rules.jwks_url:
        kid = header.get("kid")
        key = JWKS.key_set(rules.jwks_url, kid if isinstance(kid, str) else None)
    else:
        raise AuthError(401, f"unsupported token algorithm {str(alg)[:20]!r}")
    try:
        claims = jwt.decode(token, key, algorithms=[str(alg)]).claims
    except (JoseError, ValueError, TypeError, UnicodeDecodeError):
        raise AuthError(401, "bad token signature or encoding") from None
    if not isinstance(claims, dict):
        raise AuthError(401, "malformed token claims")
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": rules.issuer},
        aud={"essential": True, "value": rules.audience},
        exp={"essential": True},
    )
    for name in ("exp", "nbf", "iat"):  # NumericDate: a number, never a string or a boolean
        if name in claims and isinstance(claims[name], bool):
            raise AuthError(401, f"token claim {name!r} is not a NumericDate")
    try:
        registry.validate(claims)
    except MissingClaimError as exc:
        raise AuthError(401, f"token lacks the claim {exc.claim}") from None
    except ExpiredTokenError:
        raise AuthError(401, "token expired") from None
    except ClaimError as exc:
        message = _CLAIM_MESSAGES.get(exc.claim) or f"token claim {exc.claim!r}: {exc.description}"
        raise AuthError(401, message) from None
    return dict(claims)


def _roles(value: Any) -> frozenset[str]:
    """Exact role names only: the claim is a list of them, or one name. Anything else
    (a space- or comma-joined string, another case) grants nothing."""
    names = value if isinstance(value, list) else [value]
    return frozenset(n for n in names if isinstance(n, str) and n in ROLES)


def principal_from_claims(claims: Mapping[str, Any] | None) -> Principal:
    """The caller, from verified claims. The tenant comes from here
    only, never from a request parameter, and must be a tenant id of the contract."""
    if not claims or claims.get("tenant_id") in (None, ""):
        raise AuthError(401, "the token has no tenant_id")
    tenant = claims["tenant_id"]
    if not valid_tenant_id(tenant):
        raise AuthError(403, "the token's tenant_id is not 1-64 characters of [A-Za-z0-9_-]", "invalid_tenant")
    subject = claims.get("sub")
    return Principal(tenant, _roles(claims.get("roles")), str(subject) if subject else None)


def authenticate(authorization: str | None, rules: TokenRules | None = None) -> Principal:
    """The caller of a request, from its Authorization header."""
    return principal_from_claims(verify(bearer_token(authorization), rules))
