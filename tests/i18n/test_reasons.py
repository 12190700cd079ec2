"""The core's reasons in Vietnamese (bot/reasons_i18n.py): every template renders in Vietnamese with its values,
every reason real scans and runs produce is matched part by part, and the plan message shows them translated."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from bot.aws.clients import Aws, new_session
from bot.cli import render_plan, render_results
from bot.core import executor as core_executor
from bot.core import scanner as core_scanner
from bot.core.executor import ExecutorOptions, execute
from bot.core.plan import PlannedResource
from bot.core.scanner import scan
from bot.demo.stack import lambda_zip, seed_workshop
from bot.reasons_i18n import TEMPLATES, translate_reason, unmatched_parts
from bot.slack.blocks import PlanContext, plan_blocks, result_line
from tests.aws import test_apigateway_domains as apigateway_scenarios
from tests.aws import test_sagemaker_executor as sagemaker_scenarios
from tests.core import test_executor as executor_scenarios
from tests.core import test_proof_of_non_use as non_use_scenarios
from tests.core.helpers import REGION, dogcat, faulty_aws

# A sample value per placeholder, and how it must show in Vietnamese (None: as it is).
SAMPLES: dict[str, tuple[str, str | None]] = {
    "label": ("SageMaker endpoint", "endpoint SageMaker"),
    "labels": ("SageMaker models", "model SageMaker"),
    "listers": ("Lambda functions and versions", "function và version Lambda"),
    "status": ("skipped", "bỏ qua"),
    "principals": (
        "arn:aws:iam::123456789012:root, the service ecs-tasks.amazonaws.com",
        "arn:aws:iam::123456789012:root, dịch vụ ecs-tasks.amazonaws.com",
    ),
    "prefixes": (
        "other/ (3 versions, 1.2 KB), logs/ (1 versions, 12 B)",
        "other/ (3 phiên bản, 1.2 KB), logs/ (1 phiên bản, 12 B)",
    ),
    "domains": ("a.example.com (base paths /v1 and /v2)", "a.example.com (base paths /v1 và /v2)"),
    # placeholders that hold a reason of their own
    "reason": ("deletion protection is on", "deletion protection đang bật"),
    "guard": ("MFA Delete is enabled", "MFA Delete đang bật"),
    "action": ("every action but a few (NotAction)", "mọi thao tác trừ một vài thao tác (NotAction)"),
    "problem": (
        "Lambda function in eu-west-1: AccessDeniedException: User is not authorized",
        "function Lambda ở eu-west-1: AccessDeniedException: User is not authorized",
    ),
    "holdings": (
        "it holds more, which the plan does not account for",
        "nó còn chứa thêm dữ liệu mà kế hoạch không tính đến",
    ),
    # values that stay as they are
    "name": ("dogcat-endpoint-20250812", None),
    "prefix": ("dogcat-endpoint-", None),
    "bucket": ("sagemaker-us-east-1-123456789012", None),
    "region": ("eu-west-1", None),
    "code": ("AccessDeniedException", None),
    "message": ("User is not authorized to perform this action", None),
    "error": ("OperationalError", None),
    "account": ("123456789012", None),
    "plan_account": ("210987654321", None),
    "role": ("arn:aws:iam::123456789012:role/DogcatCleanupRole", None),
    "date": ("2026-12-15", None),
    "value": ("next-week", None),
    "user": ("U0123ABCD", None),
    "seconds": ("30", None),
    "left": ("4", None),
    "n": ("2", None),
    "more": ("7", None),
    "names": ("ic-a (Deleting), ic-b (InService)", None),
    "service": ("ecs-tasks.amazonaws.com", None),
}


def _fields(template: str) -> list[str]:
    return re.findall(r"{(\w+)}", template)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_round_trips_into_vietnamese_with_its_values(template: str) -> None:
    english = template.format(**{f: SAMPLES[f][0] for f in _fields(template)})
    vietnamese = translate_reason(english, "vi")
    assert unmatched_parts(english) == []
    assert vietnamese != english
    assert translate_reason(english, "en") == english
    for field in _fields(template):
        sample, shown = SAMPLES[field]
        assert (shown or sample) in vietnamese, f"{field}: {vietnamese!r}"


def test_composite_reasons_are_translated_part_by_part_and_unknown_parts_stay_english() -> None:
    composite = (
        "endpoint is Creating; AWS refuses to delete it until it is InService or Failed; kept after waiting 900 s"
    )
    assert translate_reason(composite, "vi") == (
        "endpoint đang Creating; AWS không cho xoá cho đến khi nó InService hoặc Failed; giữ lại sau 900 giây chờ"
    )
    guarded = "deletion protection is on since the scan; the app never switches AWS's guards off"
    assert translate_reason(guarded, "vi") == (
        "deletion protection đang bật từ lúc quét; ứng dụng không bao giờ tắt các cơ chế bảo vệ của AWS"
    )
    # An AWS message holding the core's joint: its tail stays English, nothing is lost.
    refused = "account 111122223333: could not assume R: AccessDenied: not allowed; try later; nothing deleted in it"
    assert translate_reason(refused, "vi") == (
        "tài khoản 111122223333: không assume được R: AccessDenied: not allowed; try later; "
        "không xoá gì trong tài khoản này"
    )
    assert unmatched_parts(refused) == ["try later"]
    assert translate_reason("a reason nobody wrote; tagged cleanup:protect=true", "vi") == (
        "a reason nobody wrote; có tag cleanup:protect=true"
    )
    assert translate_reason("kept because SageMaker model m was not deleted (failed)", "en") == (
        "kept because SageMaker model m was not deleted (failed)"
    )
    assert translate_reason("", "vi") == ""


# -- the producers: real scans and runs, every reason they write -------------------------------------------------


class Reasons:
    """Every reason the core wrote while a scenario ran: kept resources' reasons, re-check reasons, and the
    messages of skipped, waiting and failed-by-the-app events."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def add(self, text: str) -> None:
        if text:
            self.seen.append(text)


