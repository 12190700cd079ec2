"""S3 buckets: listed account-wide, read and emptied through the client of each bucket's own region.

Emptying is the delicate part. A round lists up to PAGES_PER_ROUND pages of versions and delete markers from the
start of the listing (no deletion in between), deletes those batches concurrently, and the next round lists from
the start again. That is correct on S3 and on moto, whose listing markers break when their entry was deleted
mid-listing and whose backend is not safe to list while another thread deletes; memory stays
bounded by BATCH_SIZE x PAGES_PER_ROUND whatever the bucket holds. A round whose listing reached the end is the
last: DeleteBucket itself confirms the bucket is empty (and if something was written meanwhile, it answers
BucketNotEmpty and another pass runs), so the requests are the minimum: the listing pages plus one DeleteObjects
per page. Versioning is never suspended, and the per-key errors that DeleteObjects reports inside a successful
response are raised, never ignored.

What the approver saw bounds what is deleted (`Approval`): only versions written before the scan, and only under
the approved prefixes. A listing page that holds nothing deletable moves the start of the next round past it (its
last entry stays, so moto's marker bug cannot bite); a bucket left holding versions the approval did not cover is
kept (KeptError). `ObjectsType` is the other half of that rule: the approved prefixes of a bucket that is shared
(other prefixes, or users outside the plan), emptied of their scan-time versions while the bucket stays.

Guards read before anything is emptied, so that no bucket is left half-emptied by a refusal at the last step:
Object Lock, MFA Delete, and a bucket policy that denies deleting objects or the bucket.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from botocore.exceptions import ClientError

from bot.aws.base import GLOBAL, Approval, Found, KeptError, NameMatch, ResourceType, epoch_seconds, error_code
from bot.aws.clients import Aws

BATCH_SIZE = 1000  # keys per DeleteObjects call (AWS's maximum) and per listing page
PAGES_PER_ROUND = 8  # listing pages read, then deleted concurrently, before listing again from the start
EMPTY_PASSES = 3  # emptying passes before giving up on a bucket that keeps getting new objects
USAGE_PAGES = 10  # listing pages read to measure a bucket; beyond that the usage says complete=False
MAX_PREFIXES = 200  # top-level prefixes summarised per bucket; beyond that prefixes_complete=False
_DELETE_ACTIONS = ("s3:DeleteBucket", "s3:DeleteObject", "s3:DeleteObjectVersion")

_BUCKET_GONE = frozenset({"NoSuchBucket", "404", "NotFound"})


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value or "")


def bucket_region(location: str | None) -> str:
    """GetBucketLocation's answer as a region name: us-east-1 answers nothing, and old buckets say "EU"."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


