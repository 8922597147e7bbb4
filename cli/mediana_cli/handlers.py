"""Load the real Lambda handlers from functions/*/app.py and build the event
shapes AWS delivers to them (S3, SQS, EventBridge schedule, HTTP API v2)."""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, quote_plus

ROOT = Path(__file__).resolve().parents[2]
_LOADED: dict[str, ModuleType] = {}


def function(name: str) -> ModuleType:
    """functions/{name}/app.py as a module (each function dir has its own app.py)."""
    if name not in _LOADED:
        path = ROOT / "functions" / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"mediana_fn_{name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
        spec.loader.exec_module(module)
        if QUIET_METRICS and hasattr(module, "metrics"):
            # POWERTOOLS_METRICS_DISABLED stops each invocation's flush, but the metrics pile up
            # and Powertools still prints them every 100 data points: a terminal full of EMF
            module.metrics.add_metric = lambda *args, **kwargs: None
            warnings.filterwarnings("ignore", "No application metrics to publish*")  # none, by the line above
        _LOADED[name] = module
    return _LOADED[name]


QUIET_METRICS = False  # the local stack sets it: no CloudWatch to send EMF lines to
_BUSY: dict[str, threading.Lock] = {}


def invoke(name: str, event: dict[str, Any], context: Any) -> Any:
    """One invocation of a function, one at a time per function, as in a Lambda container:
    the handlers keep per-invocation state in module globals (Powertools' resolver holds the
    current event), so two at once in one process -- the threaded local HTTP server, a test
    beside it -- could answer one request with another's headers, token or tenant."""
    with _BUSY.setdefault(name, threading.Lock()):
        return function(name).handler(event, context)


@functools.cache
def memory_mb(name: str) -> int:
    """The function's MemorySize in template.yaml (so local metering prices the real size)."""
    from mediana_cli.template import load_template

    template = load_template()
    default = int(template["Globals"]["Function"].get("MemorySize", 128))
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and props.get("CodeUri", "").strip("/").endswith(name):
            return int(props.get("MemorySize", default))
    return default


@dataclass
class FakeContext:
    function_name: str = "local"
    timeout_s: int = 900
    memory_limit_in_mb: int = 0  # 0: the template's MemorySize for function_name
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local"
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.memory_limit_in_mb:
            self.memory_limit_in_mb = memory_mb(self.function_name)

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_s - (time.monotonic() - self.started)) * 1000)


def s3_event(bucket: str, key: str, size: int, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "Incoming",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": "0", "sequencer": "0"},
                },
            }
        ]
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
                    "MessageGroupId": m.get("Attributes", {}).get("MessageGroupId", ""),
                    "MessageDeduplicationId": m.get("Attributes", {}).get("MessageDeduplicationId", ""),
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def schedule_event(region: str = "us-east-1") -> dict[str, Any]:
    return {
        "version": "0",
        "id": uuid.uuid4().hex,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/mediana-schedule"],
        "detail": {},
    }


def http_event(
    method: str,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event (no authorizer: the function verifies the token)."""
    params: dict[str, list[str]] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        params.setdefault(k, []).append(v)
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lower.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if params:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    if body is not None:
        event["body"] = body
    return event
