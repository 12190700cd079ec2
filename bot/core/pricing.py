"""What a resource costs per month while it lives, from the bundled price table (prices.json, dated).

The AWS layer reports facts (instances, stored bytes, capacity); this module turns them into dollars.
An instance type missing from the table gives None ("unknown"), never a guess.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

GB = 1024**3
PRICE_FILE = Path(__file__).with_name("prices.json")


@cache
def price_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PRICE_FILE.read_text(encoding="utf-8"))
    return data


def monthly_cost(type_key: str, usage: dict[str, Any]) -> tuple[float | None, str]:
    """(USD per month or None when unknown, how it was worked out)."""
    prices = price_table()
    hours = float(prices["hours_per_month"])
    as_of = f"us-east-1 on-demand prices of {prices['as_of']}"
    if type_key == "sagemaker.endpoint":
        instances = usage.get("instances", [])
        if not instances:
            return None, "no instance information"
        total = 0.0
        parts = []
        for inst in instances:
            if inst.get("serverless"):
                return None, "serverless endpoint: billed per request, price unknown"
            instance_type = inst.get("type") or ""
            hourly = prices["sagemaker_hosting_per_hour"].get(instance_type)
            if hourly is None:
                return None, f"no price for {instance_type or 'an unknown instance type'} in the price table"
            count = int(inst.get("count", 1))
            total += hourly * count * hours
            parts.append(f"{count} x {inst['type']} at ${hourly}/h")
        return total, f"{', '.join(parts)} ({as_of})"
    if type_key == "s3.bucket":
        stored = int(usage.get("stored_bytes", 0))
        cost = stored / GB * prices["s3_standard_per_gb_month"]
        prefix = "" if usage.get("complete", True) else "at least "
        return cost, f"{prefix}{human_bytes(stored)} stored, all versions, S3 Standard ({as_of})"
    if type_key == "logs.log-group":
        stored = int(usage.get("stored_bytes", 0))
        return stored / GB * prices["cloudwatch_logs_storage_per_gb_month"], f"{human_bytes(stored)} stored ({as_of})"
    if type_key == "dynamodb.table":
        storage = int(usage.get("stored_bytes", 0)) / GB * prices["dynamodb_storage_per_gb_month"]
        if usage.get("billing_mode") == "PAY_PER_REQUEST":
            return storage, f"on-demand table: storage only while idle ({as_of})"
        rcu, wcu = int(usage.get("rcu", 0)), int(usage.get("wcu", 0))
        capacity = (rcu * prices["dynamodb_per_rcu_hour"] + wcu * prices["dynamodb_per_wcu_hour"]) * hours
        return capacity + storage, f"{rcu} RCU + {wcu} WCU provisioned ({as_of})"
    if type_key in {"lambda.function", "apigateway.rest-api", "apigatewayv2.api"}:
        return 0.0, "nothing while idle (billed per request)"
    if type_key == "sagemaker.endpoint-config" or type_key == "sagemaker.model" or type_key == "iam.role":
        return 0.0, "free"
    return None, "no price model for this resource type"


def human_bytes(n: int) -> str:
    """A byte count for people: 512 B, 6.0 KB, 5.0 TB."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_monthly(cost: float | None) -> str:
    if cost is None:
        return "unknown"
    if cost == 0:
        return "$0/month"
    if cost < 0.01:
        return "< $0.01/month"
    return f"${cost:,.2f}/month"


def cost_since_created(monthly: float | None, created_at: float | None, now: float) -> float | None:
    """What a resource has cost from its creation until `now` at today's monthly rate; None when either is unknown.

    An estimate: it assumes the resource was provisioned as it is now for its whole life.
    """
    if monthly is None or created_at is None:
        return None
    hours = max(0.0, now - created_at) / 3600
    return monthly * hours / float(price_table()["hours_per_month"])


def format_usd(cost: float) -> str:
    if cost == 0:
        return "$0"
    if cost < 0.01:
        return "< $0.01"
    return f"${cost:,.2f}"
