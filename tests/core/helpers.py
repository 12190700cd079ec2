"""Shared set-up for core tests: the dogcat profile, a seeded account, fault-injecting clients."""

from __future__ import annotations

from bot.aws.clients import Aws, new_session
from bot.aws.registry import RESOURCE_TYPES
from bot.profiles import Profile, load_profiles
from tests.faults import Faults

REGION = "us-east-1"


def dogcat() -> Profile:
    return load_profiles(None, frozenset(RESOURCE_TYPES))["dogcat"]


def faulty_aws(region: str = REGION) -> tuple[Aws, Faults]:
    session = new_session(region_name=region)
    faults = Faults(session)
    return Aws(session), faults


def planned_ids(plan: object, kept: bool = False) -> set[str]:
    resources = plan.kept if kept else plan.to_delete  # type: ignore[attr-defined]
    return {f"{r.type}:{r.id}" for r in resources}
