"""Fault injection through botocore's event system: canned AWS error responses in each service's real format.

A `before-send.<service>.<Operation>` hook that returns a response short-circuits the HTTP call; botocore then
parses it and applies its real retry logic, exactly as if AWS had answered. Use it against a moto *server*:
moto's in-process mock answers from the same event and botocore runs every handler, so the mock would still
carry out a call whose answer we replaced.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from bot.demo.aws_proxy import SERVICES, error_wire


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body


def error_response(service: str, code: str, message: str, status: int) -> AWSResponse:
    status, headers, body = error_wire(service, code, message, status)
    return AWSResponse("https://fault.invalid/", status, headers, _Body(body))


class Faults:
    """Rules on a boto3 session: register before the session's clients are created."""

    def __init__(self, session: boto3.session.Session, seed: int = 7) -> None:
        self.session = session
        self.calls: Counter[str] = Counter()  # "service.Operation" -> calls that reached the hook
        self.injected: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[Callable[[str, str], AWSResponse | None]] = []
        self._regional_rules: list[Callable[[str, str, str], AWSResponse | None]] = []
        # First, so that it runs before moto's in-process stub (which answers from the same event).
        session.events.register_first("before-send", self._hook)

    def _hook(self, request: Any = None, event_name: str = "", **_kwargs: Any) -> AWSResponse | None:
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1
        region = _signed_region(request)
        for regional_rule in self._regional_rules:
            response = regional_rule(service, operation, region)
            if response is not None:
                with self._lock:
                    self.injected[f"{service}.{operation}"] += 1
                return response
        for rule in self._rules:
            response = rule(service, operation)
            if response is not None:
                with self._lock:
                    self.injected[f"{service}.{operation}"] += 1
                return response
        return None

    def throttle(self, fraction: float, services: set[str] | None = None) -> None:
        def rule(service: str, _operation: str) -> AWSResponse | None:
            if service not in SERVICES or (services and service not in services):
                return None
            with self._lock:
                hit = self._random.random() < fraction
            if not hit:
                return None
            _protocol, code, status = SERVICES[service]
            return error_response(service, code, "Rate exceeded (injected)", status)

        self._rules.append(rule)

    def deny(self, service: str, operation: str, code: str = "AccessDeniedException", status: int = 400) -> None:
        def rule(svc: str, op: str) -> AWSResponse | None:
            if svc == service and op == operation:
                return error_response(service, code, f"User is not authorized to perform {op} (injected)", status)
            return None

        self._rules.append(rule)

    def deny_in(self, service: str, operation: str, region: str, code: str = "AccessDeniedException") -> None:
        """AccessDenied for one operation in one region only (the region of the request's SigV4 scope)."""

        def rule(svc: str, op: str, reg: str) -> AWSResponse | None:
            if svc == service and op == operation and reg == region:
                return error_response(service, code, f"User is not authorized to perform {op} (injected)", 400)
            return None

        self._regional_rules.append(rule)

    def answer(
        self, service: str, operation: str, body: dict[str, Any], region: str | None = None, once: bool = False
    ) -> None:
        """A canned successful answer in a JSON protocol service's wire format (what moto cannot model)."""
        used: list[bool] = []

        def rule(svc: str, op: str, reg: str) -> AWSResponse | None:
            if svc != service or op != operation or (region and reg != region) or (once and used):
                return None
            used.append(True)
            protocol = SERVICES.get(service, ("json", "", 0))[0]
            content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
            headers = {"x-amzn-RequestId": "canned", "Content-Type": content_type}
            return AWSResponse("https://canned.invalid/", 200, headers, _Body(json.dumps(body).encode()))

        self._regional_rules.append(rule)


def _signed_region(request: Any) -> str:
    """The region of a SigV4-signed request: Credential=KEY/DATE/REGION/SERVICE/aws4_request."""
    headers = getattr(request, "headers", {}) or {}
    auth = headers.get("Authorization", b"")
    text = auth.decode() if isinstance(auth, bytes) else str(auth)
    marker = "Credential="
    if marker not in text:
        return ""
    parts = text.split(marker, 1)[1].split(",", 1)[0].split("/")
    return parts[2] if len(parts) > 2 else ""
