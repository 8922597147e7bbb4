"""The whole stack on this machine: a moto server on loopback stands in for AWS,
the real handlers receive the real event shapes, and a small HTTP server plays
API Gateway (the function verifies bearer tokens itself, as deployed)."""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from mediana.config import Config
from mediana.storage import keys
from mediana.storage.store import Store

from mediana_cli import handlers
from mediana_cli.template import create_resources

REGION = "us-east-1"
STATE_FILE = Path(".mediana") / "local.json"


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "mediana",
        "POWERTOOLS_METRICS_NAMESPACE": "Mediana",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }


def local_names_env(endpoint: str) -> dict[str, str]:
    """The functions' environment for a running local stack, found from its
    endpoint alone (local resource names are deterministic)."""
    import boto3

    creds = aws_env(endpoint)  # the local stack's own: the operator's shell may have none
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds["AWS_SESSION_TOKEN"],
    )
    return {
        "STATE_TABLE": "mediana-local-StateTable",
        "LOG_TABLE": "mediana-local-LogTable",
        "DATA_BUCKET": "mediana-local-databucket",
        "REFRESH_QUEUE_URL": sqs.get_queue_url(QueueName="mediana-local-RefreshQueue.fifo")["QueueUrl"],
        "INGEST_QUEUE_URL": sqs.get_queue_url(QueueName="mediana-local-IngestContinueQueue")["QueueUrl"],
    }


INGEST_ATTEMPTS = 3  # an S3-invoked Lambda is tried once and retried twice


class Pump:
    """Delivers what AWS would: S3 notifications, SQS batches, schedule ticks."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: set[str] = set()  # objects ingested (or given up on, as Lambda's async retries do)
        self.failures: dict[str, int] = {}
        # AWS's own plumbing (S3 notifications, the SQS event source) is not the stack's
        # work: its stand-in uses clients the cost meter does not see
        session = boto3.session.Session(region_name=store.cfg.region)
        self.s3 = session.client("s3", endpoint_url=store.cfg.endpoint)
        self.sqs = session.client("sqs", endpoint_url=store.cfg.endpoint)
        self.lock = threading.Lock()
        self._arns: dict[str, str] = {}

    def _arn(self, url: str) -> str:
        """A queue's ARN for its events, asked once per queue (not on every poll)."""
        if url not in self._arns:
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
            self._arns[url] = str(attrs["QueueArn"])
        return self._arns[url]

    def ingest(self) -> int:
        done = 0
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.store.cfg.bucket, Prefix="incoming/")
        for page in pages:
            for obj in page.get("Contents", []):
                if obj["Key"] in self.seen:
                    continue
                event = handlers.s3_event(self.store.cfg.bucket, obj["Key"], obj["Size"])
                try:
                    handlers.invoke("ingest", event, self.context("ingest"))
                except Exception as exc:  # noqa: BLE001 - as S3 -> Lambda does: retried, then given up
                    tries = self.failures[obj["Key"]] = self.failures.get(obj["Key"], 0) + 1
                    if tries < INGEST_ATTEMPTS:
                        continue
                    print(f"ingest of {obj['Key']} failed {tries} times, given up: {exc}", file=sys.stderr)
                self.seen.add(obj["Key"])
                done += 1
        while moved := self._deliver(self.store.cfg.ingest_queue_url, "ingest", batch=1):  # checkpoints
            done += moved
        return done

    def queue(self) -> int:
        return self._deliver(self.store.cfg.queue_url, "aggregator", batch=10)

    def _deliver(self, url: str, function: str, batch: int) -> int:
        """One SQS event source poll: a batch to the function, partial failures returned."""
        out = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=batch, WaitTimeSeconds=0, AttributeNames=["All"], VisibilityTimeout=900
        )
        messages = out.get("Messages", [])
        if not messages:
            return 0
        try:
            result = handlers.invoke(function, handlers.sqs_event(messages, self._arn(url)), self.context(function))
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - as Lambda does: a failed invocation returns the whole batch
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            else:  # what the visibility timeout does, without the wait: delivered again (DLQ after max receives)
                self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        return len(messages)

    def context(self, function: str) -> Any:
        """The invocation context (tests replace it to make time run out)."""
        return handlers.FakeContext(function)

    def tick(self) -> None:
        handlers.invoke("scheduler", handlers.schedule_event(), handlers.FakeContext("scheduler"))

    def drain(self, rounds: int = 1000) -> None:
        """Until nothing is left: ingest, schedule, aggregate."""
        with self.lock:
            for _ in range(rounds):
                moved = self.ingest()
                self.tick()
                moved += self.queue()
                if not moved:
                    return


def call_api(
    method: str, target: str, headers: dict[str, str], body: str | None = None
) -> tuple[int, dict[str, str], str | bytes]:
    """Play API Gateway: hand the function an HTTP API v2 event (the function verifies
    the bearer token itself, as on AWS). A base64 body (gzip, when the client accepts
    it) comes back as bytes."""
    parts = urlsplit(target)
    event = handlers.http_event(method, parts.path, parts.query, headers, body)
    result = handlers.invoke("api", event, handlers.FakeContext("api", timeout_s=29))
    out_headers = dict(result.get("headers") or {})
    for k, values in (result.get("multiValueHeaders") or {}).items():
        out_headers[k] = ", ".join(values)
    for cookie in result.get("cookies") or []:
        out_headers.setdefault("Set-Cookie", cookie)
    text = result.get("body") or ""
    if result.get("isBase64Encoded"):
        return int(result["statusCode"]), out_headers, base64.b64decode(text)
    return int(result["statusCode"]), out_headers, text


