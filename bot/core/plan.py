"""The plan: what a scan found, what will be deleted, what is kept and why. A plain value, JSON in and out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from bot.core.pricing import human_bytes

# protected: tagged cleanup:protect; guarded: an AWS guard (deletion protection, Object Lock, a denying policy);
# in-use: used by something outside the plan; depends-on-kept: used by a kept resource; unchecked: a listing that
# would show its users failed; unprovable: trusted by principals nobody can list; shared: a bucket holding more
# than the plan accounts for (its approved prefixes are planned as s3.objects); kept-until: an owner kept it until
# a date (from Slack, or the cleanup:keep-until tag): bot.core.keeps.
KeepKind = Literal[
    "protected", "guarded", "in-use", "depends-on-kept", "unchecked", "unprovable", "shared", "kept-until"
]


class ResultStatus(StrEnum):
    """What became of one approved resource. Every result is final: a run records each resource once."""

    DELETED = "deleted"
    ALREADY_GONE = "already_gone"
    SKIPPED = "skipped"
    FAILED = "failed"


RESULT_STATUSES: frozenset[str] = frozenset(ResultStatus)
GONE: frozenset[str] = frozenset({ResultStatus.DELETED, ResultStatus.ALREADY_GONE})  # no longer exists in AWS
# The error code of a "skipped" result when the whole run (or one account of a fleet) was refused before any
# deletion: the account changed, AWS unreachable, no credentials. People are told once, not once per resource.
RUN_REFUSED = "RunRefused"


@dataclass
class PlannedResource:
    type: str  # resource type key, e.g. "sagemaker.endpoint"
    label: str  # "SageMaker endpoint"
    service: str  # "SageMaker": how people see results grouped
    region: str
    id: str
    name: str
    arn: str
    identity: str  # the creation time or unique id seen at scan time; a different one means re-created
    reason: str  # why it was picked: "name starts with dogcat-endpoint-", "config of endpoint X"
    monthly_cost: float | None = None  # USD per month while it lives; None when the price is unknown
    cost_basis: str = ""  # how the cost was worked out, or why it is unknown
    depends_on: list[str] = field(default_factory=list)  # keys deleted before this one
    keep: KeepKind | None = None  # set when the resource is kept
    keep_reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    # when AWS says it was created, epoch seconds (for Lambda: last modified, a lower bound of its age); None
    # when unknown
    created_at: float | None = None
    # set in a plan of several accounts (Plan.accounts): the account it lives in; its key then starts with it.
    # depends_on always names keys of the same account without that prefix (what the account's own plan uses).
    account_id: str = ""

    @property
    def key(self) -> str:
        local = f"{self.type}|{self.region}|{self.id}"
        return f"{self.account_id}{ACCOUNT_KEY_SEP}{local}" if self.account_id else local

    @property
    def kept(self) -> bool:
        return self.keep is not None

    def contents_text(self, prefixes: int = 5) -> str:
        """What a bucket (or an approved prefix of one) holds, for the approver: "" for other resources."""
        summary = self.details.get("contents") if self.type == "s3.bucket" else self.details.get("summary")
        if not isinstance(summary, dict):
            return ""
        versions = int(summary.get("versions", 0))
        markers = int(summary.get("delete_markers", summary.get("markers", 0)) or 0)
        text = f"holds {versions} object version{'s' if versions != 1 else ''}"
        if markers:
            text += f" + {markers} delete marker{'s' if markers != 1 else ''}"
        text += f", {human_bytes(int(summary.get('bytes', 0)))}"
        if summary.get("complete") is False:
            text = "holds at least" + text[len("holds") :] + " (listing cut short)"
        newest = summary.get("newest", summary.get("latest"))
        if newest:
            text += f"; newest write {utc_minute(float(newest))}"
        if summary.get("uploads"):
            text += f"; {summary['uploads']} unfinished uploads"
        held = summary.get("prefixes")
        if isinstance(held, dict) and held:
            biggest = sorted(held.items(), key=lambda item: -int(item[1].get("bytes", 0)))[:prefixes]
            parts = [
                f"{p} {int(v.get('versions', 0))} v, {human_bytes(int(v.get('bytes', 0)))}"
                + (f", latest {utc_minute(float(v['latest']))}" if v.get("latest") else "")
                for p, v in biggest
            ]
            more = f" +{len(held) - prefixes} more" if len(held) > prefixes else ""
            text += f"; by prefix: {'; '.join(parts)}{more}"
        return text


ACCOUNT_KEY_SEP = "/"  # "111122223333/lambda.function|us-east-1|InvokeModelLambda": a resource of a fleet plan


def split_key(key: str) -> tuple[str, str]:
    """(account ID or "", the key within that account) of a resource or result key."""
    head, sep, rest = key.partition(ACCOUNT_KEY_SEP)
    if sep and len(head) == 12 and head.isdigit():
        return head, rest
    return "", key


def utc_minute(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class ScanProblem:
    """A part of the account the scan could not check, said so people know the plan may be incomplete."""

    service: str
    region: str
    code: str
    message: str
    account_id: str = ""  # set in a plan of several accounts

    def __str__(self) -> str:
        where = f"{self.region} of account {self.account_id}" if self.account_id else self.region
        return f"{self.service} in {where}: {self.code}: {self.message}"


@dataclass
class AccountPart:
    """One account of a plan that covers several (CLEANUP_ACCOUNTS)."""

    account_id: str
    role_arn: str = ""  # the role assumed to reach it; "" for the credentials' own account, used directly
    error: str = ""  # why it could not be scanned (its role could not be assumed...): nothing of it is planned


@dataclass
class Plan:
    profile: str
    account_id: str
    regions: list[str]
    created_at: float  # epoch seconds
    resources: list[PlannedResource] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    # Several accounts (CLEANUP_ACCOUNTS): each one's part; its resources carry their account_id and account_id
    # above is "" (no credentials ever match it, so a fleet plan given whole to the executor deletes nothing).
    # Empty: a plan of the one account `account_id`, as plans have always been.
    accounts: list[AccountPart] = field(default_factory=list)

    @property
    def is_fleet(self) -> bool:
        return bool(self.accounts)

    def account_ids(self) -> list[str]:
        return [a.account_id for a in self.accounts] if self.accounts else [self.account_id]

    def for_account(self, account_id: str) -> Plan:
        """The plan of one account of a fleet plan, exactly as a scan of that account alone would have stored it:
        the executor runs it under that account's own checks. A plan of one account returns itself."""
        if not self.accounts:
            return self
        return Plan(
            profile=self.profile,
            account_id=account_id,
            regions=list(self.regions),
            created_at=self.created_at,
            resources=[replace(r, account_id="") for r in self.resources if r.account_id == account_id],
            problems=[replace(p, account_id="") for p in self.problems if p.account_id == account_id],
        )

    @property
    def to_delete(self) -> list[PlannedResource]:
        return [r for r in self.resources if not r.kept]

    @property
    def kept(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.kept]

    def by_key(self) -> dict[str, PlannedResource]:
        return {r.key: r for r in self.resources}

    @property
    def monthly_cost(self) -> float:
        """Known cost of what will be deleted; unknown prices are left out (see unknown_cost_count)."""
        return sum(r.monthly_cost or 0.0 for r in self.to_delete)

    @property
    def unknown_cost_count(self) -> int:
        return sum(1 for r in self.to_delete if r.monthly_cost is None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            profile=data["profile"],
            account_id=data["account_id"],
            regions=list(data["regions"]),
            created_at=float(data["created_at"]),
            resources=[PlannedResource(**r) for r in data.get("resources", [])],
            problems=[ScanProblem(**p) for p in data.get("problems", [])],
            accounts=[AccountPart(**a) for a in data.get("accounts", [])],
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))


