"""Create the stack's tables, queues and bucket on an endpoint (a moto server)
from the definitions in template.yaml: the template stays the one source of truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def _table_args(name: str, props: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return args


def create_resources(endpoint: str, region: str, prefix: str = "mediana-local") -> dict[str, str]:
    """Create every table, queue and bucket; returns the functions' environment
    (the template's Globals variables resolved to the local names)."""
    template = load_template()
    resources = template["Resources"]
    session = boto3.session.Session(region_name=region)
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    local: dict[str, str] = {}  # logical id -> what a Ref resolves to locally
    arns: dict[str, str] = {}
    # dead-letter queues first so redrive policies can point at them
    queues = sorted(
        (lid for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"),
        key=lambda lid: "RedrivePolicy" in resources[lid].get("Properties", {}),
    )
    for lid, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::DynamoDB::Table":
            name = f"{prefix}-{lid}"
            ddb.create_table(**_table_args(name, props))
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            local[lid] = name
        elif res["Type"] == "AWS::S3::Bucket":
            name = f"{prefix}-{lid}".lower()
            where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=name, **where)
            local[lid] = name
    for lid in queues:
        props = resources[lid].get("Properties", {})
        fifo = bool(props.get("FifoQueue"))
        attrs: dict[str, str] = {}
        if fifo:
            attrs["FifoQueue"] = "true"
            attrs["ContentBasedDeduplication"] = str(bool(props.get("ContentBasedDeduplication"))).lower()
        if "VisibilityTimeout" in props:
            attrs["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs["RedrivePolicy"] = '{{"deadLetterTargetArn":"{}","maxReceiveCount":"{}"}}'.format(
                arns[target],
                redrive["maxReceiveCount"],
            )
        name = f"{prefix}-{lid}" + (".fifo" if fifo else "")
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arns[lid] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        local[lid] = url
    iam = session.client("iam", endpoint_url=endpoint)
    for lid, res in resources.items():  # roles the functions assume (moto's STS takes any ARN; made real anyway)
        if res["Type"] == "AWS::IAM::Role":
            statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
            local[lid] = iam.create_role(RoleName=f"{prefix}-{lid}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    env: dict[str, str] = {}
    for res in resources.values():  # a function's variable naming a role's ARN (TENANT_ROLE_ARN)
        if res["Type"] == "AWS::Serverless::Function":
            for var, value in res["Properties"].get("Environment", {}).get("Variables", {}).items():
                target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
                if target in local and resources[target]["Type"] == "AWS::IAM::Role":
                    env[var] = local[target]
    bucket_subs = {
        str(r["Properties"]["BucketName"].get("Fn::Sub")): lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::S3::Bucket" and isinstance(r["Properties"].get("BucketName"), dict)
    }
    params = template.get("Parameters", {})
    for var, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        if isinstance(value, dict) and value.get("Ref") in params:
            env[var] = str(params[value["Ref"]]["Default"])
        elif isinstance(value, dict) and "Ref" in value:
            env[var] = local[value["Ref"]]
        elif isinstance(value, dict) and "Fn::Sub" in value and str(value["Fn::Sub"]) in bucket_subs:
            env[var] = local[bucket_subs[str(value["Fn::Sub"])]]
        elif isinstance(value, str):
            env[var] = value
    return env
