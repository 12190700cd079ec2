"""Shared boto3 clients: created once per (service, region), reused by every thread.

boto3 clients are thread-safe once built, but building them through one Session is not, so creation is locked.
Throttling is retried by botocore's own standard retry mode (every service's throttling codes, exponential
back-off with jitter), not by loops of ours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    connect_timeout=10,
    read_timeout=60,
    max_pool_connections=32,
    user_agent_appid="dogcat-cleanup",  # shows in CloudTrail: who made these calls
)


ENABLED_REGIONS_TTL = 300.0  # seconds; regions are enabled by hand and rarely, listings run every scan


_LOADER_LOCK = threading.Lock()
_shared_loader: Any = None


def new_session(region_name: str | None = None) -> boto3.session.Session:
    """A boto3 session whose service models are parsed once per process, not once per session.

    Each botocore session reads and parses the JSON models of the services it builds clients for; SageMaker's takes
    0.1-0.3 s. Sessions of one process (the app's, every assumed account's, a test's) share one loader, created
    as botocore creates it (honouring AWS_DATA_PATH); its cache only ever adds parsed models.
    """
    global _shared_loader
    core = botocore.session.get_session()
    with _LOADER_LOCK:
        if _shared_loader is None:
            _shared_loader = core.get_component("data_loader")
        core.register_component("data_loader", _shared_loader)
    return boto3.session.Session(botocore_session=core, region_name=region_name)


def _partition_of(session: boto3.session.Session, region: str) -> str:
    try:
        return str(session.get_partition_for_region(region))
    except Exception:  # a region newer than botocore's data: assume the commercial partition, list it anyway
        return "aws"


class Aws:
    """Entry to AWS for the service modules: cached clients plus a bounded pool for concurrent describes."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        config: Config | None = None,
        max_workers: int = 16,
    ) -> None:
        self.session = session or new_session()
        self.config = DEFAULT_CONFIG.merge(config) if config else DEFAULT_CONFIG
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aws")
        self._regions: frozenset[str] | None = None
        self._enabled: tuple[float, list[str]] | None = None

    @property
    def default_region(self) -> str:
        return self.session.region_name or "us-east-1"

    def client(self, service: str, region: str | None = None) -> Any:
        region = region if region and region != "global" else self.default_region
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self.session.client(service, region_name=region, config=self.config)  # type: ignore[call-overload]
                    self._clients[key] = client
        return client

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """fn over items concurrently, results in order; the first exception is raised.

        Only leaf work (single AWS calls or short sequences) runs here, never code that calls map itself,
        so the bounded pool cannot deadlock.
        """
        items = list(items)
        if len(items) <= 1:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))

    def known_regions(self) -> frozenset[str]:
        """Every region name botocore knows (its offline endpoint data), loaded once: the first load costs ~0.1 s
        of CPU, which must not land on the first slash commands' acknowledgement."""
        if self._regions is None:
            session = self.session
            self._regions = frozenset(session.get_available_regions("sagemaker")) | frozenset(
                session.get_available_regions("s3")
            )
        return self._regions

    def enabled_regions(self) -> list[str]:
        """The regions enabled in the account (EC2 DescribeRegions), in the credentials' partition; cached briefly.

        A role is global and a bucket is read from anywhere: their users are listed in every one of these regions.
        Raises ClientError/BotoCoreError when AWS will not say; callers then cannot prove anything unused.
        """
        now = time.monotonic()
        cached = self._enabled
        if cached is not None and now - cached[0] < ENABLED_REGIONS_TTL:
            return cached[1]
        answer = self.client("ec2").describe_regions(
            Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
        )
        partition = self.session.get_partition_for_region(self.default_region)
        regions = sorted(
            r["RegionName"]
            for r in answer.get("Regions", [])
            if r.get("OptInStatus") != "not-opted-in" and _partition_of(self.session, r["RegionName"]) == partition
        )
        self._enabled = (now, regions)
        return regions

    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
