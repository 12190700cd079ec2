"""Proof of non-use: who outside the plan uses a role or a bucket, across every enabled region of the account.

A role's trust policy says who can use it; for each principal the AWS layer has listings of that service's users
(`bot.aws.usage`). A principal with no listing (another service, an AWS account or role, a federated or OIDC
identity) means the app cannot prove the role unused, and it is kept. A bucket's users are every listing that can
read S3. A listing that failed in one region keeps everything it could have shown a user of.

`Surveyor` runs the listings, per (listing, region), concurrently, and coalesces them: a caller says since when a
listing must have started (for a just-in-time check, the moment the resource became ready to delete), and a
listing that started since then is shared instead of repeated. A listing that started earlier is never reused, so
coalescing cannot hide a user created before the check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.base import error_code
from bot.aws.clients import Aws
from bot.aws.s3 import prefix_covers, top_prefix
from bot.aws.usage import EC2_LISTER, LISTERS_BY_KEY, Use, bucket_listers, listers_for_principal
from bot.logs import carry_context

SAGEMAKER = "sagemaker.amazonaws.com"
SURVEY_WORKERS = 48  # listings are independent per (service, region); ~14 listings x ~17 regions per survey


@dataclass
class Survey:
    """What the listings found: every user, and which listings could not be read (lister key, region) -> why."""

    uses: list[Use] = field(default_factory=list)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    regions_error: str = ""  # the account's regions could not be read: nothing can be proven unused


class Surveyor:
    """Runs and shares listings of users. Thread-safe; one per scan or run."""

    def __init__(self, aws: Aws, max_workers: int = SURVEY_WORKERS) -> None:
        self.aws = aws
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="survey")
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, str], tuple[float, Future[list[Use]]]] = {}
        self.calls = 0  # listings started (for benchmarks and tests)

    def start(self, lister_keys: Iterable[str], since: float) -> None:
        """Start the listings now without waiting (a scan starts them while it reads the rest)."""
        try:
            regions = self.aws.enabled_regions()
        except (ClientError, BotoCoreError):
            return  # survey() will report it
        for key in set(lister_keys):
            for region in regions:
                self._listing(key, region, since)

    def survey(self, lister_keys: Iterable[str], since: float) -> Survey:
        """Every listing of `lister_keys` in every enabled region, each started at or after `since` (monotonic)."""
        keys = sorted(set(lister_keys))
        if not keys:
            return Survey()
        try:
            regions = self.aws.enabled_regions()
        except (ClientError, BotoCoreError) as e:
            return Survey(regions_error=f"could not list the account's enabled regions: {error_code(e)}")
        futures = [(key, region, self._listing(key, region, since)) for key in keys for region in regions]
        result = Survey(regions=list(regions))
        for key, region, future in futures:
            try:
                result.uses.extend(future.result())
            except (ClientError, BotoCoreError) as e:
                result.failures[(key, region)] = error_code(e)
        return result

    def _listing(self, key: str, region: str, since: float) -> Future[list[Use]]:
        with self._lock:
            known = self._listings.get((key, region))
            if known is not None and known[0] >= since:
                return known[1]
            started = time.monotonic()
            future = self._pool.submit(carry_context(LISTERS_BY_KEY[key].list), self.aws, region)
            self._listings[(key, region)] = (started, future)
            self.calls += 1
            return future

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# -- what must be listed ------------------------------------------------------------------------------------------


def role_listings(details: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """The listings that can find every user of a role (from its trust policy and instance profiles), and the
    principals nobody can list (which keep the role)."""
    trust = details.get("trust")
    if not isinstance(trust, dict):
        return set(), ["a trust policy the app did not read"]
    keys: set[str] = set()
    unprovable = [str(p) for p in trust.get("other", [])]
    for service in trust.get("services", []):
        listers = listers_for_principal(str(service))
        if listers:
            keys.update(lister.key for lister in listers)
        else:
            unprovable.append(f"the service {service}")
    if details.get("instance_profiles"):
        keys.add(EC2_LISTER)  # an instance holding one of its profiles uses the role, whatever the trust says
    return keys, unprovable


def bucket_listings() -> set[str]:
    return {lister.key for lister in bucket_listers()}


def sagemaker_can_use(details: Mapping[str, Any]) -> bool:
    trust = details.get("trust")
    return isinstance(trust, dict) and SAGEMAKER in trust.get("services", [])


# -- who uses it --------------------------------------------------------------------------------------------------


def _where(use: Use) -> str:
    return f"{use.kind} {use.name} in {use.region}"


def _outside(use: Use, planned: Mapping[str, str], kept: AbstractSet[str]) -> tuple[str, str]:
    """(keep kind, why) when `use` keeps what it uses, or ("", "") when it is planned, unchanged and deleted first.

    `kept`: plan keys of resources the plan holds but keeps (or that were not deleted): they still use it.
    """
    if use.plan_key and use.plan_key in kept:
        return "depends-on-kept", "which is kept"
    if not use.plan_key or use.plan_key not in planned:
        return "in-use", "not in the plan"
    if use.identity and planned[use.plan_key] and use.identity != planned[use.plan_key]:
        return "in-use", "which changed since the scan"
    return "", ""


def _failures(survey: Survey, keys: Iterable[str]) -> str:
    if survey.regions_error:
        return survey.regions_error
    failed = [(key, region, code) for (key, region), code in survey.failures.items() if key in set(keys)]
    if not failed:
        return ""
    key, region, code = sorted(failed)[0]
    more = f" (and {len(failed) - 1} more listings)" if len(failed) > 1 else ""
    return f"could not check {LISTERS_BY_KEY[key].label} in {region}: {code}{more}"


@dataclass
class RoleVerdict:
    kind: str = ""  # "" (safe to delete), "unprovable", "unchecked", "in-use"
    reason: str = ""


def judge_role(
    name: str,
    details: Mapping[str, Any],
    survey: Survey,
    planned: Mapping[str, str],
    kept: AbstractSet[str] = frozenset(),
) -> RoleVerdict:
    """Whether a role is proven unused by anything outside `planned` (plan key -> identity seen at scan)."""
    keys, unprovable = role_listings(details)
    if unprovable:
        return RoleVerdict(
            "unprovable", f"cannot prove it is unused: trusted by {', '.join(unprovable)}, which the app cannot list"
        )
    failed = _failures(survey, keys)
    if failed:
        return RoleVerdict("unchecked", f"{failed}; kept because its users there are unknown")
    profiles = set(details.get("instance_profiles") or [])
    for use in sorted(survey.uses, key=lambda u: (u.kind, u.region, u.name)):
        if name in use.roles or (profiles and use.instance_profiles & profiles):
            kind, why = _outside(use, planned, kept)
            if kind:
                verb = "used" if kind == "depends-on-kept" else "still used"
                return RoleVerdict(kind, f"{verb} by {_where(use)}, {why}")
    return RoleVerdict()


@dataclass
class BucketUse:
    """Who reads or writes a bucket, and under which top-level prefixes ("" is the whole bucket)."""

    planned_prefixes: set[str] = field(default_factory=set)
    # use, (keep kind, why it keeps the bucket), the prefixes it uses
    outside: list[tuple[Use, tuple[str, str], set[str]]] = field(default_factory=list)
    unchecked: str = ""

    def outside_user(self, prefix: str | None = None) -> tuple[str, str]:
        """(keep kind, reason) of the first outside user of `prefix` (of any part of the bucket when None)."""
        for use, (kind, why), prefixes in self.outside:
            if prefix is None or any(_overlap(prefix, p) for p in prefixes):
                verb = "used" if kind == "depends-on-kept" else "still used"
                return kind, f"{verb} by {_where(use)}, {why}"
        return "", ""

    def outside_reason(self, prefix: str | None = None) -> str:
        return self.outside_user(prefix)[1]


def _overlap(a: str, b: str) -> bool:
    return not a or not b or a == b


def bucket_use(
    bucket: str, survey: Survey, planned: Mapping[str, str], kept: AbstractSet[str] = frozenset()
) -> BucketUse:
    result = BucketUse(unchecked=_failures(survey, bucket_listings()))
    for use in sorted(survey.uses, key=lambda u: (u.kind, u.region, u.name)):
        prefixes = {top_prefix(loc.key) for loc in use.locations if loc.bucket == bucket.lower()}
        if not prefixes:
            continue
        verdict = _outside(use, planned, kept)
        if verdict[0]:
            result.outside.append((use, verdict, prefixes))
        else:
            result.planned_prefixes |= prefixes
    return result


def uncovered(prefixes: Iterable[str], covered_by: Iterable[str]) -> list[str]:
    """The top-level prefixes of a bucket that none of `covered_by` accounts for."""
    covering = list(covered_by)
    return [p for p in prefixes if not any(prefix_covers(c, p) or c == p for c in covering)]
