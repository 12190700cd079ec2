"""The operators' command line, run as a real subprocess against a moto server over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest

from bot.aws.clients import new_session
from bot.demo.stack import SeededStack, seed_workshop

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def stack(moto_server: str) -> SeededStack:
    return seed_workshop(new_session(region_name=REGION), REGION)


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        # each command gets a state store of its own unless the test names one: deletions are recorded runs
        env={**os.environ, "CLEANUP_STATE_DB": str(Path(tempfile.mkdtemp()) / "cli.sqlite3"), **(env or {})},
        timeout=120,
    )


def table_names() -> list[str]:
    return list(boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"])


def test_scan_json_is_the_plan(stack: SeededStack) -> None:
    done = run("scan", "dogcat", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["account_id"] == stack.account_id
    assert {f"{r['type']}:{r['id']}" for r in plan["resources"]} == set(stack.workshop)


def test_scan_table_shows_costs_and_reasons(stack: SeededStack) -> None:
    done = run("scan", "dogcat")
    assert done.returncode == 0, done.stderr
    assert "14 to delete, about $86.80/month while alive" in done.stdout
    assert "model of SageMaker endpoint config dogcat-endpoint-a1b2c3d4" in done.stdout


def test_delete_needs_the_exact_word(stack: SeededStack) -> None:
    refused = run("delete", "dogcat", stdin="yes\n")
    assert refused.returncode == 3
    assert "nothing deleted" in refused.stdout
    assert "PredictionHistory" in table_names()

    dry = run("delete", "dogcat", "--dry-run", stdin="confirm\n")
    assert dry.returncode == 0 and "Dry run" in dry.stdout
    assert "PredictionHistory" in table_names()

    done = run("delete", "dogcat", stdin="  confirm \n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "14 deleted" in done.stdout
    assert table_names() == ["PredictionHistoryArchive"]

    again = run("delete", "dogcat", stdin="confirm\n")
    assert again.returncode == 0 and "Nothing to delete" in again.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("scan", "catdog"), {}, "unknown profile 'catdog'; profiles: dogcat"),
        (("scan", "dogcat", "--region", "moon-1"), {}, "'moon-1' is not an AWS region name"),
        (("scan",), {}, "the following arguments are required: profile"),
        (("scan", "dogcat"), {"CLEANUP_PROFILES": "/nonexistent/profiles.toml"}, "/nonexistent/profiles.toml"),
        (("explode",), {}, "invalid choice"),
    ],
)
def test_usage_errors_exit_2(moto_server: str, args: tuple[str, ...], env: dict[str, str], message: str) -> None:
    done = run(*args, env=env)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


ALICE, BOB = "111111111111", "222222222222"


def _member(account: str) -> boto3.session.Session:
    from bot.aws.accounts import assumed_session

    return assumed_session(new_session(region_name=REGION), f"arn:aws:iam::{account}:role/DogcatCleanupRole", "seeding")


def test_accounts_scan_and_delete_each(moto_server: str) -> None:
    """CLEANUP_ACCOUNTS: one scan of every account, --account narrows it, one confirm deletes in each."""
    for account in (ALICE, BOB):
        seed_workshop(_member(account), REGION)
    env = {"CLEANUP_ACCOUNTS": f"{ALICE},{BOB}"}

    both = run("scan", "dogcat", "--json", env=env)
    assert both.returncode == 0, both.stderr
    plan = json.loads(both.stdout)
    assert [a["account_id"] for a in plan["accounts"]] == [ALICE, BOB]
    assert {r["account_id"] for r in plan["resources"]} == {ALICE, BOB}

    one = run("scan", "dogcat", "--account", BOB, env=env)
    assert one.returncode == 0, one.stderr
    assert f"== Account {BOB} (role arn:aws:iam::{BOB}:role/DogcatCleanupRole)" in one.stdout
    assert ALICE not in one.stdout and "14 to delete" in one.stdout

    unknown = run("scan", "dogcat", "--account", "333333333333", env=env)
    assert unknown.returncode == 2
    assert f"333333333333 is not configured; configured accounts: {ALICE}, {BOB}" in unknown.stderr

    done = run("delete", "dogcat", stdin="confirm\n", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "28 deleted" in done.stdout and f"({ALICE} us-east-1)" in done.stdout
    for account in (ALICE, BOB):
        tables = _member(account).client("dynamodb").list_tables()["TableNames"]
        assert tables == ["PredictionHistoryArchive"], account


def test_what_owners_kept_from_slack_is_kept_by_delete(stack: SeededStack, tmp_path: Path) -> None:
    """A keep-until recorded by the Slack app (the state store) holds for the command line too."""
    from datetime import date, timedelta

    from bot.core.keeps import KeepUntil
    from bot.core.state import StateStore

    db = str(tmp_path / "state.sqlite3")
    store = StateStore(db)
    until = date.today() + timedelta(days=30)
    store.add_keeps("p" * 16, [KeepUntil(f"dynamodb.table|{REGION}|PredictionHistory", "", until, "UMAI")], "UMAI")
    store.close()
    shown = run("scan", "dogcat", env={"CLEANUP_STATE_DB": db})
    assert shown.returncode == 0, shown.stderr
    assert f"kept until {until.isoformat()} by UMAI" in shown.stdout
    done = run("delete", "dogcat", stdin="confirm\n", env={"CLEANUP_STATE_DB": db})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PredictionHistory" in table_names()


def test_savings_reads_the_state_store(tmp_path: Path) -> None:
    from bot.core.plan import ResourceResult
    from tests.core.test_state_owners import plan, resource

    missing = run("savings", env={"CLEANUP_STATE_DB": str(tmp_path / "none.sqlite3")})
    assert missing.returncode == 0 and "No cleanup recorded yet" in missing.stdout
    assert not (tmp_path / "none.sqlite3").exists()

    from bot.core.state import StateStore

    db = str(tmp_path / "state.sqlite3")
    store = StateStore(db)
    endpoint = resource("dogcat-endpoint-a", 84.0)
    record = store.create_plan(plan(endpoint), "C1", "U1", 600)
    assert store.approve(record.id, "U2") and store.start_run(record.id, "r")
    store.record_result(record.id, ResourceResult(endpoint.key, endpoint.label, endpoint.name, "us-east-1", "deleted"))
    assert store.finish_run(record.id, "r", "done", "ok")
    store.close()
    done = run("savings", "--months", "3", env={"CLEANUP_STATE_DB": db})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "What cleanups saved: about $84.00/month stopped in 3 months"
    assert lines[2].split() == ["MONTH", "COST", "STOPPED", "CLEANUPS", "STILL", "RUNNING", "FOUND"]
    assert lines[5].split()[1:3] == ["$84.00/month", "1"] and len(lines[3:6]) == 3
    assert run("savings", "--months", "0", env={"CLEANUP_STATE_DB": db}).returncode == 2


def test_a_command_line_deletion_is_a_recorded_run(stack: SeededStack, tmp_path: Path) -> None:
    """Recorded, audited and in /cleanup history, like a run approved in Slack."""
    from bot.core.state import StateStore
    from bot.slack import blocks

    db = str(tmp_path / "state.sqlite3")
    done = run("delete", "dogcat", stdin="confirm\n", env={"CLEANUP_STATE_DB": db})
    assert done.returncode == 0, done.stderr
    store = StateStore(db)
    try:
        (entry,) = store.history()
        record = entry.record
        assert (record.status, record.channel) == ("done", "")
        assert record.requester.startswith("cli") and record.approver == record.requester
        assert f"Run {record.id} (recorded in the state store)" in done.stdout
        assert set(store.results(record.id)) == {r.key for r in record.plan.to_delete}
        assert entry.counts == {"deleted": len(stack.workshop)}
        actions = [a.action for a in store.audit_log(record.id)]
        assert actions[:3] == ["requested", "approved", "run-started"] and actions[-1] == "run-done", actions
        shown = json.dumps(blocks.history_blocks(store.history()))
        assert "(command line)" in shown and f"{len(stack.workshop)} deleted" in shown
    finally:
        store.close()


def test_a_deletion_that_cannot_be_recorded_deletes_nothing(stack: SeededStack) -> None:
    done = run("delete", "dogcat", stdin="confirm\n", env={"CLEANUP_STATE_DB": "/proc/no-such-dir/state.sqlite3"})
    assert done.returncode != 0
    assert "cannot record this cleanup in the state store" in done.stderr and "nothing deleted" in done.stderr
    assert "PredictionHistory" in table_names()
