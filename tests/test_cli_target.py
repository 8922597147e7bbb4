"""The operator CLI against a deployed stack (its CloudFormation outputs), and a one-line
error, never a traceback, for each way of not reaching a stack."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mediana_cli.main import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """main() points os.environ at the target stack: give each test its own copy."""
    saved = dict(os.environ)
    for name in ("AWS_ENDPOINT_URL", "STATE_TABLE", "LOG_TABLE", "DATA_BUCKET", "REFRESH_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _stack_template(outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}},
            "Outputs": {k: {"Value": v} for k, v in outputs.items()},
        }
    )


def test_a_deployed_stack_is_found_from_its_outputs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3
    from mediana_cli.target import OUTPUT_ENV
    from mediana_cli.template import create_resources
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        env = create_resources(None, "eu-west-1", prefix="prod")  # type: ignore[arg-type]
        by_var = {var: output for output, var in OUTPUT_ENV.items()}
        outputs = {by_var[var]: value for var, value in env.items() if var in by_var}
        cfn = boto3.client("cloudformation", region_name="eu-west-1")
        cfn.create_stack(StackName="mediana-prod", TemplateBody=_stack_template(outputs))
        assert main(["--stack", "mediana-prod", "--region", "eu-west-1", "tenants"]) == 0
        assert capsys.readouterr().out == ""  # a new stack: no tenants yet, and no error
        assert os.environ["STATE_TABLE"] == "prod-StateTable" and os.environ["AWS_REGION"] == "eu-west-1"

        assert main(["--stack", "nope", "--region", "eu-west-1", "tenants"]) == 2
        assert "stack 'nope' not found in eu-west-1" in _error_line(capsys)

        cfn.create_stack(StackName="other", TemplateBody=_stack_template({"Something": "x"}))
        assert main(["--stack", "other", "--region", "eu-west-1", "quarantine", "--tenant", "a"]) == 2
        assert "is not a mediana stack" in _error_line(capsys)


def test_missing_credentials_say_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["--stack", "mediana-prod", "--region", "eu-west-1", "tenants"]) == 2
    assert "no AWS credentials" in _error_line(capsys)
    assert main(["--stack", "mediana-prod", "--profile", "ghost", "tenants"]) == 2
    assert "profile 'ghost' not found" in _error_line(capsys)


def test_a_local_stack_that_is_not_running_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["tenants"]) == 2
    line = _error_line(capsys)
    assert "make run" in line and "--stack NAME --region REGION" in line
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / ".mediana").mkdir()
    (tmp_path / ".mediana" / "local.json").write_text(json.dumps({"endpoint": f"http://127.0.0.1:{port}"}))
    assert main(["refresh", "--tenant", "acme"]) == 2
    assert f"the local stack at http://127.0.0.1:{port} is not running" in _error_line(capsys)


def test_another_shell_without_aws_settings_finds_the_running_local_stack(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """`make run` in one shell, `mediana tenants` in another: no AWS variable, no config."""
    import subprocess
    import sys

    from mediana_cli.local import STATE_FILE

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # this process plays `make run`'s shell
    stack: Any = request.getfixturevalue("stack")
    stack.store.ensure_state("acme")
    (tmp_path / STATE_FILE).parent.mkdir()
    (tmp_path / STATE_FILE).write_text(json.dumps({"endpoint": moto_endpoint}))
    shell = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STATE_", "LOG_", "DATA_", "REFRESH_"))}
    shell.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    run = subprocess.run(
        [sys.executable, "-m", "mediana_cli.main", "tenants"], cwd=tmp_path, env=shell,
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "acme" in {json.loads(line)["tenant_id"] for line in run.stdout.splitlines()}


@pytest.mark.parametrize("tenant", ["acme#R", "acme/x", "", "a" * 65, "acme\n", "..", "(shared)"])
@pytest.mark.parametrize("command", ["token", "refresh", "quarantine", "ingest", "demo-data"])
def test_cli_arguments_take_only_tenant_ids(command: str, tenant: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--tenant", tenant])
    assert exited.value.code == 2 and "is not a tenant id" in capsys.readouterr().err
