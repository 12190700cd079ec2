"""Other AWS accounts: sessions on an assumed role, with botocore's own refreshing credentials, and AWS
Organizations' list of accounts.

A session built here never holds fixed keys: its credentials are botocore's `DeferredRefreshableCredentials`
fed by an `AssumeRoleCredentialFetcher`, so they are renewed by a fresh `sts:AssumeRole` before they expire
(botocore refreshes 15 minutes ahead) and a run longer than the role session (1 hour by default) keeps working.
The role session name is what CloudTrail shows in the member account: callers put who asked or approved in it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import boto3
import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from bot.aws.clients import Aws

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ROLE_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]+)$")
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")
MAX_SESSION_NAME = 64  # IAM: 2 to 64 characters of [\w+=,.@-]
DEFAULT_SESSION_SECONDS = 3600
_CLIENT_LOCK = threading.Lock()  # a boto3 Session builds clients unsafely from several threads; refreshes may race


def session_name(*parts: str) -> str:
    """A RoleSessionName from its parts ("dogcat-cleanup", "U012AB3CD"): IAM's characters only, at most 64."""
    text = "-".join(p for p in parts if p)
    text = _SESSION_NAME_BAD.sub("-", text)[:MAX_SESSION_NAME]
    return text if len(text) >= 2 else (text + "--")[:2]


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def account_of_role(arn: str) -> str:
    match = ROLE_ARN_RE.match(arn)
    return match["account"] if match else ""


def partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def assumed_session(
    base: boto3.session.Session,
    arn: str,
    name: str,
    duration_seconds: int = DEFAULT_SESSION_SECONDS,
    external_id: str = "",
) -> boto3.session.Session:
    """A boto3 session acting as `arn`, its credentials refreshed by AssumeRole whenever they near expiry.

    The first AssumeRole happens here, so that a role that cannot be assumed raises now (ClientError from STS,
    or NoCredentialsError) rather than in the middle of a scan. The STS calls use `base`'s credentials, region
    and endpoint settings.
    """
    source = base.get_credentials()
    if source is None:
        from botocore.exceptions import NoCredentialsError

        raise NoCredentialsError()
    extra: dict[str, Any] = {"RoleSessionName": session_name(name), "DurationSeconds": duration_seconds}
    if external_id:
        extra["ExternalId"] = external_id

    def sts_client(*args: Any, **kwargs: Any) -> Any:
        with _CLIENT_LOCK:
            return base.client(*args, **kwargs)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client, source_credentials=source, role_arn=arn, extra_args=extra
    )
    fetcher.fetch_credentials()  # the first AssumeRole; kept in the fetcher's cache until it nears expiry
    credentials = DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
    core = botocore.session.get_session()
    # Share the parsed service models with the base session: every account's clients then skip re-reading them.
    base_core = base._session  # boto3 has no public accessor for it
    core.register_component("data_loader", base_core.get_component("data_loader"))
    core._credentials = credentials  # how botocore sessions hold given credentials
    return boto3.session.Session(botocore_session=core, region_name=base.region_name)


def open_assumed(
    base: Aws, arn: str, name: str, max_workers: int = 16, duration_seconds: int = DEFAULT_SESSION_SECONDS
) -> Aws:
    """An `Aws` (own clients, own pool) for the account of role `arn`, on refreshing assumed-role credentials."""
    session = assumed_session(base.session, arn, name, duration_seconds)
    return Aws(session, base.config, max_workers=max_workers)


def organization_accounts(aws: Aws) -> list[str]:
    """The IDs of the AWS Organization's active accounts (organizations:ListAccounts, from its management or
    delegated administrator account), sorted."""
    client = aws.client("organizations")
    ids = [
        str(account["Id"])
        for page in client.get_paginator("list_accounts").paginate()
        for account in page.get("Accounts", [])
        if account.get("Status", "ACTIVE") == "ACTIVE" and account.get("State", "ACTIVE") == "ACTIVE"
    ]
    return sorted(set(ids))
