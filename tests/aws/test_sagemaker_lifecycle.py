"""An endpoint's life as AWS has it, which moto does not show: states in which AWS refuses DeleteEndpoint, a
deletion already under way, inference components living on it, and auto scaling targets of its variants.

SageMaker's answers come from botocore's Stubber (checked against SageMaker's own service model, the JSON it
sends); Application Auto Scaling is moto's (it has it), or a Stubber where AWS must refuse.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.aws.base import Approval, Found, KeptError, NotYet, epoch_seconds
from bot.aws.clients import Aws
from bot.aws.sagemaker import EndpointType
from tests.aws.test_sagemaker import ENDPOINT, REGION, make_config, make_endpoint, make_model, make_role, sm

ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def autoscaling(aws: Aws) -> Any:
    return aws.client("application-autoscaling", REGION)


@pytest.fixture
def endpoint(aws: Aws) -> Found:
    """The workshop's endpoint in moto (InService), read as the executor reads it right before delete()."""
    make_model(aws, "dogcat-model", make_role(aws))
    make_config(aws, ENDPOINT, "dogcat-model")
    make_endpoint(aws, ENDPOINT, ENDPOINT)
    found = EndpointType().get(aws, REGION, ENDPOINT)
    assert found is not None
    return found


def with_status(found: Found, status: str, **details: Any) -> Found:
    return replace(found, details={**found.details, "status": status, **details})


def endpoint_names(aws: Aws) -> set[str]:
    return {e["EndpointName"] for e in sm(aws).list_endpoints()["Endpoints"]}


def component(name: str, status: str, created: datetime = CREATED) -> dict[str, Any]:
    """One ListInferenceComponents item as SageMaker sends it."""
    return {
        "InferenceComponentName": name,
        "InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:123456789012:inference-component/{name}",
        "EndpointName": ENDPOINT,
        "EndpointArn": ARN,
        "VariantName": "main",
        "InferenceComponentStatus": status,
        "CreationTime": created,
        "LastModifiedTime": created,
    }


# --- states in which AWS refuses DeleteEndpoint ----------------------------------------------------------------


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_busy_endpoint_is_not_yet_and_untouched(aws: Aws, endpoint: Found, status: str) -> None:
    with pytest.raises(NotYet) as caught:
        EndpointType().delete(aws, with_status(endpoint, status))

    assert caught.value.status == status
    assert caught.value.retry_in == EndpointType.poll_delay
    assert str(caught.value).startswith(f"endpoint is {status}")
    assert "AWS refuses to delete it until" in str(caught.value)
    assert ENDPOINT in endpoint_names(aws)  # DeleteEndpoint was not called


def test_creating_reason_says_what_it_waits_for(aws: Aws, endpoint: Found) -> None:
    with pytest.raises(NotYet, match="until it is InService or Failed"):
        EndpointType().delete(aws, with_status(endpoint, "Creating"))


def test_deleting_endpoint_is_not_deleted_again(aws: Aws, endpoint: Found) -> None:
    """A resumed run, or a colleague in the console: AWS refuses a second DeleteEndpoint; the executor just polls."""
    calls: list[str] = []
    sm(aws).meta.events.register("before-call.sagemaker", lambda event_name, **_: calls.append(event_name))

    EndpointType().delete(aws, with_status(endpoint, "Deleting"))

    assert calls == []
    assert ENDPOINT in endpoint_names(aws)


def test_failed_endpoint_is_deleted(aws: Aws, endpoint: Found) -> None:
    EndpointType().delete(aws, with_status(endpoint, "Failed", failure_reason="ResourceLimitExceeded"))

    assert ENDPOINT not in endpoint_names(aws)


@pytest.mark.parametrize(
    "message",
    [
        f'Cannot update in-progress endpoint "{ARN}".',
        f"Cannot delete endpoint {ENDPOINT} in status Creating.",
        "Endpoint has inference components; delete them first.",
    ],
)
def test_delete_refused_for_its_state_is_not_yet(aws: Aws, endpoint: Found, message: str) -> None:
    """The status read just before may be stale by the time DeleteEndpoint arrives."""
    with Stubber(sm(aws)) as stub:
        stub.add_client_error("delete_endpoint", "ValidationException", message, 400, {"EndpointName": ENDPOINT})

        with pytest.raises(NotYet, match="AWS refuses to delete the endpoint for now") as caught:
            EndpointType().delete(aws, endpoint)

        stub.assert_no_pending_responses()
    assert message in str(caught.value)


def test_other_validation_errors_are_not_retried(aws: Aws, endpoint: Found) -> None:
    with Stubber(sm(aws)) as stub:
        stub.add_client_error("delete_endpoint", "ValidationException", "1 validation error detected", 400)

        with pytest.raises(ClientError):
            EndpointType().delete(aws, endpoint)