@dataclass
class ResourceResult:
    key: str
    label: str
    name: str
    region: str
    status: str  # a ResultStatus value
    reason: str = ""  # why skipped, or the AWS error message
    error_code: str = ""
    seconds: float = 0.0


@dataclass
class ProgressEvent:
    """One step of a run, fed to every renderer (the Slack thread and the terminal alike)."""

    kind: Literal["started", "deleted", "already_gone", "skipped", "failed", "waiting"]
    key: str
    label: str
    name: str
    region: str
    message: str = ""
    error_code: str = ""
    seconds: float = 0.0  # for final kinds: how long the resource took


class RunVerdict(StrEnum):
    """What a finished run did as a whole, for the icon and words people read first."""

    ALL_DONE = "all_done"  # every approved resource is gone
    PARTLY_DONE = "partly_done"  # some gone, the rest kept (skipped) or not handled; nothing failed
    SOME_FAILED = "some_failed"  # at least one deletion failed
    NOTHING_DELETED = "nothing_deleted"  # nothing gone: every resource was kept when its turn came
    REFUSED = "refused"  # refused as a whole before any deletion (every account of a fleet): nothing deleted


def is_refused(result: ResourceResult) -> bool:
    """A result that only says its whole run (or its account) was refused: its reason is said once, not per line."""
    return result.status == ResultStatus.SKIPPED and result.error_code == RUN_REFUSED


def run_verdict(results: Sequence[ResourceResult], planned: int) -> RunVerdict:
    """The verdict on a run of `planned` resources from its final results (fewer: some were not handled)."""
    if any(r.status == ResultStatus.FAILED for r in results):
        return RunVerdict.SOME_FAILED
    gone = sum(1 for r in results if r.status in GONE)
    if planned and gone >= planned:
        return RunVerdict.ALL_DONE
    if gone:
        return RunVerdict.PARTLY_DONE
    if results and len(results) >= planned and all(is_refused(r) for r in results):
        return RunVerdict.REFUSED
    return RunVerdict.NOTHING_DELETED


def refusals(results: Iterable[ResourceResult]) -> dict[str, str]:
    """Why the run was refused, by account ("" for a plan of one account), in the order results name them."""
    reasons: dict[str, str] = {}
    for r in results:
        if is_refused(r):
            reasons.setdefault(split_key(r.key)[0], r.reason)
    return reasons
