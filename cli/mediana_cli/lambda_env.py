"""A function's import path as Lambda builds it, on this machine: its CodeUri, a folder for
each layer the template attaches, the runtime's SDK last, and no site-packages. The packaging
test loads every handler through it; bench/cold_start.py times the API's import in it.

Each pinned layer (deps, auth) is installed afresh from its layers/*/requirements.txt with
--no-deps (as its sam build does, for this machine's platform), so a package missing from its
pinned closure is missing here too; the managed pandas layer is pandas, numpy and pyarrow."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediana_cli.template import ROOT, load_template

RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
MANAGED_PANDAS = ("pandas", "numpy", "pyarrow")


@dataclass
class Function:
    name: str
    code: Path
    handler: str
    layers: list[Any]
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def has_pandas_layer(self) -> bool:
        return any(_is_managed_pandas(layer) for layer in self.layers)


def _is_managed_pandas(layer: Any) -> bool:
    """The aggregator's managed layer: an ARN from the PandasLayer mapping or its override."""
    return "PandasLayer" in json.dumps(layer)


def functions(template: dict[str, Any] | None = None) -> list[Function]:
    """Every AWS::Serverless::Function, with the Globals merged in as SAM merges them."""
    template = template or load_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    out = []
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        env = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        out.append(
            Function(
                name=name,
                code=ROOT / props["CodeUri"],
                handler=props.get("Handler", globals_.get("Handler", "")),
                layers=[*globals_.get("Layers", []), *props.get("Layers", [])],
                environment={k: (v if isinstance(v, str) else "x") for k, v in env.items()},
            )
        )
    return out


def _link_distributions(names: tuple[str, ...], into: Path) -> Path:
    """A folder holding exactly these installed distributions (links to their top-level entries)."""
    into.mkdir(parents=True)
    for name in names:
        for file in importlib.metadata.distribution(name).files or []:
            top, source = file.parts[0], Path(str(file.locate()))
            for _ in file.parts[1:]:
                source = source.parent
            if top != ".." and not (into / top).is_symlink():
                (into / top).symlink_to(source)
    return into


PINNED_LAYERS = {"DependenciesLayer": "deps", "AuthLayer": "auth"}  # layers/<dir>/requirements.txt, built --no-deps


def build_layers(base: Path) -> dict[str, Path]:
    """Stand-ins for each pinned layer, the managed pandas layer and the runtime's SDK."""
    uv = ROOT / ".venv-uv" / "bin" / "uv"  # `make` installs it; uv.lock pins the same versions, so
    if not uv.exists():  # the wheels come from uv's cache (tests/test_pins.py keeps them equal)
        raise RuntimeError(f"{uv} is missing: run `make test` (it installs uv) instead of pytest alone")
    built: dict[str, Path] = {}
    for layer, folder in PINNED_LAYERS.items():
        target = base / f"{folder}-layer"
        cmd = [str(uv), "pip", "install", "--quiet", "--no-deps", "--python", sys.executable, "--target", str(target)]
        subprocess.run([*cmd, "-r", str(ROOT / "layers" / folder / "requirements.txt")], check=True, timeout=600)
        built[layer] = target
    return {
        **built,
        "runtime": _link_distributions(RUNTIME_SDK, base / "runtime"),
        "pandas": _link_distributions(MANAGED_PANDAS, base / "pandas-layer"),
    }


def import_path(function: Function, built: dict[str, Path], template: dict[str, Any] | None = None) -> list[str]:
    """sys.path ahead of the standard library: the code, each layer in order, the runtime last."""
    template = template or load_template()
    dirs = [function.code]
    for layer in function.layers:
        if _is_managed_pandas(layer):
            dirs.append(built["pandas"])
        else:
            ref = layer["Ref"]
            dirs.append(built.get(ref) or ROOT / template["Resources"][ref]["Properties"]["ContentUri"])
    return [str(d) for d in [*dirs, built["runtime"]]]


def run_python(
    code: str, path: list[str], env: dict[str, str], args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh ``python -S`` whose sys.path starts with ``path``."""
    prelude = f"import sys; sys.path[:0] = {path!r}\n"
    return subprocess.run(
        [sys.executable, "-S", "-c", prelude + code, *(args or [])],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            **env,
        },
        timeout=120,
    )