# --- inference components: they belong to the endpoint -------------------------------------------------------


def stub_get(stub: Stubber, components: list[dict[str, Any]]) -> None:
    """The answers get() reads an endpoint with: describe, its config, its components, its tags."""
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT,
            "EndpointArn": ARN,
            "EndpointConfigName": ENDPOINT,
            "EndpointStatus": "InService",
            "CreationTime": CREATED,
            "LastModifiedTime": CREATED,
            "ProductionVariants": [{"VariantName": "main", "CurrentInstanceCount": 1}],
        },
        {"EndpointName": ENDPOINT},
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": ENDPOINT,
            "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{ENDPOINT}",
            "ProductionVariants": [{"VariantName": "main", "InstanceType": "ml.g5.xlarge"}],
            "CreationTime": CREATED,
        },
        {"EndpointConfigName": ENDPOINT},
    )
    stub.add_response(
        "list_inference_components", {"InferenceComponents": components}, {"EndpointNameEquals": ENDPOINT}
    )
    stub.add_response("list_tags", {"Tags": []}, {"ResourceArn": ARN})


def scanned_with_components(aws: Aws, *components: dict[str, Any]) -> Found:
    with Stubber(sm(aws)) as stub:
        stub_get(stub, list(components))
        found = EndpointType().get(aws, REGION, ENDPOINT)
        stub.assert_no_pending_responses()
    assert found is not None
    return found


def approval_of(scanned: Found) -> Approval:
    """What the executor hands delete(): the scan's written_before (the newest component the approver saw)."""
    return Approval(written_before=scanned.details["written_before"])


def test_scan_shows_components_status_and_variants(aws: Aws) -> None:
    later = datetime(2026, 1, 3, tzinfo=UTC)
    found = scanned_with_components(
        aws, component("dogcat-ic-a", "InService"), component("dogcat-ic-b", "Failed", later)
    )

    assert found.details["status"] == "InService"
    assert found.details["variants"] == ["main"]
    assert found.details["inference_components"] == [
        {"name": "dogcat-ic-a", "status": "InService", "variant": "main", "created_at": epoch_seconds(CREATED)},
        {"name": "dogcat-ic-b", "status": "Failed", "variant": "main", "created_at": epoch_seconds(later)},
    ]
    assert found.details["written_before"] == epoch_seconds(later)


def test_scan_without_components_on_moto(aws: Aws, endpoint: Found) -> None:
    assert endpoint.details["inference_components"] == []
    assert endpoint.details["written_before"] == 0.0  # nothing shown, so no component is approved
    assert endpoint.details["variants"] == ["main"]


def test_components_are_deleted_first_and_waited_for(aws: Aws) -> None:
    scanned = scanned_with_components(aws, component("dogcat-ic-a", "InService"), component("dogcat-ic-b", "Failed"))
    t = EndpointType()
    client = sm(aws)

    with Stubber(client) as stub:
        stub.add_response("delete_inference_component", {}, {"InferenceComponentName": "dogcat-ic-a"})
        stub.add_response("delete_inference_component", {}, {"InferenceComponentName": "dogcat-ic-b"})
        stub.add_response(
            "list_inference_components",
            {"InferenceComponents": [component("dogcat-ic-a", "Deleting")]},
            {"EndpointNameEquals": ENDPOINT},
        )

        with pytest.raises(NotYet) as caught:
            t.delete(aws, scanned, approval_of(scanned))

        stub.assert_no_pending_responses()  # DeleteEndpoint was not called while a component lives
    assert "inference components live on it" in str(caught.value)
    assert "dogcat-ic-a (Deleting)" in str(caught.value)
    assert caught.value.status == "deleting inference components"

    # The executor comes back: get() again, then delete(). The component still Deleting is not asked again.
    again = with_status(scanned, "InService", inference_components=[scanned.details["inference_components"][0]])
    again.details["inference_components"][0] = {**again.details["inference_components"][0], "status": "Deleting"}
    with Stubber(client) as stub:
        stub.add_response("list_inference_components", {"InferenceComponents": []}, {"EndpointNameEquals": ENDPOINT})
        stub.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})

        t.delete(aws, again, approval_of(scanned))

        stub.assert_no_pending_responses()


COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def component_target(name: str) -> dict[str, Any]:
    """An inference component's scalable target, as DescribeScalableTargets answers it."""
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"inference-component/{name}",
        "ScalableDimension": COMPONENT_DIMENSION,
        "MinCapacity": 1,
        "MaxCapacity": 4,
        "RoleARN": "arn:aws:iam::123456789012:role/x",
        "CreationTime": CREATED,
    }