def _chunks(items: list[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class BucketType(ResourceType):
    key = "s3.bucket"
    label = "S3 bucket"
    service_label = "S3"
    is_global = True

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        buckets = [bucket for bucket in self._list_buckets(aws) if match(bucket["Name"])]
        return [found for found in aws.map(lambda bucket: self._read(aws, bucket), buckets) if found]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        # Always resolved account-wide: references (a model's ModelDataUrl) know no region, and the
        # CreationDate that makes the identity is only in ListBuckets.
        for bucket in self._list_buckets(aws, prefix=id_):
            if bucket["Name"] == id_:
                return self._read(aws, bucket)
        return None

    def peek(self, aws: Aws, region: str, id_: str) -> Found | None:
        for bucket in self._list_buckets(aws, prefix=id_):
            if bucket["Name"] == id_:
                return self._read(aws, bucket, summarise=False)
        return None

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        approval = approval or Approval()
        client = aws.client("s3", found.region)
        for attempt in range(1, EMPTY_PASSES + 1):
            left = self._empty(aws, client, found.id, approval)
            left += self._abort_uploads(aws, client, found.id, approval)
            if left:
                raise KeptError(
                    f"{left} object versions or uploads were written after the scan or lie outside what was "
                    "approved; they were not deleted, so the bucket stays"
                )
            try:
                client.delete_bucket(Bucket=found.id)
                return
            except ClientError as e:
                if error_code(e) != "BucketNotEmpty" or attempt == EMPTY_PASSES:
                    raise

    # -- reading ---------------------------------------------------------------------------------------------

    def _list_buckets(self, aws: Aws, prefix: str = "") -> Iterator[dict[str, Any]]:
        client = aws.client("s3", GLOBAL)
        kwargs = {"Prefix": prefix} if prefix else {}
        for page in client.get_paginator("list_buckets").paginate(**kwargs):
            yield from page.get("Buckets", [])

    def _read(self, aws: Aws, bucket: dict[str, Any], summarise: bool = True) -> Found | None:
        """The bucket fully read (with a summary of its contents unless `summarise` is off), or None when it
        vanished since it was listed."""
        name = bucket["Name"]
        details: dict[str, Any] = {"created_at": epoch_seconds(bucket.get("CreationDate"))}
        usage: dict[str, Any] = {}
        try:
            region = bucket.get("BucketRegion") or bucket_region(
                aws.client("s3", GLOBAL).get_bucket_location(Bucket=name).get("LocationConstraint")
            )
            client = aws.client("s3", region)
            tags = self._tags(client, name)
            guard = self._guard(client, name)
            if summarise:
                usage, details["contents"] = self._summary(client, name)
        except ClientError as e:
            if error_code(e) in _BUCKET_GONE:
                return None
            raise
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=f"arn:{aws.session.get_partition_for_region(region)}:s3:::{name}",
            identity=_iso(bucket.get("CreationDate")),
            tags=tags,
            guard=guard,
            usage=usage,
            details=details,
        )

    def _tags(self, client: Any, name: str) -> dict[str, str]:
        try:
            tag_set = client.get_bucket_tagging(Bucket=name).get("TagSet", [])
        except ClientError as e:
            if error_code(e) == "NoSuchTagSet":
                return {}
            raise
        return {tag["Key"]: tag["Value"] for tag in tag_set}

    def _guard(self, client: Any, name: str) -> str | None:
        """Why AWS would refuse (part of) the deletion, read before anything is emptied; None when nothing would."""
        try:
            config = client.get_object_lock_configuration(Bucket=name).get("ObjectLockConfiguration", {})
        except ClientError as e:
            if error_code(e) != "ObjectLockConfigurationNotFoundError":
                raise
            config = {}
        if config.get("ObjectLockEnabled") == "Enabled":
            return "Object Lock is enabled"
        if client.get_bucket_versioning(Bucket=name).get("MFADelete") == "Enabled":
            return "MFA Delete is enabled"
        try:
            policy = client.get_bucket_policy(Bucket=name).get("Policy", "")
        except ClientError as e:
            if error_code(e) == "NoSuchBucketPolicy":
                return None
            raise
        denied = policy_denies_deletion(policy)
        return f"its bucket policy denies {denied}" if denied else None

    def _summary(self, client: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """What the bucket holds, from at most USAGE_PAGES listing pages: (usage for pricing, contents to show).

        Contents: versions, delete markers, bytes, the newest write, unfinished uploads, and per top-level prefix
        ("dogcat/", or a top-level key) its versions, bytes and latest write. `complete` is False when the
        listing was cut short; `prefixes_complete` when more than MAX_PREFIXES prefixes were seen.
        """
        versions = markers = stored = 0
        newest: float | None = None
        prefixes: dict[str, dict[str, Any]] = {}
        complete = True
        pages = client.get_paginator("list_object_versions").paginate(
            Bucket=name, PaginationConfig={"PageSize": BATCH_SIZE}
        )
        for number, page in enumerate(pages, start=1):
            for kind, entries in (("versions", page.get("Versions", [])), ("markers", page.get("DeleteMarkers", []))):
                for entry in entries:
                    written = epoch_seconds(entry.get("LastModified"))
                    size = int(entry.get("Size", 0) or 0)
                    summary = prefixes.setdefault(top_prefix(entry["Key"]), {"versions": 0, "markers": 0, "bytes": 0})
                    summary[kind] += 1
                    summary["bytes"] += size
                    if written is not None:
                        summary["latest"] = max(summary.get("latest", written), written)
                        newest = written if newest is None else max(newest, written)
                    if kind == "versions":
                        versions += 1
                        stored += size
                    else:
                        markers += 1
            if number >= USAGE_PAGES and page.get("IsTruncated"):
                complete = False
                break
        uploads = [
            upload
            for page in islice(client.get_paginator("list_multipart_uploads").paginate(Bucket=name), USAGE_PAGES)
            for upload in page.get("Uploads", [])
        ]
        for upload in uploads:
            prefixes.setdefault(top_prefix(upload["Key"]), {"versions": 0, "markers": 0, "bytes": 0})
            prefixes[top_prefix(upload["Key"])]["uploads"] = prefixes[top_prefix(upload["Key"])].get("uploads", 0) + 1
        shown = dict(sorted(prefixes.items(), key=lambda item: -item[1]["bytes"])[:MAX_PREFIXES])
        contents = {
            "versions": versions,
            "delete_markers": markers,
            "bytes": stored,
            "newest": newest,
            "uploads": len(uploads),
            "complete": complete,
            "prefixes": dict(sorted(shown.items())),
            "prefixes_complete": complete and len(prefixes) <= MAX_PREFIXES,
        }
        return {"stored_bytes": stored, "objects": versions, "complete": complete}, contents

    # -- emptying --------------------------------------------------------------------------------------------

    def _empty(self, aws: Aws, client: Any, name: str, approval: Approval) -> int:
        """Delete the approved object versions and delete markers; return how many were left (not approved)."""
        prefixes: list[str | None] = list(approval.prefixes) if approval.prefixes is not None else [None]
        return sum(self._empty_prefix(aws, client, name, prefix, approval) for prefix in prefixes)

    def _empty_prefix(self, aws: Aws, client: Any, name: str, prefix: str | None, approval: Approval) -> int:
        """Bounded rounds, each listing from `start` (past the leading pages that hold only entries to keep)."""
        previous_head: dict[str, str] | None = None
        start: tuple[str, str] | None = None
        passed = 0  # entries to keep in the pages that `start` moved past
        first = True
        while True:
            if not first and approval.recheck is not None:
                reason = approval.recheck()
                if reason:
                    raise KeptError(f"stopped emptying: {reason}")
            first = False
            batches, kept, reached_end, start_after, kept_passed = self._round(client, name, prefix, start, approval)
            if batches and batches[0][0] == previous_head:
                # Every key of the last round was reported deleted, yet the listing starts with one again.
                raise ClientError(
                    {"Error": {"Code": "BucketNotEmpty", "Message": "object versions remain after deletion"}},
                    "DeleteObjects",
                )
            if batches:
                previous_head = batches[0][0]
                aws.map(lambda batch: self._delete_batch(client, name, batch), batches)
            if reached_end:
                return passed + kept
            if start_after != start:
                start, passed = start_after, passed + kept_passed

    def _round(
        self, client: Any, name: str, prefix: str | None, start: tuple[str, str] | None, approval: Approval
    ) -> tuple[list[list[dict[str, str]]], int, bool, tuple[str, str] | None, int]:
        """Up to PAGES_PER_ROUND pages from `start`: (DeleteObjects batches, entries kept, whether the listing
        ended, where the next round may start, entries kept in the pages before that start)."""
        batches: list[list[dict[str, str]]] = []
        kept = kept_passed = 0
        reached_end = True
        start_after, advancing = start, True
        params: dict[str, Any] = {"Bucket": name, "MaxKeys": BATCH_SIZE}
        if prefix:
            params["Prefix"] = prefix
        if start:
            params["KeyMarker"], params["VersionIdMarker"] = start
        for _ in range(PAGES_PER_ROUND):
            page = client.list_object_versions(**params)
            entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            doomed = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries if _approved(e, prefix, approval)]
            kept += len(entries) - len(doomed)
            batches.extend(_chunks(doomed, BATCH_SIZE))
            reached_end = not page.get("IsTruncated")
            if reached_end:
                break
            if advancing and not doomed:  # nothing to delete here: later rounds start after this page
                start_after = (page["NextKeyMarker"], page.get("NextVersionIdMarker", ""))
                kept_passed = kept
            else:
                advancing = False
            params["KeyMarker"], params["VersionIdMarker"] = page["NextKeyMarker"], page.get("NextVersionIdMarker", "")
        return batches, kept, reached_end, start_after, kept_passed

    def _delete_batch(self, client: Any, name: str, batch: list[dict[str, str]]) -> None:
        response = client.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise ClientError(
                {
                    "Error": {
                        "Code": str(first.get("Code", "InternalError")),
                        "Message": (
                            f"{len(errors)} of {len(batch)} keys not deleted; first {first.get('Key', '')!r}: "
                            f"{first.get('Message', '')}"
                        ),
                    }
                },
                "DeleteObjects",
            )

    def _abort_uploads(self, aws: Aws, client: Any, name: str, approval: Approval) -> int:
        """Abort the approved unfinished multipart uploads (their parts are billed and can block the bucket's
        deletion); return how many were left because the approval does not cover them."""
        previous: list[tuple[str, str]] | None = None
        while True:
            pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=name)
            listed = [upload for page in islice(pages, PAGES_PER_ROUND) for upload in page.get("Uploads", [])]
            uploads = [
                (u["Key"], u["UploadId"])
                for u in listed
                if _approved({"Key": u["Key"], "LastModified": u.get("Initiated")}, None, approval)
            ]
            if not uploads:
                return len(listed)
            if uploads == previous:
                raise ClientError(
                    {"Error": {"Code": "BucketNotEmpty", "Message": "multipart uploads remain after aborting"}},
                    "AbortMultipartUpload",
                )
            previous = uploads
            aws.map(lambda upload: self._abort(client, name, *upload), uploads)

    def _abort(self, client: Any, name: str, key: str, upload_id: str) -> None:
        try:
            client.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload_id)
        except ClientError as e:
            if error_code(e) != "NoSuchUpload":
                raise


