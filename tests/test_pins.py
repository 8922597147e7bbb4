"""What Lambda runs and what the tests run are the same versions: the lock, the layer pins,
the managed pandas layer's release and the template that names it must agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from mediana_cli import lambda_env
from mediana_cli.template import load_template

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_SDK = set(lambda_env.RUNTIME_SDK)  # what the python3.12 runtime ships


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(lock_path: Path = ROOT / "uv.lock") -> dict[str, dict]:
    lock = tomllib.loads(lock_path.read_text())
    return {_norm(p["name"]): p for p in lock["package"]}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[_norm(name.split("[")[0])] = version
    return pins


def _release(text: str) -> str:
    found = re.search(r"AWS SDK for pandas\"? (\d+\.\d+\.\d+)", text)
    assert found, "no 'AWS SDK for pandas X.Y.Z' named"
    return found.group(1)


def test_the_managed_pandas_layer_pins_are_the_locked_versions() -> None:
    locked = _locked()
    pins = _pins(ROOT / "layers" / "managed-pandas.txt")
    assert set(pins) == {"pandas", "numpy", "pyarrow"}
    assert {n: locked[n]["version"] for n in pins} == pins


def test_the_template_names_the_release_those_pins_come_from() -> None:
    template_text = (ROOT / "template.yaml").read_text()
    assert _release(template_text) == _release((ROOT / "layers" / "managed-pandas.txt").read_text())
    arns = [v["Arn"] for v in load_template()["Mappings"]["PandasLayer"].values()]
    assert arns and all(":layer:AWSSDKPandas-Python312-Arm64:" in arn for arn in arns)  # runtime + architecture


@pytest.mark.parametrize("folder", sorted(lambda_env.PINNED_LAYERS.values()))
def test_each_pinned_layer_is_the_locked_closure_without_the_runtime_sdk(folder: str) -> None:
    locked = _locked()
    pins = _pins(ROOT / "layers" / folder / "requirements.txt")
    assert {n: locked[n]["version"] for n in pins} == pins
    assert not set(pins) & RUNTIME_SDK
    wanted = set(pins) | RUNTIME_SDK
    for name in pins:
        for dep in locked[name].get("dependencies", []):
            assert _norm(dep["name"]) in wanted, f"{name} needs {dep['name']}, which no layer or runtime has"
    if folder == "deps":
        tracer = locked["aws-lambda-powertools"]["optional-dependencies"]["tracer"]
        assert {_norm(d["name"]) for d in tracer} <= wanted  # the Tracer is used


def test_every_pinned_layer_is_in_the_template_and_built() -> None:
    resources = load_template()["Resources"]
    for layer, folder in lambda_env.PINNED_LAYERS.items():
        assert resources[layer]["Properties"]["ContentUri"] == f"layers/{folder}/"
        assert f"build-{layer}:" in (ROOT / "layers" / folder / "Makefile").read_text()


def test_the_app_pins_are_the_locked_versions() -> None:
    locked = _locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, _, version = requirement.partition("==")
        if version:
            assert locked[_norm(name.split("[")[0])]["version"] == version, requirement


def test_each_tool_environment_is_locked_at_its_pin() -> None:
    for tool in sorted((ROOT / "tools").glob("*/pyproject.toml")):
        locked = _locked(tool.parent / "uv.lock")
        for requirement in tomllib.loads(tool.read_text())["project"]["dependencies"]:
            name, _, version = requirement.partition("==")
            assert version and locked[_norm(name)]["version"] == version, f"{tool.parent.name}: {requirement}"
