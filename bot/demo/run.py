"""`python -m bot demo`: the product on this machine, with no AWS account and no Slack workspace.

An embedded moto server stands in for AWS, seeded with the workshop stack and look-alikes that must survive.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import boto3

from bot.demo.stack import seed_workshop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def embedded_aws(region: str = "us-east-1") -> Iterator[str]:
    """A moto server on loopback; boto3 in this process (and children) is pointed at it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106 - the emulator takes any key
        AWS_DEFAULT_REGION=region,
    )
    try:
        yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def inventory(session: boto3.session.Session, region: str) -> list[str]:
    """Every resource of the kinds the workshop uses, as "kind name" lines."""
    sm = session.client("sagemaker", region_name=region)
    lines = [f"sagemaker endpoint   {e['EndpointName']}" for e in sm.list_endpoints()["Endpoints"]]
    lines += [f"sagemaker config     {c['EndpointConfigName']}" for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    lines += [f"sagemaker model      {m['ModelName']}" for m in sm.list_models()["Models"]]
    lines += [
        f"lambda function      {f['FunctionName']}"
        for f in session.client("lambda", region_name=region).list_functions()["Functions"]
    ]
    lines += [
        f"dynamodb table       {t}" for t in session.client("dynamodb", region_name=region).list_tables()["TableNames"]
    ]
    lines += [
        f"apigateway rest api  {a['name']}"
        for a in session.client("apigateway", region_name=region).get_rest_apis()["items"]
    ]
    lines += [f"iam role             {r['RoleName']}" for r in session.client("iam").list_roles()["Roles"]]
    lines += [f"s3 bucket            {b['Name']}" for b in session.client("s3").list_buckets()["Buckets"]]
    lines += [
        f"logs log group       {g['logGroupName']}"
        for g in session.client("logs", region_name=region).describe_log_groups()["logGroups"]
    ]
    return sorted(lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot demo")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    from bot.cli import main as cli

    with embedded_aws(args.region):
        session = boto3.session.Session(region_name=args.region)
        seed_workshop(session, args.region)
        print("== AWS before (embedded moto emulator) ==")
        print("\n".join("  " + line for line in inventory(session, args.region)))
        print("\n== python -m bot delete dogcat  (operator types: confirm) ==")
        code = cli(["delete", "dogcat", "--region", args.region], stdin=io.StringIO("confirm\n"))
        print("\n== AWS after ==")
        print("\n".join("  " + line for line in inventory(session, args.region)))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