class ObjectsType(ResourceType):
    """The approved prefixes of a shared bucket: their scan-time versions are deleted, the bucket stays.

    Never found by name: the cleanup core makes these from a bucket's contents when the bucket holds more than
    the plan accounts for. The id is "bucket/prefix".
    """

    key = "s3.objects"
    label = "S3 objects"
    service_label = "S3"
    is_global = True

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        return []

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        bucket_name, _, prefix = id_.partition("/")
        found = BucketType().peek(aws, region, bucket_name)
        if found is None:
            return None
        found.type, found.id, found.name = self.key, id_, f"s3://{bucket_name}/{prefix}"
        found.arn = f"{found.arn}/{prefix}*"
        found.details["bucket"], found.details["prefix"] = bucket_name, prefix
        return found

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        bucket_name, _, prefix = found.id.partition("/")
        approval = approval or Approval()
        scoped = Approval(approval.written_before, (prefix,), approval.recheck)
        client = aws.client("s3", found.region)
        BucketType()._empty(aws, client, bucket_name, scoped)
        BucketType()._abort_uploads(aws, client, bucket_name, scoped)


def top_prefix(key: str) -> str:
    """The first path segment of a key, as a prefix: "dogcat/data/1.jpg" -> "dogcat/"; a top-level key is itself."""
    head, slash, _ = key.partition("/")
    return head + slash