def test_a_components_scaling_is_deregistered_before_it_is_deleted(aws: Aws) -> None:
    scanned = scanned_with_components(aws, component("dogcat-ic-a", "InService"))
    with Stubber(autoscaling(aws)) as scaling, Stubber(sm(aws)) as stub:
        scaling.add_response(
            "describe_scalable_targets",
            {"ScalableTargets": [component_target("dogcat-ic-a")]},
            {"ServiceNamespace": "sagemaker", "ResourceIds": ["inference-component/dogcat-ic-a"]},
        )
        scaling.add_response(
            "deregister_scalable_target",
            {},
            {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "inference-component/dogcat-ic-a",
                "ScalableDimension": COMPONENT_DIMENSION,
            },
        )
        scaling.add_response("describe_scalable_targets", {"ScalableTargets": []})  # the endpoint's variant: none
        stub.add_response("delete_inference_component", {}, {"InferenceComponentName": "dogcat-ic-a"})
        stub.add_response("list_inference_components", {"InferenceComponents": []}, {"EndpointNameEquals": ENDPOINT})
        stub.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})

        EndpointType().delete(aws, scanned, approval_of(scanned))

        scaling.assert_no_pending_responses()
        stub.assert_no_pending_responses()


def test_access_denied_on_a_components_scaling_deletes_nothing(aws: Aws) -> None:
    scanned = scanned_with_components(aws, component("dogcat-ic-a", "InService"))
    with Stubber(autoscaling(aws)) as scaling, Stubber(sm(aws)) as stub:  # no SageMaker answers: any call fails
        scaling.add_response("describe_scalable_targets", {"ScalableTargets": [component_target("dogcat-ic-a")]})
        scaling.add_client_error("deregister_scalable_target", "AccessDeniedException", "not authorized", 400)

        with pytest.raises(ClientError, match="not authorized"):
            EndpointType().delete(aws, scanned, approval_of(scanned))

        scaling.assert_no_pending_responses()
        stub.assert_no_pending_responses()


def test_component_gone_at_once_lets_the_endpoint_go_in_the_same_pass(aws: Aws) -> None:
    scanned = scanned_with_components(aws, component("dogcat-ic-a", "InService"))
    with Stubber(sm(aws)) as stub:
        stub.add_client_error(
            "delete_inference_component",
            "ValidationException",
            "Could not find inference component dogcat-ic-a.",
            400,
            {"InferenceComponentName": "dogcat-ic-a"},
        )
        stub.add_response("list_inference_components", {"InferenceComponents": []}, {"EndpointNameEquals": ENDPOINT})
        stub.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})

        EndpointType().delete(aws, scanned, approval_of(scanned))

        stub.assert_no_pending_responses()


def test_component_created_after_the_scan_keeps_the_endpoint_untouched(aws: Aws) -> None:
    scanned = scanned_with_components(aws, component("dogcat-ic-a", "InService"))
    later = datetime(2026, 1, 5, tzinfo=UTC)
    now = scanned_with_components(
        aws, component("dogcat-ic-a", "InService"), component("colleague-ic", "InService", later)
    )

    appeared = "inference component colleague-ic on this endpoint appeared after the scan"
    with Stubber(sm(aws)), pytest.raises(KeptError, match=appeared):  # no answers: any SageMaker call fails
        EndpointType().delete(aws, now, approval_of(scanned))


def test_components_without_an_approval_are_never_deleted(aws: Aws) -> None:
    found = scanned_with_components(aws, component("dogcat-ic-a", "InService"))

    with Stubber(sm(aws)), pytest.raises(KeptError, match="dogcat-ic-a"):
        EndpointType().delete(aws, found, None)


def test_component_aws_refuses_to_delete_yet_is_waited_for(aws: Aws) -> None:
    scanned = scanned_with_components(aws, component("dogcat-ic-a", "Creating"))
    with Stubber(sm(aws)) as stub:
        stub.add_client_error(
            "delete_inference_component",
            "ValidationException",
            "Cannot delete inference component dogcat-ic-a while it is in status Creating.",
            400,
        )
        stub.add_response(
            "list_inference_components",
            {"InferenceComponents": [component("dogcat-ic-a", "Creating")]},
            {"EndpointNameEquals": ENDPOINT},
        )

        with pytest.raises(NotYet, match=r"dogcat-ic-a \(Creating\)"):
            EndpointType().delete(aws, scanned, approval_of(scanned))


# --- auto scaling: deregistered before the endpoint goes ------------------------------------------------------


def register_target(aws: Aws, endpoint: str, variant: str = "main") -> None:
    autoscaling(aws).register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{endpoint}/variant/{variant}",
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )


def registered(aws: Aws) -> set[str]:
    targets = autoscaling(aws).describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    return {t["ResourceId"] for t in targets}


