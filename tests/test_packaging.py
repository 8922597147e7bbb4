"""Each function loads the way Lambda loads it (mediana_cli.lambda_env): its CodeUri, the
layers template.yaml gives it and the runtime's SDK, nothing else; pandas, numpy and pyarrow
only where the managed pandas layer is attached. The functions come from the template, so a
new one is covered without editing this test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mediana_cli.lambda_env import Function, build_layers, functions, import_path, run_python

LOAD_HANDLER = r"""
import importlib, json
module_name, attr = sys.argv[1].rsplit(".", 1)
module = importlib.import_module(module_name)
assert callable(getattr(module, attr)), sys.argv[1]
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "numpy", "pyarrow"))[:3]))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_layers(tmp_path_factory.mktemp("lambda"))


@pytest.mark.parametrize("function", functions(), ids=lambda f: f.name)
def test_each_function_imports_with_only_its_own_code_and_layers(function: Function, built: dict[str, Path]) -> None:
    run = run_python(LOAD_HANDLER, import_path(function, built), function.environment, [function.handler])
    assert run.returncode == 0, f"{function.name} cannot start on Lambda:\n{run.stderr[-2000:]}"
    if not function.has_pandas_layer:
        assert json.loads(run.stdout.strip().splitlines()[-1]) == []


def test_the_dependencies_layer_carries_no_sdk_of_its_own(built: dict[str, Path]) -> None:
    """The runtime's boto3/botocore must be the only ones: a layer copy would shadow them."""
    tops = {p.name.split("-")[0].lower() for p in built["DependenciesLayer"].iterdir()}
    assert "pydantic" in tops
    assert not tops & {"boto3", "botocore", "s3transfer", "urllib3"}


VERIFY_TOKENS = r"""
from joserfc import jwt
from joserfc.jwk import RSAKey
from mediana.services import auth
key = "k" * 32
assert auth.verify(auth.mint("acme", ["viewer"], secret=key), auth.TokenRules(secret=key))["tenant_id"] == "acme"
rsa = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # cryptography's native code
token = jwt.encode({"alg": "RS256", "kid": "k1"}, {"tenant_id": "acme"}, rsa)
assert jwt.decode(token, RSAKey.import_key(rsa.as_dict(private=False))).claims["tenant_id"] == "acme"
print("verified")
"""


def test_the_api_verifies_tokens_with_only_its_own_layers(built: dict[str, Path]) -> None:
    """joserfc is imported on the first request, not at import: load it the way Lambda would."""
    api = next(f for f in functions() if f.name == "ApiFunction")
    run = run_python(VERIFY_TOKENS, import_path(api, built), api.environment)
    assert run.returncode == 0 and "verified" in run.stdout, run.stderr[-2000:]
    tops = {p.name.split("-")[0].lower() for p in built["AuthLayer"].iterdir()}
    assert {"joserfc", "cryptography"} <= tops and not tops & {"boto3", "botocore"}
