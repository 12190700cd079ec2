"""Three SageMaker listings that moto 5.2.5 does not implement, filled in from moto's own state.

The app must list SageMaker Studio user profiles and feature groups to prove a role or bucket unused (and spaces
would follow). moto raises NotImplementedError for ListUserProfiles, ListSpaces and ListFeatureGroups, which its
server answers with HTTP 500 and botocore retries for a minute. These answers use moto's own records where it has
them (feature groups) and answer "none" where it keeps none (user profiles, spaces: moto cannot create them; tests
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

    SageMakerResponse.list_feature_groups = list_feature_groups  # type: ignore[attr-defined]
    SageMakerResponse.list_user_profiles = list_user_profiles  # type: ignore[attr-defined]
    SageMakerResponse.list_spaces = list_spaces  # type: ignore[attr-defined]
    SageMakerResponse._dogcat_gaps = True  # type: ignore[attr-defined]


def enable_only_regions(regions: list[str]) -> None:
    """Make moto's account have only `regions` enabled (the others "not-opted-in", as opt-in regions are on AWS).

    For tests: the app lists users of roles and buckets in every enabled region, and moto enables 20; four keep
    the suite quick while still spreading users over regions that are not scanned. Benchmarks keep moto's 20.
    """
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    for region in RegionsAndZonesBackend.regions:
        if region.name not in regions and region.opt_in_status == "opt-in-not-required":
            region.opt_in_status = "not-opted-in"
