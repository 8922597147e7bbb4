"""What moto cannot run, the template must still say: who alarms reach, how long data is
kept, what expires and what must not. These read template.yaml itself."""

from __future__ import annotations

import json
from typing import Any

from mediana_cli.lambda_env import functions
from mediana_cli.template import load_template

T = load_template()
R = T["Resources"]


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in R.items() if res["Type"] == kind}


def _alarmed_names() -> str:
    return json.dumps([a["Properties"] for a in _of_type("AWS::CloudWatch::Alarm").values()])


def test_the_alarm_topic_uses_a_key_cloudwatch_may_use() -> None:
    topic = R["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "OpsKey"}  # not alias/aws/sns: alarms cannot publish to that
    statements = R["OpsKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])
    assert R["OpsKey"]["Properties"]["EnableKeyRotation"] is True
    for alarm in _of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert R["AlarmSubscription"]["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_every_async_path_and_every_function_has_an_alarm() -> None:
    alarmed = _alarmed_names()
    for queue in _of_type("AWS::SQS::Queue"):
        assert queue in alarmed, f"nothing alarms on {queue}"
    for function in functions(T):
        assert function.name in alarmed, f"nothing alarms on {function.name}"
    for metric in (
        "UnhandledError",
        "RefreshFailures",
        "DamagedItemRebuilds",
        "DriftedDays",
        "DriftedPresets",
        "ApproximateAgeOfOldestMessage",
        "Throttles",
        "5xx",
    ):
        assert f'"{metric}"' in alarmed, metric
    silent = R["SchedulerSilentAlarm"]["Properties"]  # a scheduler that stops running is an alarm too
    assert silent["TreatMissingData"] == "breaching" and silent["ComparisonOperator"] == "LessThanThreshold"


def test_each_function_logs_to_a_group_with_retention() -> None:
    groups = _of_type("AWS::Logs::LogGroup").values()
    named = json.dumps([g["Properties"]["LogGroupName"] for g in groups])
    for function in functions(T):
        assert "${" + function.name + "}" in named, f"{function.name} would log forever"
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_journals_never_expire_while_current_and_deleted_ones_are_gone() -> None:
    bucket = R["DataBucket"]["Properties"]
    rules = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "journal/"]
    assert rules, "no lifecycle rule for journal/"
    for rule in rules:  # a pending journal is what its tenant's next run replays
        assert "ExpirationInDays" not in rule and "ExpirationDate" not in rule
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 99) <= 7 for r in rules)
    for rule in bucket["LifecycleConfiguration"]["Rules"]:  # versioned: every expiring prefix drops old versions
        if "ExpirationInDays" in rule:
            assert "NoncurrentVersionExpiration" in rule, rule["Id"]


def test_the_bucket_refuses_plain_http() -> None:
    (deny,) = R["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_quarantine_and_refresh_records_expire_by_the_tables_ttl() -> None:
    from mediana.storage.store import QuarantineItem

    ttl = R["StateTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True and ttl["AttributeName"] in QuarantineItem.get_attributes()


def test_prod_cors_has_no_wildcard_and_the_api_is_throttled() -> None:
    cors = T["Parameters"]["CorsAllowOrigin"]
    assert "*" not in cors["Default"]
    assert T["Rules"]["ProdCorsIsNotLocal"]["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    routes = R["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert routes["ThrottlingRateLimit"] and routes["ThrottlingBurstLimit"]
    for function in functions(T):
        assert "ReservedConcurrentExecutions" in R[function.name]["Properties"], function.name


def test_the_queue_outlives_the_aggregator_by_six_times() -> None:
    timeout = R["AggregatorFunction"]["Properties"]["Timeout"]
    assert R["RefreshQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_every_checkov_skip_gives_its_reason() -> None:
    for name, res in R.items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{name}: {skip['id']} skipped without a reason"