@pytest.fixture
def reasons(monkeypatch: pytest.MonkeyPatch) -> Reasons:
    found = Reasons()
    decide, recheck, event = core_scanner._decide, core_scanner.users_outside, core_executor._Run._event

    def recording_decide(*args: Any, **kwargs: Any) -> list[PlannedResource]:
        resources = decide(*args, **kwargs)
        for r in resources:
            found.add(r.keep_reason)
        return resources

    def recording_recheck(*args: Any, **kwargs: Any) -> dict[str, str]:
        why = recheck(*args, **kwargs)
        for text in why.values():
            found.add(text)
        return why

    def recording_event(self: Any, kind: str, r: Any, message: str = "", code: str = "", *rest: Any) -> None:
        # A failure's message is AWS's (or Python's) own text, except the app's timeouts.
        if kind in ("skipped", "waiting") or (kind == "failed" and code == "Timeout"):
            found.add(message)
        event(self, kind, r, message, code, *rest)

    monkeypatch.setattr(core_scanner, "_decide", recording_decide)
    monkeypatch.setattr(core_scanner, "users_outside", recording_recheck)
    monkeypatch.setattr(core_executor._Run, "_event", recording_event)
    return found


def _on_moto_server(request: pytest.FixtureRequest) -> boto3.session.Session:
    request.getfixturevalue("moto_server")
    return new_session(region_name=REGION)


def _in_process(request: pytest.FixtureRequest) -> boto3.session.Session:
    request.getfixturevalue("mocked")
    return new_session(region_name=REGION)


# Scenario tests of other modules that make the core write reasons, run as they are (their own assertions too),
# with their fixtures rebuilt here: parameter name -> how to make it.
Builders = dict[str, Callable[[pytest.FixtureRequest], Any]]
ON_SERVER: Builders = {"session": _on_moto_server, "seed": _on_moto_server, "app": lambda rq: _app(rq)}
IN_PROCESS: Builders = {
    "session": _in_process,
    "stack": lambda rq: seed_workshop(_in_process(rq), REGION),
}


def _app(request: pytest.FixtureRequest) -> Any:
    request.getfixturevalue("moto_server")
    return faulty_aws()


