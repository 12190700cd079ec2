"""Scan: from a profile's names to a Plan, following references and keeping whatever is not provably safe.

Stages, each concurrent where AWS calls are independent:
1. list every (resource type, region): the profile's candidates, and for "user" types (functions, models,
   endpoints, configs) everything, so we know what outside the plan still uses a candidate;
2. follow the references the profile names (endpoint -> config -> models -> role and bucket...);
3. decide: protected, guarded, in use from outside, or used only by kept resources -> kept, with a reason;
4. order: every resource depends on the planned resources that use it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from bot.aws.base import GLOBAL, Found, Ref, ResourceType, error_code, error_message
from bot.aws.clients import Aws
from bot.core.plan import KeepKind, Plan, PlannedResource, ScanProblem
from bot.core.pricing import monthly_cost
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
) -> Plan:
    types = types if types is not None else default_types()
    regions = list(dict.fromkeys(regions)) or [aws.default_region]
    check_regions(aws, regions)
    try:
        account_id = aws.account_id()
    except NoCredentialsError:
        raise ScanError("no AWS credentials found (set them the way boto3 reads them)") from None
    except (ClientError, BotoCoreError) as e:
        raise ScanError(f"cannot reach AWS to identify the account: {error_code(e)}: {error_message(e)}") from None

    with ThreadPoolExecutor(max_workers=scan_workers(regions), thread_name_prefix="scan") as pool:
        inventory = _list_everything(aws, pool, profile, regions, account_id, types)
        _follow_references(aws, pool, profile, inventory, types)

    resources = _decide(inventory, regions, types)
    return Plan(
        profile=profile.name,
        account_id=account_id,
        regions=regions,
        created_at=time.time() if now is None else now,
        resources=resources,
        problems=inventory.problems,
    )


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
        if selector is None and not rtype.is_user:
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
            if rtype.is_user:
                inventory.users[item_key] = item
            why = _picked_by(selectors, item.name)
            if why:
                inventory.candidates[item_key] = (item, why)
    return inventory


def _list_one(aws: Aws, rtype: ResourceType, region: str, selectors: list[Selector]) -> list[Found]:
    if rtype.is_user:
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


def _decide(inventory: _Inventory, regions: list[str], types: Mapping[str, ResourceType]) -> list[PlannedResource]:
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
        elif inventory.unchecked.get(found.type):
            problem = inventory.unchecked[found.type][0]
            keep[key] = ("unchecked", f"could not check whether it is still used: {problem}")
        elif found.type == "iam.role" and _last_used_elsewhere(found, regions):
            keep[key] = ("in-use", _last_used_elsewhere(found, regions))

    # Fixpoint: a resource used by anything that stays (outside the plan, or kept) stays too.
    changed = True
    while changed:
        changed = False
        for key in inventory.candidates:
            if key in keep:
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

    planned: list[PlannedResource] = []
    for key, (found, why) in inventory.candidates.items():
        cost, basis = monthly_cost(found.type, found.usage)
        rtype = types[found.type]
        kind, reason = keep.get(key, (None, ""))
        depends_on = sorted(
            _plan_key(u)
            for user_key, u in users_of.get(key, {}).items()
            if user_key in inventory.candidates and user_key not in keep
        )
        planned.append(
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
                depends_on=[] if kind else depends_on,
                keep=kind,
                keep_reason=reason,
                details=found.details,
                created_at=_created_at(found),
            )
        )
    planned.sort(key=lambda r: (list(types).index(r.type) if r.type in types else 99, r.region, r.name))
    return planned


def _created_at(found: Found) -> float | None:
    value = found.details.get("created_at")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _plan_key(found: Found) -> str:
    return f"{found.type}|{found.region}|{found.id}"


def _last_used_elsewhere(found: Found, regions: list[str]) -> str:
    """A role last used in a region we did not scan may have users we cannot see: keep it, say why."""
    region = str(found.details.get("last_used_region") or "")
    if region and region not in regions:
        return f"last used in {region} ({found.details.get('last_used', 'date unknown')}), a region not scanned"
    return ""


def users_outside(aws: Aws, plan: Plan, types: Mapping[str, ResourceType] | None = None) -> dict[str, str]:
    """Re-check, just before deleting, what outside the plan uses a planned resource now.

    Something created after the scan (a new function on the role, a model reading the bucket) must keep the
    resource. Returns plan key -> reason to keep it, for each planned resource that is (or may be) used.
    """
    types = types if types is not None else default_types()
    planned = {lookup_key(types, r.type, r.region, r.id): r for r in plan.to_delete}
    user_types = [t for t in types.values() if t.is_user]
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
