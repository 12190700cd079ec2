"""Four SageMaker listings that moto 5.2.5 does not implement, filled in from moto's own state (and API
Gateway's empty list of a custom domain's base path mappings, where moto fails).

The app must list SageMaker Studio user profiles and feature groups to prove a role or bucket unused (and spaces
would follow), and an endpoint's inference components to delete them first. moto raises NotImplementedError for
ListUserProfiles, ListSpaces, ListFeatureGroups and ListInferenceComponents, which its server answers with HTTP 500
and botocore retries for a minute. These answers use moto's own records where it has them (feature groups) and
answer "none" where it keeps none (user profiles, spaces, inference components: moto cannot create them; tests
that need one answer through botocore events in AWS's wire format). Applied by every moto the project starts:
the embedded demo, the tests' servers and mocks, the benchmarks' processes. Never imported by the app itself.
"""

from __future__ import annotations

import json
from typing import Any


def apply() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    if getattr(SageMakerResponse, "_dogcat_gaps", False):
        return

    def list_feature_groups(self: Any) -> str:
        groups = sorted(self.sagemaker_backend.feature_groups.values(), key=lambda g: g.creation_time)
        return json.dumps(
            {
                "FeatureGroupSummaries": [
                    {
                        "FeatureGroupName": g.feature_group_name,
                        "FeatureGroupArn": g.arn,
                        "CreationTime": g.creation_time.timestamp()
                        if hasattr(g.creation_time, "timestamp")
                        else str(g.creation_time),
                        "FeatureGroupStatus": "Created",
                    }
                    for g in groups
                ]
            }
        )

    def list_user_profiles(self: Any) -> str:
        return json.dumps({"UserProfiles": []})

    def list_spaces(self: Any) -> str:
        return json.dumps({"Spaces": []})

    def list_inference_components(self: Any) -> str:
        # moto cannot create inference components (endpoint configs without ModelName are refused): none exist.
        return json.dumps({"InferenceComponents": []})

    SageMakerResponse.list_feature_groups = list_feature_groups  # type: ignore[attr-defined]
    SageMakerResponse.list_user_profiles = list_user_profiles  # type: ignore[attr-defined]
    SageMakerResponse.list_spaces = list_spaces  # type: ignore[attr-defined]
    SageMakerResponse.list_inference_components = list_inference_components  # type: ignore[attr-defined]
    SageMakerResponse._dogcat_gaps = True  # type: ignore[attr-defined]
    _empty_base_path_mappings()


def _empty_base_path_mappings() -> None:
    """API Gateway GetBasePathMappings of a custom domain that maps nothing: AWS answers an empty list, moto 5.2.5
    raises KeyError (HTTP 500 on its server, retried by botocore)."""
    from moto.apigateway.models import APIGatewayBackend

    original = APIGatewayBackend.get_base_path_mappings

    def get_base_path_mappings(self: Any, domain_name: str) -> Any:
        if domain_name in self.domain_names and domain_name not in self.base_path_mappings:
            return []
        return original(self, domain_name)

    APIGatewayBackend.get_base_path_mappings = get_base_path_mappings  # type: ignore[method-assign]


def enable_only_regions(regions: list[str]) -> None:
    """Make moto's account have only `regions` enabled (the others "not-opted-in", as opt-in regions are on AWS).

    For tests: the app lists users of roles and buckets in every enabled region, and moto enables 20; four keep
    the suite quick while still spreading users over regions that are not scanned. Benchmarks keep moto's 20.
    """
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    for region in RegionsAndZonesBackend.regions:
        if region.name not in regions and region.opt_in_status == "opt-in-not-required":
            region.opt_in_status = "not-opted-in"