def prefix_covers(prefix: str, key: str) -> bool:
    """A folder prefix ("dogcat/") covers every key under it; a top-level key covers only itself; "" covers all."""
    return not prefix or (key.startswith(prefix) if prefix.endswith("/") else key == prefix)


def _approved(entry: dict[str, Any], prefix: str | None, approval: Approval) -> bool:
    if approval.prefixes is not None and not any(prefix_covers(p, entry["Key"]) for p in approval.prefixes):
        return False
    if prefix is not None and not prefix_covers(prefix, entry["Key"]):
        return False
    if approval.written_before is not None:
        written = epoch_seconds(entry.get("LastModified"))
        return written is not None and written <= approval.written_before
    return True


def policy_denies_deletion(policy: str) -> str:
    """The deletion action a bucket policy denies (to anyone, under any condition), or "" when none is denied."""
    try:
        document = json.loads(policy) if policy else {}
    except ValueError:
        return "an action (the policy cannot be read)"
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in [statements] if isinstance(statements, dict) else statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if "NotAction" in statement:
            return "every action but a few (NotAction)"
        actions = statement.get("Action", [])
        for pattern in [actions] if isinstance(actions, str) else actions:
            for action in _DELETE_ACTIONS:
                if fnmatch.fnmatchcase(action.lower(), str(pattern).lower()):
                    return action
    return ""