SCENARIOS: list[tuple[Callable[..., None], Builders]] = [
    *(
        (getattr(non_use_scenarios, name), ON_SERVER)
        for name in (
            "test_notebook_studio_domain_and_ec2_instance_keep_their_roles",
            "test_function_in_another_region_keeps_the_role",
            "test_shared_default_bucket_keeps_other_teams_data_and_later_writes",
            "test_bucket_with_a_version_written_after_the_scan_is_kept",
            "test_model_deployed_on_the_role_while_the_endpoint_deletes_keeps_the_role",
            "test_roles_trusted_by_what_nobody_can_list_are_kept",
            "test_a_region_that_cannot_be_listed_keeps_the_roles_it_could_hide",
            "test_studio_user_profile_and_training_job_in_progress_keep_roles_and_bucket",
            "test_bucket_policy_denying_deletion_and_log_group_protection_are_guards",
        )
    ),
    *(
        (getattr(executor_scenarios, name), IN_PROCESS)
        for name in (
            "test_resource_recreated_after_the_scan_is_skipped",
            "test_other_account_deletes_nothing",
            "test_new_user_after_the_scan_keeps_the_role",
            "test_protect_tag_added_after_the_scan_is_honoured",
            "test_keep_until_answered_after_the_scan_is_honoured",
        )
    ),
    *(
        (getattr(executor_scenarios, name), ON_SERVER)
        for name in (
            "test_access_denied_on_one_deletion_leaves_the_rest_deleted",
            "test_failed_endpoint_keeps_everything_it_uses",
        )
    ),
    *(
        (getattr(sagemaker_scenarios, name), ON_SERVER)
        for name in (
            "test_endpoint_failing_to_delete_fails_with_aws_reason_and_keeps_its_chain",
            "test_endpoint_still_creating_is_kept_with_the_reason_and_its_chain_too",
        )
    ),
    *(
        (getattr(apigateway_scenarios, name), ON_SERVER)
        for name in (
            "test_cleanup_keeps_mapped_apis_and_deletes_the_unmapped",
            "test_domains_unreadable_at_scan_keep_the_api",
            "test_domains_unreadable_at_deletion_keep_the_api",
        )
    ),
]


@pytest.mark.slow  # re-runs 21 whole scenarios on moto: part of `make test`, not of `make test-fast`
@pytest.mark.parametrize(("scenario", "builders"), SCENARIOS, ids=[s.__name__ for s, _ in SCENARIOS])
def test_every_reason_a_scenario_produces_is_translated(
    scenario: Callable[..., None], builders: Builders, reasons: Reasons, request: pytest.FixtureRequest
) -> None:
    made: dict[str, Any] = {}
    for name in inspect.signature(scenario).parameters:
        build = builders.get(name)
        made[name] = build(request) if build else request.getfixturevalue(name)
    scenario(**made)
    assert reasons.seen, "the scenario produced no reason"
    for text in reasons.seen:
        assert unmatched_parts(text) == [], f"no template for part of {text!r}"
        assert translate_reason(text, "vi") != text


# -- where people read them ----------------------------------------------------------------------------------------


@pytest.fixture
def session(mocked: None) -> Iterator[boto3.session.Session]:
    yield new_session(region_name=REGION)


def test_vietnamese_plan_shows_the_kept_and_skipped_reasons_in_vietnamese(
    aws: Aws, session: boto3.session.Session
) -> None:
    seed_workshop(session, REGION)
    table = session.client("dynamodb").describe_table(TableName="PredictionHistory")["Table"]["TableArn"]
    session.client("dynamodb").tag_resource(ResourceArn=table, Tags=[{"Key": "cleanup:protect", "Value": "true"}])
    plan = scan(aws, dogcat(), [REGION])
    kept = {r.name: r.keep_reason for r in plan.kept}
    assert kept["PredictionHistory"] == "tagged cleanup:protect=true"  # stored in English, as before

    shown = json.dumps(plan_blocks(plan, PlanContext("p1", "U1", 0.0), lang="vi"), ensure_ascii=False)
    assert "có tag cleanup:protect=true" in shown
    assert "tagged cleanup:protect" not in shown
    english = json.dumps(plan_blocks(plan, PlanContext("p1", "U1", 0.0), lang="en"), ensure_ascii=False)
    assert "tagged cleanup:protect=true" in english

    role = "InvokeModelLambda-role-a1b2c3d4"
    role_arn = session.client("iam").get_role(RoleName=role)["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName="LateComer",
        Runtime="python3.12",
        Role=role_arn,
        Handler="x.h",
        Code={"ZipFile": lambda_zip()},
    )
    results = {r.name: r for r in execute(aws, plan, None, ExecutorOptions(delete_interval=0.0))}
    assert results[role].status == "skipped"
    assert "LateComer" in results[role].reason and "used by" in results[role].reason  # stored in English
    line = result_line(results[role], "vi")
    assert "đang được function Lambda LateComer ở us-east-1 dùng" in line, line
    assert "used by" not in line

    printed = render_plan(plan, "vi") + render_results(list(results.values()), 1.0, len(plan.to_delete), "vi")
    assert "có tag cleanup:protect=true" in printed
    assert "đang được function Lambda LateComer ở us-east-1 dùng" in printed
    assert "used by" not in printed and "tagged cleanup" not in printed
