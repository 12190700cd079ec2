"""The one small interface every AWS resource type implements, in the spirit of aws-nuke.

A resource-type module knows one kind of AWS resource: how to find candidates by name, how to read one as it is
now (or learn it is gone), what it references, and how to delete it. It reports facts (tags, guards, what it
uses, what it stores or provisions); the cleanup core decides what to delete and prices what it costs.
Nothing here knows about Slack, profiles or plans.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from bot.aws.clients import Aws

PROTECT_TAG = "cleanup:protect"
GLOBAL = "global"  # region value for IAM (a global service) and for S3's account-wide bucket listing

NameMatch = Callable[[str], bool]


@dataclass(frozen=True)
class Ref:
    """A resource that another resource uses: the user cannot work without it, so it is deleted after the user.

    `rel` names the relation (``config``, ``model``, ``role``, ``bucket``, ``log-group``) so that a profile can
    say which references a cleanup follows; in-use safety checks always consider every reference.
    """

    type: str
    region: str
    id: str
    rel: str


@dataclass
class Found:
    """One AWS resource as read from AWS just now."""

    type: str  # registry key of its ResourceType, e.g. "sagemaker.endpoint"
    region: str  # real region; "global" for IAM
    id: str  # what get() and delete() take: a name, or an API id
    name: str  # what a person calls it
    arn: str
    identity: str  # changes when the resource is deleted and re-created under the same name
    tags: dict[str, str] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)
    guard: str | None = None  # an AWS guard that forbids deletion (deletion protection, Object Lock)
    usage: dict[str, Any] = field(default_factory=dict)  # cost facts: instances, stored bytes, capacity
    # small JSON-able facts worth showing; "created_at" (epoch seconds) when AWS tells when it was created
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return resource_key(self.type, self.region, self.id)

    @property
    def protected(self) -> bool:
        return self.tags.get(PROTECT_TAG, "").strip().lower() == "true"


@dataclass(frozen=True)
class Approval:
    """What the approver saw, for deletions whose extent depends on it (a bucket's contents).

    `written_before`: epoch seconds; object versions written later were never shown, so never deleted.
    `prefixes`: the keys the approval covers ("dogcat/" a folder, "model.tar.gz" one top-level key); None: all.
    `recheck`: called between rounds of a long deletion; returns "" to go on, or why to stop and keep the rest.
    """

    written_before: float | None = None
    prefixes: tuple[str, ...] | None = None
    recheck: Callable[[], str] | None = None


class KeptError(Exception):
    """A deletion stopped on purpose and kept the resource (what remains was not approved); str() says why."""


class NotYet(Exception):
    """AWS cannot take this step now but may later: an endpoint still `Creating`, a quota's spacing, a child
    resource still deleting. The executor comes back after `retry_in` seconds without holding a worker thread,
    repeating its checks first; once its wait budget is spent it keeps the resource with str(self) as the reason.
    `status` is AWS's own word for the state (shown in the thread's progress)."""

    def __init__(self, reason: str, retry_in: float, status: str = "") -> None:
        super().__init__(reason)
        self.retry_in = max(0.0, retry_in)
        self.status = status


@dataclass(frozen=True)
class Pending:
    """An asynchronous deletion that has not finished: poll again after `retry_in` seconds. `status` is AWS's
    word for the state now (``Deleting``), shown in the thread."""

    retry_in: float
    status: str = ""


def resource_key(type_: str, region: str, id_: str) -> str:
    return f"{type_}|{region}|{id_}"


class ResourceType(ABC):
    """One kind of AWS resource. Subclasses are stateless; every call gets the shared `Aws` clients."""

    key: ClassVar[str]  # "service.kind", e.g. "sagemaker.endpoint"
    label: ClassVar[str]  # "SageMaker endpoint"
    service_label: ClassVar[str]  # "SageMaker": how results are grouped for people
    is_global: ClassVar[bool] = False  # listed once per account (IAM roles, S3 buckets)
    # True when resources of this type reference others (roles, buckets, configs...). The scanner then lists
    # every one of them (not only the profile's) to learn what outside the plan still uses a candidate.
    references_others: ClassVar[bool] = False
    # The types a resource of this type may reference. When listing this type fails in a region, candidates of
    # these types cannot be proven unused, so the scanner keeps them.
    may_reference: ClassVar[frozenset[str]] = frozenset()
    # True when AWS deletes in the background (endpoints, tables): the executor then polls poll_gone.
    deletes_asynchronously: ClassVar[bool] = False
    # AWS's own minimum spacing between two deletions of this type in one account (DeleteRestApi: 30 s).
    min_delete_interval: ClassVar[float] = 0.0

    @abstractmethod
    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        """Every resource in `region` whose name `match` accepts, fully read (tags, refs, guard, usage).

        Lists with boto3 paginators. For global types `region` is "global". Describes run through `aws.map`
        so that many resources are read concurrently.
        """

    @abstractmethod
    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        """The resource as it is now, fully read, or None when it does not exist."""

    def peek(self, aws: Aws, region: str, id_: str) -> Found | None:
        """Like get(), but may leave out what is costly to read (a bucket's contents): identity, tags and guard
        are always there. Used to re-check between rounds of a long deletion."""
        return self.get(aws, region, id_)

    @abstractmethod
    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        """Start deleting the resource (and what must go with it: policies, objects). Raises ClientError, or
        KeptError when it stopped short on purpose (see Approval).

        Must not be called for a protected or guarded resource; the executor checks first.
        """

    def poll_gone(self, aws: Aws, found: Found) -> Pending | None:
        """One look at an asynchronous deletion: None when the resource is gone, Pending when AWS is still at it.

        Never sleeps: the executor schedules the next look without holding a worker, and bounds the whole wait.
        Raises RuntimeError when the deletion cannot finish (AWS's reason in the message), ClientError when the
        look itself fails.
        """
        return None


_NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "NoSuchEntity",
        "NoSuchBucket",
        "NotFoundException",
        "NotFound",
        "404",
    }
)


def is_not_found(error: ClientError) -> bool:
    """True when AWS says the resource does not exist, whatever the service calls that."""
    err = error.response.get("Error", {})
    code = str(err.get("Code", ""))
    if code in _NOT_FOUND_CODES:
        return True
    # SageMaker answers a missing endpoint/config/model with a ValidationException "Could not find ..."
    return code == "ValidationException" and "could not find" in str(err.get("Message", "")).lower()


def role_name_from_arn(arn: str) -> str:
    # arn:aws:iam::123456789012:role/service-role/name -> name (paths are not part of the name)
    return arn.rsplit("/", 1)[-1]


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "Unknown"))
    return type(error).__name__


def error_message(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message", "")) or str(error)
    return str(error)


_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


def epoch_seconds(value: Any) -> float | None:
    """A creation time as AWS returns it, as epoch seconds; None when missing or unreadable.

    Accepts datetimes (naive ones are UTC), ISO 8601 text (Lambda's "2019-08-14T22:24:11.926+0000", or nine
    fraction digits from emulators) and numbers (CloudWatch Logs' milliseconds since the epoch).
    """
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / 1000 if value > 1e11 else float(value)
    if isinstance(value, str) and value.strip():
        text = _FRACTION_RE.sub(r"\1", value.strip()).replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None
