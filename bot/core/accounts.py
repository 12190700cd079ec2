"""Many accounts: which accounts a cleanup covers (CLEANUP_ACCOUNTS), scanning them all, deleting in each.

`Fleet` resolves the configured entries (12-digit IDs, role ARNs, `organization`) into targets: the credentials'
own account is used directly; any other through its role (`arn:aws:iam::<ID>:role/<CLEANUP_ASSUME_ROLE>` for a
bare ID), with botocore's refreshing assumed-role credentials (`bot.aws.accounts`). One `Aws` per account: its
own clients and its own bounded pool, so one account's throttling quota is never spent by another.

A fleet plan (`Plan.accounts`) is the accounts' own plans side by side. Deleting it runs each account's part as
the plan that account alone would have had (`Plan.for_account`), through the executor, in parallel: each under
its own account check (GetCallerIdentity of that account's credentials), its own DeleteRestApi spacing (the
executor's gate is keyed by account) and its own re-checks. An account whose role cannot be assumed is reported by
account ID and reason, and the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from bot.aws.accounts import (
    ACCOUNT_ID_RE,
    account_of_role,
    open_assumed,
    organization_accounts,
    partition_of,
    role_arn,
    session_name,
)
from bot.aws.base import error_code, error_message
from bot.aws.clients import Aws
from bot.core.executor import EventSink, ExecutorOptions, execute
from bot.core.plan import (
    ACCOUNT_KEY_SEP,
    GONE,
    RUN_REFUSED,
    AccountPart,
    Plan,
    PlannedResource,
    ProgressEvent,
    ResourceResult,
    split_key,
)
from bot.core.scanner import ScanError, scan
from bot.profiles import Profile

log = logging.getLogger(__name__)

ORGANIZATION = "organization"
APP_NAME = "dogcat-cleanup"
ACCOUNTS_AT_ONCE = 10  # accounts scanned or deleted at the same time; each has its own bounded pool besides
OPEN_ACCOUNTS_KEPT = 128  # assumed-role accounts (clients, pools, credentials) kept open for the next scan or run

ScanFn = Callable[[Aws, Profile, Sequence[str], float | None], Plan]
ExecuteFn = Callable[..., list[ResourceResult]]


def _default_scan(aws: Aws, profile: Profile, regions: Sequence[str], now: float | None) -> Plan:
    return scan(aws, profile, regions, now=now)


@dataclass(frozen=True)
class Target:
    account_id: str
    role_arn: str = ""  # "": the credentials' own account, used directly


class AccountError(Exception):
    """An account that cannot be reached (its role cannot be assumed...); str() says why, for people."""

    def __init__(self, account_id: str, reason: str) -> None:
        super().__init__(reason)
        self.account_id = account_id
        self.reason = reason


class UnknownAccountError(ScanError):
    """Account IDs asked for that are not configured; `known` lists those that are."""

    def __init__(self, unknown: Sequence[str], known: Sequence[str]) -> None:
        self.unknown, self.known = list(unknown), list(known)
        super().__init__(
            f"account {', '.join(unknown)} is not configured; configured accounts: {', '.join(known) or 'none'}"
        )


def scan_session_name(requester: str) -> str:
    return session_name(APP_NAME, "scan", requester)


def run_session_name(approver: str) -> str:
    """What CloudTrail shows in a member account for every call of a run: who approved it."""
    return session_name(APP_NAME, approver)


class Fleet:
    """The accounts a cleanup covers, and the way into each. Thread-safe; one per app process."""

    def __init__(
        self,
        aws: Aws,
        entries: Sequence[str] = (),
        role_name: str = "DogcatCleanupRole",
        workers_per_account: int = 16,
        accounts_at_once: int = ACCOUNTS_AT_ONCE,
        session_seconds: int = 3600,
    ) -> None:
        self.aws = aws
        self.entries = tuple(entries)
        self.role_name = role_name
        self.workers_per_account = workers_per_account
        self.accounts_at_once = max(1, accounts_at_once)
        self.session_seconds = session_seconds
        self._lock = threading.Lock()
        self._open: OrderedDict[tuple[str, str], Aws] = OrderedDict()
        self._own: tuple[str, str] | None = None  # (account ID, partition) of the credentials
        self._resolved: list[Target] | None = None

    @property
    def enabled(self) -> bool:
        """True when CLEANUP_ACCOUNTS is set: plans cover accounts (even one), each part under its own checks."""
        return bool(self.entries)

    # -- which accounts ----------------------------------------------------------------------------------------

    def _identity(self) -> tuple[str, str]:
        if self._own is None:
            try:
                arn = str(self.aws.client("sts").get_caller_identity()["Arn"])
            except NoCredentialsError:
                raise ScanError("no AWS credentials found (set them the way boto3 reads them)") from None
            except (ClientError, BotoCoreError) as e:
                raise ScanError(
                    f"cannot reach AWS to identify the account: {error_code(e)}: {error_message(e)}"
                ) from None
            self._own = (arn.split(":")[4], partition_of(arn))
        return self._own

    def resolve(self) -> list[Target]:
        """Every configured account, in the configured order (AWS calls: own identity, ListAccounts)."""
        own, partition = self._identity()
        if not self.entries:
            return [Target(own)]
        targets: dict[str, Target] = {}
        for entry in self.entries:
            if entry == ORGANIZATION:
                try:
                    ids = organization_accounts(self.aws)
                except (ClientError, BotoCoreError) as e:
                    raise ScanError(
                        f"cannot list the organization's accounts (organizations:ListAccounts): "
                        f"{error_code(e)}: {error_message(e)}"
                    ) from None
                for account in ids:
                    targets.setdefault(account, self._target(account, "", own, partition))
            elif ACCOUNT_ID_RE.match(entry):
                targets.setdefault(entry, self._target(entry, "", own, partition))
            else:
                account = account_of_role(entry)
                targets.setdefault(account, self._target(account, entry, own, partition))
        resolved = list(targets.values())
        with self._lock:
            self._resolved = resolved
        return resolved

    def _target(self, account: str, arn: str, own: str, partition: str) -> Target:
        if account == own:
            return Target(account)  # the credentials' own account: used directly, never assumed
        return Target(account, arn or role_arn(account, self.role_name, partition))

    def known_ids(self) -> list[str] | None:
        """The configured account IDs as far as they are known without an AWS call (before a slash command's
        ack); None when some are not known yet (`organization`, or the credentials' own account, not resolved)."""
        with self._lock:
            if self._resolved is not None:
                return [t.account_id for t in self._resolved]
        if not self.entries or ORGANIZATION in self.entries:
            return None
        return list(
            dict.fromkeys(entry if ACCOUNT_ID_RE.match(entry) else account_of_role(entry) for entry in self.entries)
        )

    def prime(self) -> None:
        """Resolve once now (at start, in the background) so later checks need no AWS call; errors are logged."""
        try:
            self.resolve()
        except ScanError as e:
            log.warning("could not resolve the configured accounts yet: %s", e)

    def select(self, wanted: Sequence[str] = ()) -> list[Target]:
        """The configured targets, narrowed to `wanted` account IDs when given (UnknownAccountError otherwise)."""
        targets = self.resolve()
        if not wanted:
            return targets
        by_id = {t.account_id: t for t in targets}
        unknown = [a for a in dict.fromkeys(wanted) if a not in by_id]
        if unknown:
            raise UnknownAccountError(unknown, list(by_id))
        return [by_id[a] for a in dict.fromkeys(wanted)]

    # -- into an account ---------------------------------------------------------------------------------------

    def open(self, target: Target, name: str) -> Aws:
        """The `Aws` of one account: the base one for the credentials' own account, else one on its assumed role
        (session `name`), kept open for reuse. Raises AccountError when the role cannot be assumed."""
        if not target.role_arn:
            return self.aws
        key = (target.role_arn, name)
        with self._lock:
            found = self._open.get(key)
            if found is not None:
                self._open.move_to_end(key)
                return found
        try:
            opened = open_assumed(self.aws, target.role_arn, name, self.workers_per_account, self.session_seconds)
        except NoCredentialsError:
            raise AccountError(target.account_id, "no AWS credentials to assume its role with") from None
        except ClientError as e:
            raise AccountError(
                target.account_id, f"could not assume {target.role_arn}: {error_code(e)}: {error_message(e)}"
            ) from None
        except BotoCoreError as e:
            raise AccountError(target.account_id, f"could not assume {target.role_arn}: {e}") from None
        evicted: list[Aws] = []
        with self._lock:
            current = self._open.setdefault(key, opened)
            if current is not opened:
                evicted.append(opened)  # another thread opened it meanwhile
            while len(self._open) > OPEN_ACCOUNTS_KEPT:
                evicted.append(self._open.popitem(last=False)[1])
        for aws in evicted:
            aws.close()
        return current

    def close(self) -> None:
        with self._lock:
            opened, self._open = list(self._open.values()), OrderedDict()
        for aws in opened:
            aws.close()


# -- scanning ---------------------------------------------------------------------------------------------------


def scan_fleet(
    fleet: Fleet,
    profile: Profile,
    regions: Sequence[str],
    accounts: Sequence[str] = (),
    requester: str = "",
    now: float | None = None,
    scan_fn: ScanFn = _default_scan,
) -> Plan:
    """One plan for every configured account (or those of `accounts`), each scanned in all `regions`, accounts
    concurrently (at most `fleet.accounts_at_once`). An account that cannot be reached or scanned is part of the
    plan with its reason, and nothing of it is planned; the others go on. Raises ScanError when no account can be
    told (no credentials, AWS unreachable, an unknown account ID asked for)."""
    targets = fleet.select(accounts)
    regions = list(dict.fromkeys(regions)) or [fleet.aws.default_region]
    name = scan_session_name(requester)
    created = time.time() if now is None else now

    def one(target: Target) -> tuple[Target, Plan | None, str]:
        try:
            aws = fleet.open(target, name)
            plan = scan_fn(aws, profile, regions, created)
        except AccountError as e:
            return target, None, e.reason
        except ScanError as e:
            return target, None, str(e)
        if plan.account_id != target.account_id:
            return target, None, f"its credentials point at account {plan.account_id}; not scanned"
        return target, plan, ""

    with ThreadPoolExecutor(
        max_workers=min(fleet.accounts_at_once, len(targets)) or 1, thread_name_prefix="fleet-scan"
    ) as pool:
        scanned = list(pool.map(one, targets))
    merged = Plan(profile=profile.name, account_id="", regions=regions, created_at=created)
    for target, plan, error in scanned:
        merged.accounts.append(AccountPart(target.account_id, target.role_arn, error))
        if error:
            log.warning("account %s not scanned: %s", target.account_id, error)
        if plan is None:
            continue
        merged.resources += [replace(r, account_id=target.account_id) for r in plan.resources]
        merged.problems += [replace(p, account_id=target.account_id) for p in plan.problems]
    return merged


# -- deleting ---------------------------------------------------------------------------------------------------


def execute_fleet(
    fleet: Fleet,
    plan: Plan,
    approver: str,
    on_event: EventSink | None = None,
    options: ExecutorOptions | None = None,
    previous: Mapping[str, ResourceResult] | None = None,
    execute_fn: ExecuteFn = execute,
) -> list[ResourceResult]:
    """Delete a fleet plan: each account's part in parallel, under that account's own checks, on credentials
    whose role session is named after the approver. One result per resource, in plan order, keys as the plan's.
    A plan of one account (no `accounts`) is executed as it always was, on the fleet's base credentials."""
    emit = on_event or (lambda _e: None)
    if not plan.accounts:
        return execute_fn(fleet.aws, plan, emit, options, dict(previous or {}))
    name = run_session_name(approver)
    lock = threading.Lock()  # sinks see one event at a time, whichever account it comes from
    previous = dict(previous or {})

    def sink(account: str) -> EventSink:
        def forward(event: ProgressEvent) -> None:
            with lock:
                emit(replace(event, key=f"{account}{ACCOUNT_KEY_SEP}{event.key}"))

        return forward

    def one(part: AccountPart) -> list[ResourceResult]:
        account = part.account_id
        sub = plan.for_account(account)
        if not sub.to_delete:
            return []
        before = {
            local: replace(result, key=local)
            for key, result in previous.items()
            for owner, local in [split_key(key)]
            if owner == account
        }
        forward = sink(account)
        try:
            aws = fleet.open(Target(account, part.role_arn), name)
        except AccountError as e:
            reason = f"account {account}: {e.reason}; nothing deleted in it"
            results = [_refused(r, before.get(r.key), reason, forward) for r in sub.to_delete]
        else:
            results = execute_fn(aws, sub, forward, options, before)
        return [replace(r, key=f"{account}{ACCOUNT_KEY_SEP}{r.key}") for r in results]

    parts = [p for p in plan.accounts if not p.error]
    with ThreadPoolExecutor(
        max_workers=min(fleet.accounts_at_once, len(parts)) or 1, thread_name_prefix="fleet-run"
    ) as pool:
        per_account = list(pool.map(one, parts))
    by_key = {r.key: r for results in per_account for r in results}
    return [by_key[r.key] for r in plan.to_delete if r.key in by_key]


def _refused(r: PlannedResource, before: ResourceResult | None, reason: str, forward: EventSink) -> ResourceResult:
    if before is not None and before.status in GONE:
        return before
    result = ResourceResult(r.key, r.label, r.name, r.region, "skipped", reason, RUN_REFUSED)
    forward(ProgressEvent("skipped", r.key, r.label, r.name, r.region, reason, RUN_REFUSED))
    return result