class _ApiServer(ThreadingHTTPServer):
    demo_tokens: list[dict[str, str]]  # what /local/tokens offers the viewer (the local stack only)


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ApiServer

    def _serve(self) -> None:
        text: str | bytes
        if self.path == "/local/tokens":  # the viewer's tenant picker; no such route on AWS
            tokens = json.dumps({"tokens": self.server.demo_tokens})
            status, headers, text = 200, {"Content-Type": "application/json"}, tokens
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else None
            status, headers, text = call_api(self.command, self.path, dict(self.headers.items()), body)
        data = text if isinstance(text, bytes) else text.encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def start_moto_server(port: int) -> Any:
    """A moto server on 127.0.0.1:port, minus its costliest habits: it lists its own package
    folder (os.listdir plus ~150 stats) on every request to route it, ~10 ms a request and
    most of a demo load's time (the list never changes while it runs, so it is read once);
    and it sorts the whole table for every DynamoDB Query (``motoindex``)."""
    import moto.backends
    from moto.server import ThreadedMotoServer

    from mediana_cli import motoindex

    motoindex.install()

    if not hasattr(moto.backends, "_mediana_listed"):
        listed = tuple(moto.backends.list_of_moto_modules())
        moto.backends.list_of_moto_modules = lambda: listed  # type: ignore[assignment]
        moto.backends._mediana_listed = listed  # type: ignore[attr-defined]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def serve_api(port: int, demo_tokens: list[dict[str, str]] | None = None) -> ThreadingHTTPServer:
    """The read API, the viewer and Swagger UI on 127.0.0.1:port (API Gateway's part played
    by call_api), in a background thread."""
    httpd = _ApiServer(("127.0.0.1", port), _ApiHandler)
    httpd.demo_tokens = demo_tokens or []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class PortBusy(Exception):
    """A port the local stack needs is taken; the message names it and the flag to change it."""


def _require_free(port: int, what: str, flag: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is not busy
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise PortBusy(f"port {port} ({what}) is already in use: stop what holds it, or pass {flag} N") from None


class LocalStack:
    def __init__(
        self, aws_port: int = 5005, api_port: int = 8080, schedule_s: float = 15.0, announce: bool = True
    ) -> None:
        self.announce = announce  # write .mediana/local.json so other shells find this stack
        self.aws_port, self.api_port, self.schedule_s = aws_port, api_port, schedule_s
        self.endpoint = f"http://127.0.0.1:{aws_port}"
        self.stop_event = threading.Event()

    def start(self) -> Store:
        import logging

        _require_free(self.aws_port, "the moto server", "--aws-port")
        _require_free(self.api_port, "the read API and viewer", "--port")

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        handlers.QUIET_METRICS = True
        os.environ.update(aws_env(self.endpoint))
        self.moto = start_moto_server(self.aws_port)
        level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.update(create_resources(self.endpoint, REGION))
        os.environ["POWERTOOLS_LOG_LEVEL"] = level  # the template's INFO is for CloudWatch, not this terminal
        self.store = Store(Config.from_env())
        self.pump = Pump(self.store)
        if self.announce:
            STATE_FILE.parent.mkdir(exist_ok=True)
            STATE_FILE.write_text(json.dumps({"endpoint": self.endpoint, "api": f"http://127.0.0.1:{self.api_port}"}))
        return self.store

    def serve_api(self, demo_tokens: list[dict[str, str]] | None = None) -> ThreadingHTTPServer:
        self.httpd = serve_api(self.api_port, demo_tokens)
        return self.httpd

    def run_background(self, poll_s: float = 1.0) -> threading.Thread:
        def loop() -> None:
            last_tick = 0.0
            while not self.stop_event.is_set():
                try:
                    with self.pump.lock:
                        self.pump.ingest()
                        if time.monotonic() - last_tick >= self.schedule_s:
                            self.pump.tick()
                            last_tick = time.monotonic()
                        while self.pump.queue():
                            pass
                except Exception as exc:  # noqa: BLE001 - keep the stack alive, say what failed
                    print(f"[local] background step failed: {exc!r}", flush=True)
                self.stop_event.wait(poll_s)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
        if getattr(self, "httpd", None):
            self.httpd.shutdown()
        self.moto.stop()
        if self.announce:
            STATE_FILE.unlink(missing_ok=True)


def upload(store: Store, tenant: str, name: str, body: bytes) -> str:
    """Drop a file as the CRM does (the ingest function books the PUT to the tenant;
    this client is the CRM's, not the stack's, so the meter does not see it)."""
    key = f"{keys.incoming_prefix(tenant)}{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{name}"
    crm = boto3.session.Session(region_name=store.cfg.region).client("s3", endpoint_url=store.cfg.endpoint)
    crm.put_object(Bucket=store.cfg.bucket, Key=key, Body=body)
    return key
