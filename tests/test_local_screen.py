"""What `make run` promises a newcomer: a token per role carrying only that role, and a busy
port that fails at once with the port and the flag named (not a hang)."""

from __future__ import annotations

import socket

import pytest
from mediana.services.auth import verify
from mediana_cli.main import demo_tokens, main


def test_each_printed_token_carries_only_its_role() -> None:
    tokens = demo_tokens(["acme", "globex"])
    assert {(t["tenant"], t["role"]) for t in tokens} == {
        ("acme", "viewer"), ("acme", "admin"), ("globex", "viewer"), ("globex", "admin"), ("ops", "finance"),
    }  # fmt: skip
    for row in tokens:
        claims = verify(row["token"])
        assert claims["tenant_id"] == row["tenant"] and claims["roles"] == [row["role"]]


@pytest.mark.parametrize("which", ["--port", "--aws-port"])
def test_a_busy_port_exits_at_once_naming_it_and_its_flag(which: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with socket.socket() as spare:
            spare.bind(("127.0.0.1", 0))
            free = spare.getsockname()[1]
        ports = {"--port": free, "--aws-port": free, which: busy}
        argv = ["local", "--no-demo", "--port", str(ports["--port"]), "--aws-port", str(ports["--aws-port"])]
        assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mediana: port {busy} (") and err.endswith(f"pass {which} N"), err
