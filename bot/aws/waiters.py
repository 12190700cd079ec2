"""Bounded waits for AWS's asynchronous deletions, on boto3's own waiters."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, WaiterError


def waiter_config(timeout: float, poll_delay: float) -> dict[str, float | int]:
    """Delay and MaxAttempts such that the waiter gives up after about `timeout` seconds (at least one poll).

    botocore sleeps between polls, not after the last one, so n attempts span (n - 1) delays.
    """
    if timeout <= 0:
        return {"Delay": max(poll_delay, 0.0), "MaxAttempts": 1}
    delay = min(poll_delay, timeout)
    return {"Delay": delay, "MaxAttempts": 1 + max(0, math.floor(timeout / delay + 1e-9))}


def wait_until_gone(
    client: Any,
    waiter_name: str,
    timeout: float,
    poll_delay: float,
    what: str,
    status_of: Callable[[dict[str, Any]], str],
    **params: Any,
) -> None:
    """Run a boto3 "deleted" waiter bounded by `timeout`, translating its errors into what callers expect.

    Out of attempts -> TimeoutError; the resource reached a failed state -> RuntimeError with AWS's reason;
    an unexpected AWS error (AccessDenied, ...) -> that ClientError, so the executor reports the real cause.
    """
    waiter = client.get_waiter(waiter_name)
    try:
        waiter.wait(**params, WaiterConfig=waiter_config(timeout, poll_delay))
    except WaiterError as e:
        last: dict[str, Any] = e.last_response or {}
        if "Code" in last.get("Error", {}):
            raise ClientError(last, waiter.config.operation) from e
        if "terminal failure" in str(e):
            reason = last.get("FailureReason") or str(e)
            raise RuntimeError(f"{what} cannot be deleted: status {status_of(last) or 'unknown'}: {reason}") from e
        raise TimeoutError(f"{what} still exists after {timeout:g} s (status {status_of(last) or 'unknown'})") from e
