"""Scan: from a profile's names to a Plan, following references and keeping whatever is not provably safe.

Stages, each concurrent where AWS calls are independent:
1. list every (resource type, region): the profile's candidates, and for "user" types (functions, models,
   endpoints, configs) everything, so we know what outside the plan still uses a candidate;
2. follow the references the profile names (endpoint -> config -> models -> role and bucket...);
3. prove roles and buckets unused: list their possible users in every enabled region (`bot.core.usage`),
   started during stage 1 so that it overlaps the rest;
4. decide: protected, guarded, in use from outside, unprovable, or used only by kept resources -> kept, with a
   reason; a bucket that holds more than the plan accounts for is shared: kept, and its approved prefixes planned
   as `s3.objects`;
5. order: every resource depends on the planned resources that use it; a role SageMaker can use and every
   bucket also wait for every planned SageMaker endpoint, config and model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from bot.aws.base import GLOBAL, Found, Ref, ResourceType, error_code, error_message
from bot.aws.clients import Aws
from bot.core.keeps import KeepUntil, KeepVerdict, keep_verdict
from bot.core.plan import KeepKind, Plan, PlannedResource, ScanProblem
from bot.core.pricing import human_bytes, monthly_cost
from bot.core.usage import (
    Survey,
    Surveyor,
    bucket_listings,
    bucket_use,
    judge_role,
    role_listings,
    sagemaker_can_use,
    uncovered,
)
from bot.profiles import Profile, Selector

WORKERS_PER_REGION = 12  # listings and reads are independent per region: regions must not queue behind each other


def scan_workers(regions: Sequence[str]) -> int:
    return min(64, WORKERS_PER_REGION * (len(regions) + 1))  # + 1 for the global services (IAM, S3)


class ScanError(Exception):
    """Nothing could be scanned (no credentials, AWS unreachable, unknown region). The message is for people."""


LookupKey = tuple[str, str, str]


def lookup_key(types: Mapping[str, ResourceType], type_: str, region: str, id_: str) -> LookupKey:
    # Global types (IAM roles, S3 buckets) are referenced with region "global" whatever region they live in.
    rtype = types.get(type_)
    return (type_, GLOBAL if rtype is not None and rtype.is_global else region, id_)


def default_types() -> Mapping[str, ResourceType]:
    from bot.aws.registry import RESOURCE_TYPES

    return RESOURCE_TYPES


def check_regions(aws: Aws, regions: Sequence[str]) -> None:
    """Refuse region names AWS does not have (botocore's offline endpoint data), before any call."""
    known = aws.known_regions()
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise ScanError(f"unknown AWS region {', '.join(unknown)}; known regions: {', '.join(sorted(known))}")


@dataclass
class _Inventory:
    """What stage 1 and 2 learned."""

    candidates: dict[LookupKey, tuple[Found, str]] = field(default_factory=dict)  # found, why picked
    users: dict[LookupKey, Found] = field(default_factory=dict)  # every listed resource of a user type
    problems: list[ScanProblem] = field(default_factory=list)
    unchecked: dict[str, list[ScanProblem]] = field(default_factory=lambda: defaultdict(list))  # type -> why


def scan(
    aws: Aws,
    profile: Profile,
    regions: Sequence[str],
    types: Mapping[str, ResourceType] | None = None,
    now: float | None = None,
    keeps: Sequence[KeepUntil] = (),
) -> Plan:
    """`keeps`: what owners kept until a date (the state store's); `now` (default: the real time) decides which
    of them, and which cleanup:keep-until tags, still hold."""
    types = types if types is not None else default_types()
    regions = list(dict.fromkeys(regions)) or [aws.default_region]
    check_regions(aws, regions)
    try:
        account_id = aws.account_id()
    except NoCredentialsError:
        raise ScanError("no AWS credentials found (set them the way boto3 reads them)") from None
    except (ClientError, BotoCoreError) as e:
        raise ScanError(f"cannot reach AWS to identify the account: {error_code(e)}: {error_message(e)}") from None

    started, scan_started = time.monotonic(), time.time()
    surveyor = Surveyor(aws)
    try:
        if {"iam.role", "s3.bucket"} & set(profile.find):
            # The likely listings start now, overlapping stages 1-2; the survey below reuses them.
            surveyor.start(bucket_listings() | {"lambda.function"}, started)
        with ThreadPoolExecutor(max_workers=scan_workers(regions), thread_name_prefix="scan") as pool:
            inventory = _list_everything(aws, pool, profile, regions, account_id, types)
            _follow_references(aws, pool, profile, inventory, types)
        survey = surveyor.survey(_listings_needed(inventory), started)
    finally:
        surveyor.close()
    owner_keeps = _kept_until(inventory, keeps, account_id, time.time() if now is None else now)
    resources = _decide(inventory, types, survey, profile, regions, account_id, scan_started, owner_keeps)
    return Plan(
        profile=profile.name,
        account_id=account_id,
        regions=regions,
        created_at=time.time() if now is None else now,
        resources=resources,
        problems=inventory.problems,
    )


def _listings_needed(inventory: _Inventory) -> set[str]:
    keys: set[str] = set()
    for found, _why in inventory.candidates.values():
        if found.type == "iam.role":
            keys |= role_listings(found.details)[0]
        elif found.type == "s3.bucket":
            keys |= bucket_listings()
    return keys


def _list_everything(
    aws: Aws,
    pool: ThreadPoolExecutor,
    profile: Profile,
    regions: list[str],
    account_id: str,
    types: Mapping[str, ResourceType],
) -> _Inventory:
    inventory = _Inventory()
    jobs = []
    for key, rtype in types.items():
        selector = profile.find.get(key)
        if selector is None and not rtype.references_others:
            continue
        # Names may mention {region}: a global listing (S3, IAM) matches the names of every scanned region.
        if rtype.is_global:
            per_region = [(GLOBAL, [selector.expand(r, account_id) for r in regions] if selector else [])]
        else:
            per_region = [(r, [selector.expand(r, account_id)] if selector else []) for r in regions]
        for region, selectors in per_region:
            jobs.append((rtype, region, selectors, pool.submit(_list_one, aws, rtype, region, selectors)))
    for rtype, region, selectors, future in jobs:
        try:
            found = future.result()
        except (ClientError, BotoCoreError) as e:
            problem = ScanProblem(rtype.label, region, error_code(e), error_message(e))
            inventory.problems.append(problem)
            for referenced in rtype.may_reference:
                inventory.unchecked[referenced].append(problem)
            continue
        for item in found:
            item_key = lookup_key(types, item.type, item.region, item.id)
            if rtype.references_others:
                inventory.users[item_key] = item
            why = _picked_by(selectors, item.name)
            if why:
                inventory.candidates[item_key] = (item, why)
    return inventory


def _list_one(aws: Aws, rtype: ResourceType, region: str, selectors: list[Selector]) -> list[Found]:
    if rtype.references_others:
        return rtype.find(aws, region, lambda _name: True)
    return rtype.find(aws, region, lambda name: any(s.matches(name) for s in selectors))


def _picked_by(selectors: Iterable[Selector], name: str) -> str:
    for selector in selectors:
        if selector.matches(name):
            return selector.describe(name)
    return ""


def _follow_references(
    aws: Aws, pool: ThreadPoolExecutor, profile: Profile, inventory: _Inventory, types: Mapping[str, ResourceType]
) -> None:
    """Breadth-first: each wave reads the referenced resources not yet known, concurrently."""
    frontier = list(inventory.candidates.values())
    while frontier:
        wanted: dict[LookupKey, tuple[Ref, str]] = {}
        for found, _why in frontier:
            for ref in found.refs:
                if ref.type not in types or not profile.follows(found.type, ref.rel):
                    continue
                key = lookup_key(types, ref.type, ref.region, ref.id)
                if key not in inventory.candidates and key not in wanted:
                    wanted[key] = (ref, f"{ref.rel.replace('-', ' ')} of {types[found.type].label} {found.name}")
        frontier = []
        to_read = []
        for key, (ref, why) in wanted.items():
            known = inventory.users.get(key)
            if known is not None:
                inventory.candidates[key] = (known, why)
                frontier.append((known, why))
            else:
                to_read.append((key, ref, why, pool.submit(types[ref.type].get, aws, ref.region, ref.id)))
        for key, ref, why, future in to_read:
            try:
                read = future.result()
            except (ClientError, BotoCoreError) as e:
                label = types[ref.type].label
                inventory.problems.append(
                    ScanProblem(label, ref.region, error_code(e), f"{ref.id}: {error_message(e)}")
                )
                continue
            if read is None:  # referenced but absent, e.g. a log group never written to
                continue
            key = lookup_key(types, read.type, read.region, read.id)
            if key not in inventory.candidates:
                inventory.candidates[key] = (read, why)
                frontier.append((read, why))


def _decide(
    inventory: _Inventory,
    types: Mapping[str, ResourceType],
    survey: Survey,
    profile: Profile,
    regions: list[str],
    account_id: str,
    scan_started: float,
    owner_keeps: Mapping[LookupKey, KeepVerdict] | None = None,
) -> list[PlannedResource]:
    owner_keeps = owner_keeps or {}
    # Who uses what, from every listed user resource and every candidate.
    users_of: dict[LookupKey, dict[LookupKey, Found]] = defaultdict(dict)
    everything = {**inventory.users, **{k: f for k, (f, _) in inventory.candidates.items()}}
    for user_key, user in everything.items():
        for ref in user.refs:
            users_of[lookup_key(types, ref.type, ref.region, ref.id)][user_key] = user

    keep: dict[LookupKey, tuple[KeepKind, str]] = {}
    for key, (found, _why) in inventory.candidates.items():
        if found.protected:
            keep[key] = ("protected", "tagged cleanup:protect=true")
        elif found.guard:
            keep[key] = ("guarded", f"{found.guard}; the app never switches AWS's guards off")
        elif key in owner_keeps:
            keep[key] = ("kept-until", owner_keeps[key].reason)
        elif inventory.unchecked.get(found.type):
            problem = inventory.unchecked[found.type][0]
            keep[key] = ("unchecked", f"could not check whether it is still used: {problem}")

    # Fixpoint: a resource used by anything that stays (outside the plan, or kept) stays too.
    changed = True
    while changed:
        changed = False
        planned = {_plan_key(f): f.identity for k, (f, _) in inventory.candidates.items() if k not in keep}
        kept_keys = {_plan_key(f) for k, (f, _) in inventory.candidates.items() if k in keep}
        for key, (found, _why) in inventory.candidates.items():
            if key in keep:
                continue
            verdict = _account_wide_use(found, survey, planned, kept_keys)
            if verdict:
                keep[key] = verdict
                changed = True
                continue
            for user_key, user in users_of.get(key, {}).items():
                if user_key in inventory.candidates and user_key not in keep:
                    continue
                label = types[user.type].label if user.type in types else user.type
                where = "" if user.region == GLOBAL else f" in {user.region}"
                if user_key in inventory.candidates:
                    keep[key] = ("depends-on-kept", f"used by {label} {user.name}{where}, which is kept")
                else:
                    keep[key] = ("in-use", f"still used by {label} {user.name}{where}, which is not in the plan")
                changed = True
                break

    planned = {_plan_key(f): f.identity for k, (f, _) in inventory.candidates.items() if k not in keep}
    kept_keys = {_plan_key(f) for k, (f, _) in inventory.candidates.items() if k in keep}
    sagemaker_keys = sorted(k for k in planned if k.startswith("sagemaker."))
    resources: list[PlannedResource] = []
    for key, (found, why) in inventory.candidates.items():
        cost, basis = monthly_cost(found.type, found.usage)
        rtype = types[found.type]
        kind, reason = keep.get(key, (None, ""))
        depends_on = {
            _plan_key(u)
            for user_key, u in users_of.get(key, {}).items()
            if user_key in inventory.candidates and user_key not in keep
        }
        # SageMaker needs the execution role (and may write to the bucket) until its endpoints are gone.
        if found.type == "s3.bucket" or (found.type == "iam.role" and sagemaker_can_use(found.details)):
            depends_on |= set(sagemaker_keys)
        details = dict(found.details)
        if kind == "kept-until":
            until = owner_keeps[key].until
            details["keep_until"] = until.isoformat() if until else ""
            details["kept_by"] = owner_keeps[key].by
        if found.type == "s3.bucket" and kind is None:
            shared = _shared_bucket(found, survey, planned, kept_keys, profile, regions, account_id)
            if shared is not None:
                kind, reason, objects = shared
                resources.extend(_objects(found, objects, sorted(depends_on), types, scan_started))
            else:
                details["written_before"] = _written_before(found, scan_started)
        resources.append(
            PlannedResource(
                type=found.type,
                label=rtype.label,
                service=rtype.service_label,
                region=found.region,
                id=found.id,
                name=found.name,
                arn=found.arn,
                identity=found.identity,
                reason=why,
                monthly_cost=cost,
                cost_basis=basis,
                depends_on=[] if kind else sorted(depends_on),
                keep=kind,
                keep_reason=reason,
                details=details,
                created_at=_created_at(found),
            )
        )
    order = list(types)
    resources.sort(key=lambda r: (order.index(r.type) if r.type in types else 99, r.region, r.name))
    return resources


def _kept_until(
    inventory: _Inventory, keeps: Sequence[KeepUntil], account_id: str, now: float
) -> dict[LookupKey, KeepVerdict]:
    """Candidates an owner kept until a date that has not passed (stored keeps of this account, or the tag)."""
    stored: dict[str, KeepUntil] = {}
    for k in keeps:
        if k.account_id in ("", account_id) and (k.key not in stored or k.until > stored[k.key].until):
            stored[k.key] = k
    verdicts = {}
    for key, (found, _why) in inventory.candidates.items():
        verdict = keep_verdict(found.tags, stored.get(_plan_key(found)), now)
        if verdict is not None:
            verdicts[key] = verdict
    return verdicts


def _account_wide_use(
    found: Found, survey: Survey, planned: Mapping[str, str], kept: set[str]
) -> tuple[KeepKind, str] | None:
    """Roles and buckets: users listed in every enabled region. None when nothing outside the plan uses it."""
    if found.type == "iam.role":
        verdict = judge_role(found.id, found.details, survey, planned, kept)
        return (verdict.kind, verdict.reason) if verdict.kind else None  # type: ignore[return-value]
    if found.type == "s3.bucket":
        use = bucket_use(found.id, survey, planned, kept)
        if use.unchecked:
            return ("unchecked", f"{use.unchecked}; kept because its readers there are unknown")
        # Outside users of the whole bucket keep it whole; users of some prefixes make it shared (decided later).
        for _use, _verdict, prefixes in use.outside:
            if "" in prefixes:
                return use.outside_user("")  # type: ignore[return-value]
    return None


def _written_before(found: Found, scan_started: float) -> float:
    """The newest write the approver was shown: later versions were not approved. When the listing was cut
    short (or the bucket was empty), the moment the scan started: nothing written during the scan was shown."""
    contents = found.details.get("contents") or {}
    if contents.get("complete") and contents.get("newest") is not None:
        return float(contents["newest"])
    return scan_started


def _shared_bucket(
    found: Found,
    survey: Survey,
    planned: Mapping[str, str],
    kept: set[str],
    profile: Profile,
    regions: list[str],
    account_id: str,
) -> tuple[KeepKind, str, list[str]] | None:
    """None when the bucket may go whole; else (kind, reason, the approved prefixes whose objects are deleted)."""
    use = bucket_use(found.id, survey, planned, kept)
    contents = found.details.get("contents") or {}
    held = dict(contents.get("prefixes") or {})
    plan_prefixes = use.planned_prefixes | profile.prefixes_for_bucket(found.id, regions, account_id)
    if "" in plan_prefixes:
        plan_prefixes = {""}
    others = uncovered(held, plan_prefixes)
    complete = bool(contents.get("complete")) and bool(contents.get("prefixes_complete"))
    if not use.outside and not others and complete:
        return None
    deletable = sorted(p for p in plan_prefixes if p and not use.outside_reason(p) and _holds(held, p))
    kind: KeepKind = "shared"
    if use.outside:
        outside_kind, reason = use.outside_user()
        kind = "depends-on-kept" if outside_kind == "depends-on-kept" else "in-use"
    else:
        reason = "shared: " + _holdings_text(held, others, complete)
    if deletable:
        reason += f"; only the approved objects under {', '.join(deletable)} are deleted"
    return kind, reason, deletable


def _holds(held: Mapping[str, Any], prefix: str) -> bool:
    return any(p == prefix or (prefix.endswith("/") and p.startswith(prefix)) for p in held)


def _holdings_text(held: Mapping[str, Any], others: list[str], complete: bool) -> str:
    parts = []
    for prefix in sorted(others, key=lambda p: -int(held[p].get("bytes", 0)))[:5]:
        summary = held[prefix]
        parts.append(f"{prefix} ({summary.get('versions', 0)} versions, {human_bytes(int(summary.get('bytes', 0)))})")
    text = "it also holds " + ", ".join(parts) if parts else "it holds more"
    if len(others) > 5:
        text += f" and {len(others) - 5} more prefixes"
    if not complete:
        text += " (the listing was cut short: it holds more than was read)"
    return text + ", which the plan does not account for"


def _objects(
    bucket: Found, prefixes: list[str], depends_on: list[str], types: Mapping[str, ResourceType], scan_started: float
) -> list[PlannedResource]:
    """The approved prefixes of a shared bucket, as resources of their own: deleted, while the bucket stays."""
    if not prefixes or "s3.objects" not in types:
        return []
    contents = bucket.details.get("contents") or {}
    held = contents.get("prefixes") or {}
    written_before = _written_before(bucket, scan_started)
    rtype = types["s3.objects"]
    resources = []
    for prefix in prefixes:
        parts = {p: s for p, s in held.items() if p == prefix or (prefix.endswith("/") and p.startswith(prefix))}
        summary = {
            "versions": sum(int(s.get("versions", 0)) for s in parts.values()),
            "markers": sum(int(s.get("markers", 0)) for s in parts.values()),
            "bytes": sum(int(s.get("bytes", 0)) for s in parts.values()),
            "latest": max((s.get("latest") or 0 for s in parts.values()), default=None),
        }
        resources.append(
            PlannedResource(
                type="s3.objects",
                label=rtype.label,
                service=rtype.service_label,
                region=bucket.region,
                id=f"{bucket.id}/{prefix}",
                name=f"s3://{bucket.id}/{prefix}",
                arn=f"{bucket.arn}/{prefix}*",
                identity=bucket.identity,
                reason=f"approved prefix of the shared bucket {bucket.id}",
                monthly_cost=None,
                cost_basis="part of the bucket's storage",
                depends_on=depends_on,
                details={"bucket": bucket.id, "prefix": prefix, "summary": summary, "written_before": written_before},
                created_at=_created_at(bucket),
            )
        )
    return resources


def _created_at(found: Found) -> float | None:
    value = found.details.get("created_at")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _plan_key(found: Found) -> str:
    return f"{found.type}|{found.region}|{found.id}"


def users_outside(aws: Aws, plan: Plan, types: Mapping[str, ResourceType] | None = None) -> dict[str, str]:
    """Re-check, just before deleting, what outside the plan uses a planned resource now.

    Something created after the scan (a new function on the role, a model reading the bucket) must keep the
    resource. Returns plan key -> reason to keep it, for each planned resource that is (or may be) used.
    """
    types = types if types is not None else default_types()
    planned = {lookup_key(types, r.type, r.region, r.id): r for r in plan.to_delete}
    user_types = [t for t in types.values() if t.references_others]
    reasons: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=scan_workers(plan.regions), thread_name_prefix="recheck") as pool:
        jobs = [
            (t, region, pool.submit(t.find, aws, region, lambda _n: True))
            for t in user_types
            for region in plan.regions
        ]
        for rtype, region, future in jobs:
            try:
                listed = future.result()
            except (ClientError, BotoCoreError) as e:
                for r in planned.values():
                    if r.type in rtype.may_reference and r.key not in reasons:
                        reasons[r.key] = f"could not re-check its use by {rtype.label}s in {region}: {error_code(e)}"
                continue
            for user in listed:
                if lookup_key(types, user.type, user.region, user.id) in planned:
                    continue
                for ref in user.refs:
                    target = planned.get(lookup_key(types, ref.type, ref.region, ref.id))
                    if target is not None and target.key not in reasons:
                        reasons[target.key] = f"now used by {rtype.label} {user.name} in {user.region}, not in the plan"
    return reasons
