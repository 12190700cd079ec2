"""S3 buckets: listed account-wide, read and emptied through the client of each bucket's own region.

Emptying is the delicate part. A round lists up to PAGES_PER_ROUND pages of versions and delete markers from the
start of the listing (no deletion in between), deletes those batches concurrently, and the next round lists from
the start again. That is correct on S3 and on moto, whose listing markers break when their entry was deleted
mid-listing and whose backend is not safe to list while another thread deletes (see MOTO-NOTES); memory stays
bounded by BATCH_SIZE x PAGES_PER_ROUND whatever the bucket holds. A round whose listing reached the end is the
last: DeleteBucket itself confirms the bucket is empty (and if something was written meanwhile, it answers
BucketNotEmpty and another pass runs), so the requests are the minimum: the listing pages plus one DeleteObjects
per page. Versioning is never suspended, and the per-key errors that DeleteObjects reports inside a successful
response are raised, never ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from botocore.exceptions import ClientError

from bot.aws.base import GLOBAL, Found, NameMatch, ResourceType, epoch_seconds, error_code
from bot.aws.clients import Aws

BATCH_SIZE = 1000  # keys per DeleteObjects call (AWS's maximum) and per listing page
PAGES_PER_ROUND = 8  # listing pages read, then deleted concurrently, before listing again from the start
EMPTY_PASSES = 3  # emptying passes before giving up on a bucket that keeps getting new objects
USAGE_PAGES = 10  # listing pages read to measure a bucket; beyond that the usage says complete=False

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

    def delete(self, aws: Aws, found: Found) -> None:
        client = aws.client("s3", found.region)
        for attempt in range(1, EMPTY_PASSES + 1):
            self._empty(aws, client, found.id)
            self._abort_uploads(aws, client, found.id)
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

    def _read(self, aws: Aws, bucket: dict[str, Any]) -> Found | None:
        """The bucket fully read, or None when it vanished since it was listed."""
        name = bucket["Name"]
        try:
            region = bucket.get("BucketRegion") or bucket_region(
                aws.client("s3", GLOBAL).get_bucket_location(Bucket=name).get("LocationConstraint")
            )
            client = aws.client("s3", region)
            tags = self._tags(client, name)
            guard = self._guard(client, name)
            usage = self._usage(client, name)
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
            details={"created_at": epoch_seconds(bucket.get("CreationDate"))},
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
        try:
            config = client.get_object_lock_configuration(Bucket=name).get("ObjectLockConfiguration", {})
        except ClientError as e:
            if error_code(e) == "ObjectLockConfigurationNotFoundError":
                return None
            raise
        return "Object Lock is enabled" if config.get("ObjectLockEnabled") == "Enabled" else None

    def _usage(self, client: Any, name: str) -> dict[str, Any]:
        """Stored bytes of every object version, from at most USAGE_PAGES pages so a huge bucket stays quick."""
        stored = objects = 0
        complete = True
        pages = client.get_paginator("list_object_versions").paginate(
            Bucket=name, PaginationConfig={"PageSize": BATCH_SIZE}
        )
        for number, page in enumerate(pages, start=1):
            for version in page.get("Versions", []):
                stored += int(version.get("Size", 0))
                objects += 1
            if number >= USAGE_PAGES and page.get("IsTruncated"):
                complete = False
                break
        return {"stored_bytes": stored, "objects": objects, "complete": complete}

    # -- emptying --------------------------------------------------------------------------------------------

    def _empty(self, aws: Aws, client: Any, name: str) -> None:
        """Delete every object version and delete marker, a bounded round at a time, until the listing ends."""
        previous_head: dict[str, str] | None = None
        while True:
            batches, reached_end = self._first_batches(client, name)
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
                return

    def _first_batches(self, client: Any, name: str) -> tuple[list[list[dict[str, str]]], bool]:
        """Up to PAGES_PER_ROUND pages from the start of the listing, as DeleteObjects batches; and whether the
        listing ended within them."""
        pages = client.get_paginator("list_object_versions").paginate(
            Bucket=name, PaginationConfig={"PageSize": BATCH_SIZE}
        )
        batches: list[list[dict[str, str]]] = []
        reached_end = True
        for page in islice(pages, PAGES_PER_ROUND):
            entries = [
                {"Key": entry["Key"], "VersionId": entry["VersionId"]}
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            batches.extend(_chunks(entries, BATCH_SIZE))
            reached_end = not page.get("IsTruncated")
        return batches, reached_end

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

    def _abort_uploads(self, aws: Aws, client: Any, name: str) -> None:
        """Abort every unfinished multipart upload (their parts are billed and can block the bucket's deletion)."""
        previous: list[tuple[str, str]] | None = None
        while True:
            pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=name)
            uploads = [
                (upload["Key"], upload["UploadId"])
                for page in islice(pages, PAGES_PER_ROUND)
                for upload in page.get("Uploads", [])
            ]
            if not uploads:
                return
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
