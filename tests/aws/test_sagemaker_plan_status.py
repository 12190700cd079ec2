"""Each endpoint's AWS status is in the plan people approve: in Slack (both languages) and on the command line."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.aws.clients import Aws
from bot.cli import render_plan
from bot.core.plan import Plan
from bot.core.scanner import scan
from bot.slack.blocks import PlanContext, plan_blocks, resource_line
from tests.aws.test_sagemaker import ENDPOINT, REGION, make_config, make_endpoint, make_model, make_role
from tests.core.helpers import dogcat


def scanned_plan(aws: Aws) -> Plan:
    make_model(aws, "dogcat-model", make_role(aws))
    make_config(aws, ENDPOINT, "dogcat-model")
    make_endpoint(aws, ENDPOINT, ENDPOINT)
    return scan(aws, dogcat(), [REGION])


def test_endpoint_status_is_in_the_plan(aws: Aws) -> None:
    plan = scanned_plan(aws)
    (endpoint,) = [r for r in plan.to_delete if r.type == "sagemaker.endpoint"]
    assert endpoint.details["status"] == "InService"
    assert endpoint.details["inference_components"] == []

    blocks = json.dumps(plan_blocks(plan, PlanContext("p1", "U1", 0.0)), ensure_ascii=False)
    assert "status `InService`" in blocks
    assert f"  {ENDPOINT}: status InService" in render_plan(plan)

    # A Failed endpoint (an instance quota error in the workshop) says so, in each language.
    failed = replace(endpoint, details={**endpoint.details, "status": "Failed"})

    assert "status `Failed`" in resource_line(failed)
    assert "trạng thái `Failed`" in resource_line(failed, "vi")
    others = [r for r in plan.to_delete if r.type != "sagemaker.endpoint"]
    assert others and not any("status `" in resource_line(r) for r in others)  # only endpoints show it
