"""Fixtures for the end-to-end tests: moto server (+ latency proxy), Slack stand-in, the app as a subprocess."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
import requests

from bot.aws.clients import new_session
from bot.demo.aws_proxy import AwsProxy
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack, seed_workshop
from tests.e2e.harness import REGION, AppProcess, app_env


@pytest.fixture(scope="session")
def moto_url(moto_server_url: str) -> str:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    return moto_server_url


@pytest.fixture
def aws_proxy(moto_url: str) -> Iterator[AwsProxy]:
    requests.post(f"{moto_url}/moto-api/reset", timeout=30)
    proxy = AwsProxy(moto_url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def session(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    return new_session(region_name=REGION)


@pytest.fixture
def stack(session: boto3.session.Session, aws_proxy: AwsProxy) -> SeededStack:
    return seed_workshop(session, REGION)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as s:
        yield s


AppFactory = Callable[..., AppProcess]


@pytest.fixture
def start_app(tmp_path: Path, standin: SlackStandIn, aws_proxy: AwsProxy, state_db: str) -> Iterator[AppFactory]:
    started: list[AppProcess] = []

    def factory(start: bool = True, argv: list[str] | None = None, **overrides: str) -> AppProcess:
        env = app_env(tmp_path, standin, aws_proxy.url, **{"CLEANUP_STATE_DB": state_db, **overrides})
        app = AppProcess(env, tmp_path / f"app-{len(started)}.log", cwd=tmp_path)
        if argv is not None:
            app.argv = [a.replace("{PORT}", env["PORT"]) for a in argv]
        started.append(app)
        return app.start() if start else app

    yield factory
    for app in started:
        app.stop()
    if os.environ.get("E2E_SHOW_LOGS"):
        for app in started:
            print(app.log())
