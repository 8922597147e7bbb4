"""Which stack the operator commands talk to: a deployed one (``--stack``, its outputs read
from CloudFormation), or the local one (``make run``). Every way this can go wrong ends in a
one-line ``TargetError`` that says what to do, never a traceback."""

from __future__ import annotations

import json
import os
import socket
from urllib.parse import urlsplit

from mediana_cli.local import STATE_FILE, aws_env, local_names_env

# template.yaml's Outputs -> the environment variables the functions (and Config) read
OUTPUT_ENV = {
    "StateTableName": "STATE_TABLE",
    "LogTableName": "LOG_TABLE",
    "DataBucketName": "DATA_BUCKET",
    "RefreshQueueUrl": "REFRESH_QUEUE_URL",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
}


class TargetError(Exception):
    """The stack cannot be reached; the message is the whole explanation."""


def deployed_env(stack: str, region: str | None, profile: str | None) -> dict[str, str]:
    """The functions' environment for a deployed stack, from its CloudFormation outputs."""
    import boto3
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        where = session.region_name
        if not where:
            raise TargetError("no AWS region: pass --region (or set AWS_REGION)")
        described = session.client("cloudformation").describe_stacks(StackName=stack)
    except ProfileNotFound as exc:
        raise TargetError(f"AWS profile {profile!r} not found in your AWS config") from exc
    except NoCredentialsError as exc:
        raise TargetError("no AWS credentials: pass --profile, set AWS_PROFILE, or run `aws sso login`") from exc
    except NoRegionError as exc:
        raise TargetError("no AWS region: pass --region (or set AWS_REGION)") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if "does not exist" in str(error.get("Message", "")):
            raise TargetError(f"stack {stack!r} not found in {where} (check --stack and --region)") from exc
        raise TargetError(f"cannot read stack {stack!r}: {error.get('Code')}: {error.get('Message')}") from exc
    except BotoCoreError as exc:
        raise TargetError(f"cannot reach CloudFormation in {region or 'the default region'}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
    missing = sorted(set(OUTPUT_ENV) - set(outputs))
    if missing:
        raise TargetError(f"stack {stack!r} is not a mediana stack (no outputs {', '.join(missing)})")
    env = {OUTPUT_ENV[k]: outputs[k] for k in OUTPUT_ENV}
    env.update(AWS_REGION=where, AWS_DEFAULT_REGION=where)
    if profile:
        env["AWS_PROFILE"] = profile
    return env


def local_env() -> dict[str, str]:
    """The environment for the running local stack, or a TargetError saying how to start it."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint and STATE_FILE.exists():
        endpoint = json.loads(STATE_FILE.read_text())["endpoint"]
    if not endpoint:
        raise TargetError("no stack: start the local one with `make run`, or pass --stack NAME --region REGION")
    if not _listening(endpoint):
        raise TargetError(f"the local stack at {endpoint} is not running: start it with `make run`")
    return {**aws_env(endpoint), **local_names_env(endpoint)}


def _listening(endpoint: str) -> bool:
    url = urlsplit(endpoint)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=1):
            return True
    except OSError:
        return False