def test_scalable_targets_are_deregistered_before_delete_endpoint(aws: Aws, endpoint: Found) -> None:
    register_target(aws, ENDPOINT)
    register_target(aws, "dogcat-endpoint-colleague")  # another endpoint's scaling stays
    calls: list[str] = []
    for client in (sm(aws), autoscaling(aws)):
        client.meta.events.register("before-call", lambda event_name, **_: calls.append(event_name.split(".")[-1]))

    EndpointType().delete(aws, endpoint)

    assert registered(aws) == {"endpoint/dogcat-endpoint-colleague/variant/main"}
    assert ENDPOINT not in endpoint_names(aws)
    assert calls.index("DeregisterScalableTarget") < calls.index("DeleteEndpoint")


def test_failed_endpoint_variants_come_from_its_config(aws: Aws, endpoint: Found) -> None:
    """A Failed endpoint may report no variants; its config says which targets could have been registered."""
    with Stubber(sm(aws)) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": ENDPOINT,
                "EndpointArn": ARN,
                "EndpointConfigName": ENDPOINT,
                "EndpointStatus": "Failed",
                "FailureReason": "ResourceLimitExceeded",
                "CreationTime": CREATED,
                "LastModifiedTime": CREATED,
            },
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": ENDPOINT,
                "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{ENDPOINT}",
                "ProductionVariants": [{"VariantName": "blue"}, {"VariantName": "green"}],
                "CreationTime": CREATED,
            },
        )
        stub.add_response("list_inference_components", {"InferenceComponents": []})
        stub.add_response("list_tags", {"Tags": []})
        found = EndpointType().get(aws, REGION, ENDPOINT)
    assert found is not None
    assert found.details["variants"] == ["blue", "green"]
    assert found.details["failure_reason"] == "ResourceLimitExceeded"
    register_target(aws, ENDPOINT, "green")

    EndpointType().delete(aws, found)

    assert registered(aws) == set()
    assert ENDPOINT not in endpoint_names(aws)


def test_access_denied_on_scaling_fails_and_keeps_the_endpoint(aws: Aws, endpoint: Found) -> None:
    with Stubber(autoscaling(aws)) as stub:
        stub.add_client_error(
            "describe_scalable_targets",
            "AccessDeniedException",
            "User is not authorized to perform: application-autoscaling:DescribeScalableTargets",
            400,
            {"ServiceNamespace": "sagemaker", "ResourceIds": [f"endpoint/{ENDPOINT}/variant/main"]},
        )

        with pytest.raises(ClientError) as caught:
            EndpointType().delete(aws, endpoint)

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert ENDPOINT in endpoint_names(aws)  # not deleted with its scaling left behind


# The main variant's scalable target, as DescribeScalableTargets answers it.
MAIN_VARIANT_TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": f"endpoint/{ENDPOINT}/variant/main",
    "ScalableDimension": DIMENSION,
    "MinCapacity": 1,
    "MaxCapacity": 4,
    "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/x",
    "CreationTime": CREATED,
}


def test_access_denied_on_deregister_fails_and_keeps_the_endpoint(aws: Aws, endpoint: Found) -> None:
    with Stubber(autoscaling(aws)) as stub:
        stub.add_response("describe_scalable_targets", {"ScalableTargets": [MAIN_VARIANT_TARGET]})
        stub.add_client_error("deregister_scalable_target", "AccessDeniedException", "not authorized", 400)

        with pytest.raises(ClientError, match="not authorized"):
            EndpointType().delete(aws, endpoint)

    assert ENDPOINT in endpoint_names(aws)


def test_target_already_gone_counts_as_deregistered(aws: Aws, endpoint: Found) -> None:
    with Stubber(autoscaling(aws)) as stub:
        stub.add_response("describe_scalable_targets", {"ScalableTargets": [MAIN_VARIANT_TARGET]})
        stub.add_client_error("deregister_scalable_target", "ObjectNotFoundException", "No scalable target", 400)

        EndpointType().delete(aws, endpoint)

    assert ENDPOINT not in endpoint_names(aws)


def test_many_variants_are_described_fifty_ids_at_a_time(aws: Aws, endpoint: Found) -> None:
    variants = [f"v{i}" for i in range(51)]
    with Stubber(autoscaling(aws)) as stub:
        for chunk in (variants[:50], variants[50:]):
            ids = [f"endpoint/{ENDPOINT}/variant/{v}" for v in chunk]
            stub.add_response(
                "describe_scalable_targets",
                {"ScalableTargets": []},
                {"ServiceNamespace": "sagemaker", "ResourceIds": ids},
            )

        EndpointType().delete(aws, replace(endpoint, details={**endpoint.details, "variants": variants}))

        stub.assert_no_pending_responses()
