"""Bearer tokens as the API function verifies them (joserfc): every registered claim
checked, RS256 against an identity provider's JWKS served over HTTP (rotation, outage),
no algorithm confusion, and every refusal in the documented error shape with CORS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from mediana.services import auth
from mediana.services.auth import AuthError, TokenRules, authenticate, mint, verify
from mediana_cli.local import call_api

SECRET = "a-test-key-of-thirty-two-bytes!!"
HS = TokenRules(secret=SECRET)
NOW = int(time.time())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(token: str, rules: TokenRules = HS) -> str:
    with pytest.raises(AuthError) as caught:
        verify(token, rules)
    assert caught.value.status == 401, caught.value
    return str(caught.value)


CLAIM_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "expired": ({"exp": NOW - 3600}, "expired"),
    "expired within the leeway is fine": ({"exp": NOW - 10}, ""),
    "exp as a string": ({"exp": str(NOW + 3600)}, "NumericDate"),
    "exp as a boolean": ({"exp": True}, "NumericDate"),
    "no exp": ({"exp": None}, "lacks the claim exp"),
    "nbf in the future": ({"nbf": NOW + 3600}, "not yet valid"),
    "nbf as a string": ({"nbf": "later"}, "NumericDate"),
    "iat in the future": ({"iat": NOW + 3600}, "issued in the future"),
    "iat as a list": ({"iat": [NOW]}, "NumericDate"),
    "another issuer": ({"iss": "https://evil.example/"}, "issuer"),
    "no issuer": ({"iss": None}, "lacks the claim iss"),
    "another audience": ({"aud": "other"}, "audience"),
    "the audience among others": ({"aud": ["other", auth.LOCAL_AUDIENCE]}, ""),
}


@pytest.mark.parametrize("case", list(CLAIM_CASES))
def test_registered_claims_are_checked(case: str) -> None:
    claims, reason = CLAIM_CASES[case]
    shift = int(time.time()) - NOW  # the cases are relative to collection time; a test may run minutes later
    claims = {k: v + shift if k in ("exp", "nbf", "iat") and type(v) is int else v for k, v in claims.items()}
    token = mint("acme", ["viewer"], secret=SECRET, **claims)
    if not reason:
        assert verify(token, HS)["tenant_id"] == "acme"
    else:
        assert reason in _refused(token), case


MALFORMED = [
    "",
    "a.b.c",
    "not-a-token",
    "WyJ4Il0.e30.c2ln",  # a JSON list as the header
    "bnVsbA.e30.c2ln",  # null as the header
    "eyJhbGciOiJIUzI1NiJ9.WzFd.c2ln",  # a list as the claims
    "eyJhbGciOiJub25lIn0.eyJ0ZW5hbnRfaWQiOiJhY21lIn0.",  # alg none
    "eyJhbGciOiJIUzI1NiJ9." + "A" * 5000 + ".x",
    "a.b.c.d.e",
]


@pytest.mark.parametrize("token", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_tokens_are_401_never_a_crash(token: str) -> None:
    _refused(token)


def test_a_token_signed_with_another_key_is_refused() -> None:
    assert "signature" in _refused(mint("acme", ["viewer"], secret="another-key-of-thirty-two-bytes!"))


def test_the_local_key_is_only_taken_against_a_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIANA_JWT_SECRET", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert TokenRules.from_env().secret == auth.DEFAULT_LOCAL_SECRET
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    deployed = TokenRules.from_env()
    assert deployed.secret is None
    assert "algorithm" in _refused(mint("acme", ["viewer"]), deployed)  # a repository key is no key on AWS


def test_the_bearer_scheme_is_required() -> None:
    token = mint("acme", ["viewer"], secret=SECRET)
    assert authenticate(f"Bearer {token}", HS).tenant_id == "acme"
    assert authenticate(f"bearer   {token} ", HS).tenant_id == "acme"  # the scheme is case-insensitive
    for header in (None, "", token, f"Basic {token}", "Bearer", "Bearer  "):
        with pytest.raises(AuthError) as caught:
            authenticate(header, HS)
        assert caught.value.status == 401


# ---- an identity provider: RS256/ES256 keys published as a JWKS over HTTP ----------------


class IdentityProvider:
    issuer = "https://idp.example/"

    def __init__(self) -> None:
        self.keys: list[Any] = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]  # RSA, and EC keys later
        self.fetches = 0
        self.down = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                provider.fetches += 1
                if provider.down:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": [k.as_dict(private=False) for k in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.rules = TokenRules(
            issuer=self.issuer, audience="mediana", jwks_url=f"http://127.0.0.1:{self.server.server_port}/jwks"
        )

    def token(self, key: Any = None, alg: str = "RS256", **claims: Any) -> str:
        key = key or self.keys[0]
        body = {"iss": self.issuer, "aud": "mediana", "sub": "u1", "tenant_id": "acme", "roles": ["viewer"],
                "iat": NOW, "exp": NOW + 600, **claims}  # fmt: skip
        return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    auth.JWKS.clear()
    provider = IdentityProvider()
    yield provider
    provider.server.shutdown()
    auth.JWKS.clear()


def test_rs256_tokens_verify_against_the_jwks_fetched_once(idp: IdentityProvider) -> None:
    for _ in range(3):
        assert verify(idp.token(), idp.rules)["sub"] == "u1"
    assert idp.fetches == 1  # cached per container


def test_es256_keys_are_taken_too(idp: IdentityProvider) -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "e1"})
    idp.keys.append(ec)
    auth.JWKS.clear()
    assert verify(idp.token(ec, alg="ES256"), idp.rules)["tenant_id"] == "acme"


def test_a_rotated_key_refetches_the_jwks_at_most_once_a_minute(
    idp: IdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify(idp.token(), idp.rules)
    new = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    idp.keys.append(new)
    clock = [time.monotonic()]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    assert "signature" in _refused(idp.token(new), idp.rules)  # just fetched: not again yet
    clock[0] += auth.JWKS_REFETCH_S + 1
    assert verify(idp.token(new), idp.rules)["sub"] == "u1"
    assert idp.fetches == 2


def test_a_key_the_provider_never_published_is_refused(idp: IdentityProvider) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, other key
    assert "signature" in _refused(idp.token(stranger), idp.rules)


def test_an_unreachable_jwks_is_a_503_not_a_401(idp: IdentityProvider) -> None:
    idp.down = True
    with pytest.raises(AuthError) as caught:
        verify(idp.token(), idp.rules)
    assert caught.value.status == 503 and caught.value.code == "keys_unavailable"


def test_no_algorithm_confusion(idp: IdentityProvider) -> None:
    """An HS256 token whose key is the provider's public key, and an RS256 token where
    only a shared key is configured, are both refused."""
    public_pem = idp.keys[0].as_pem(private=False)  # joserfc refuses it as an HMAC key: forge by hand
    head = _b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    body = _b64(json.dumps({"iss": idp.issuer, "aud": "mediana", "exp": NOW + 60, "tenant_id": "acme"}).encode())
    sig = _b64(hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    forged = f"{head}.{body}.{sig}"
    assert "algorithm" in _refused(forged, idp.rules)
    assert "algorithm" in _refused(idp.token(), HS)


# ---- through the handler: the documented error shape, with CORS ------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer a.b.c", "Bearer " + mint("acme", ["viewer"], exp=NOW - 3600), "Basic dXNlcjpwdw=="],
)
def test_every_401_has_the_error_shape_and_cors_headers(stack: Any, authorization: str | None) -> None:
    origin = "http://localhost:8080"
    headers = {"Origin": origin} | ({"Authorization": authorization} if authorization else {})
    status, out, body = call_api("GET", "/v1/reports/origins", headers)
    assert status == 401, body
    error = json.loads(body)["error"]
    assert error["code"] == "unauthorized" and error["message"]
    assert out["Access-Control-Allow-Origin"] in (origin, "*")  # the configured origin (locally: any)
    assert out["WWW-Authenticate"].startswith("Bearer ")
    assert out["Cache-Control"] == "no-store"


def test_a_forbidden_role_is_a_403_with_cors_headers(stack: Any) -> None:
    headers = {"Origin": "http://localhost:8080", "Authorization": f"Bearer {mint('acme', ['viewer'])}"}
    status, out, body = call_api("POST", "/v1/refresh", headers)
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    assert out["Access-Control-Allow-Origin"] in ("http://localhost:8080", "*")


def test_a_bug_is_a_500_in_the_error_shape_with_cors_headers(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediana_cli import handlers

    api = handlers.function("api")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "get_report", broken)
    headers = {"Origin": "http://localhost:8080", "Authorization": f"Bearer {mint('acme', ['viewer'])}"}
    status, out, body = call_api("GET", "/v1/reports/origins", headers)
    assert status == 500 and json.loads(body) == {"error": {"code": "internal", "message": "internal error"}}
    assert out["Access-Control-Allow-Origin"] in ("http://localhost:8080", "*")
