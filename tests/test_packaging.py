"""Each function loads the way Lambda loads it: its CodeUri, the layers template.yaml
gives it, the runtime's libraries; pandas, numpy and pyarrow only where the managed
pandas layer is attached. The list of functions comes from the template, so a new
function is covered without editing this test."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from mediana_cli.template import load_template

ROOT = Path(__file__).resolve().parents[1]
PANDAS_FAMILY = ("pandas", "numpy", "pyarrow")
NOT_DEPLOYED = ("mediana_cli", "moto", "pytest", "hypothesis")  # dev tools: in no layer


def _functions() -> list[tuple[str, dict[str, Any]]]:
    template = load_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    out = []
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **res["Properties"]}
        props["Layers"] = [*globals_.get("Layers", []), *res["Properties"].get("Layers", [])]
        props["Environment"] = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **res["Properties"].get("Environment", {}).get("Variables", {}),
        }
        out.append((name, props))
    return out


def _layer_dirs(layers: list[Any], template: dict[str, Any]) -> tuple[list[Path], bool]:
    """Our own layers' source folders, and whether the managed pandas layer is attached."""
    dirs, pandas = [], False
    for layer in layers:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        if ref == "PandasLayerArn":
            pandas = True
        elif ref in template["Resources"] and ref != "DependenciesLayer":
            dirs.append(ROOT / template["Resources"][ref]["Properties"]["ContentUri"])
    return dirs, pandas


LOADER = r"""
import importlib.abc, importlib.util, json, os, sys
code, layers, site, blocked = json.loads(sys.argv[1])
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in this function's layers)", name=name)
        return None
sys.meta_path.insert(0, Block())
sys.path[:0] = [code, *layers]
sys.path.append(site)  # stands in for the dependencies layer and the runtime's boto3
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
spec = importlib.util.spec_from_file_location("app", os.path.join(code, "app.py"))
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
assert callable(getattr(module, "handler"))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "numpy", "pyarrow"))[:3]))
"""


@pytest.mark.parametrize(("name", "props"), _functions(), ids=[n for n, _ in _functions()])
def test_each_function_imports_with_only_its_own_code_and_layers(name: str, props: dict[str, Any]) -> None:
    template = load_template()
    layers, has_pandas = _layer_dirs(props["Layers"], template)
    assert props["Handler"] == "app.handler"
    blocked = list(NOT_DEPLOYED) + ([] if has_pandas else list(PANDAS_FAMILY))
    env = {k: (v if isinstance(v, str) else "x") for k, v in props["Environment"].items()}
    args = [str(ROOT / props["CodeUri"]), [str(d) for d in layers], sysconfig.get_paths()["purelib"], blocked]
    # -S: no site-packages .pth files (the editable install would put shared/ and cli/ on the path)
    run = subprocess.run(
        [sys.executable, "-S", "-c", LOADER, json.dumps(args)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=120,
    )
    assert run.returncode == 0, f"{name} cannot start on Lambda:\n{run.stderr[-2000:]}"
    if not has_pandas:
        assert json.loads(run.stdout.strip().splitlines()[-1]) == []
