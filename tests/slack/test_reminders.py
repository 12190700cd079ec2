"""Scheduled reminders in process: the CLEANUP_REMINDERS parser, the lease in the state store, and the scheduler
driven by `tick(now)` (no sleeps, no real clock) with a fake scan and the Slack stand-in."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.aws.clients import Aws
from bot.config import ConfigError, Settings, parse_channel, parse_reminders
from bot.core.plan import Plan
from bot.core.scanner import ScanError
from bot.core.state import StateStore
from bot.demo.slack_standin import SlackStandIn
from bot.profiles import Profile, load_profiles
from bot.slack import blocks
from bot.slack.reminders import ReminderScheduler, SchedulerOptions, check_reminders
from tests.slack.factories import make_plan, new_scheduler
from tests.slack.limits import message_problems

REMIND = "CREMIND01"
HOUR = 3600.0
T0 = 1_900_000_000.0  # the scheduler's clock in these tests: any value works, nothing reads the real time


# -- the parser -------------------------------------------------------------------------------------------------


def test_parse_reminders() -> None:
    parsed = parse_reminders(" dogcat@C0123ABCD:24h , lab@G0LAB:90m,dogcat@CSECOND:7d,")
    assert [(r.profile, r.channel, r.interval) for r in parsed] == [
        ("dogcat", "C0123ABCD", 86400.0),
        ("lab", "G0LAB", 5400.0),
        ("dogcat", "CSECOND", 7 * 86400.0),
    ]
    assert [r.every for r in parsed] == ["24 hours", "90 minutes", "7 days"]
    assert parsed[0].key == "dogcat@C0123ABCD" and parsed[0].text == "dogcat@C0123ABCD:24h"
    assert parse_reminders("") == () and parse_reminders(" , ") == ()


@pytest.mark.parametrize(
    "text, bad",
    [
        ("dogcat", "dogcat"),
        ("dogcat@C0123ABCD", "dogcat@C0123ABCD"),
        ("dogcat@C0123ABCD:24", "dogcat@C0123ABCD:24"),
        ("dogcat@C0123ABCD:24x", "dogcat@C0123ABCD:24x"),
        ("dogcat@C0123ABCD:1.5h", "dogcat@C0123ABCD:1.5h"),
        ("dogcat@C0123ABCD:30s", "dogcat@C0123ABCD:30s"),
        ("dogcat@C0123ABCD:2m", "dogcat@C0123ABCD:2m"),  # shorter than 5 minutes
        ("dogcat@C0123ABCD:0h", "dogcat@C0123ABCD:0h"),
        ("dogcat@C0123ABCD:400d", "dogcat@C0123ABCD:400d"),
        ("dogcat@#workshops:24h", "dogcat@#workshops:24h"),
        ("dogcat@c0123abcd:24h", "dogcat@c0123abcd:24h"),
        ("dogcat@U0123ABCD:24h", "dogcat@U0123ABCD:24h"),  # a user, not a channel
        ("@C0123ABCD:24h", "@C0123ABCD:24h"),
        ("dogcat@C0123ABCD:24h dogcat@C2:1h", "dogcat@C0123ABCD:24h dogcat@C2:1h"),
        ("dogcat@C0123ABCD:24h,oops,dogcat@C2:1h", "oops"),
        ("dogcat@C0123ABCD:24h,dogcat@C0123ABCD:1h", "dogcat@C0123ABCD:1h"),  # one schedule per profile+channel
    ],
)
def test_malformed_reminders_name_the_entry(text: str, bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_reminders(text)
    assert str(info.value).startswith("CLEANUP_REMINDERS: ")
    assert repr(bad) in str(info.value)


def test_settings_parse_notify_channel_and_reminders() -> None:
    settings = Settings.from_env({"CLEANUP_NOTIFY_CHANNEL": " C0FEED ", "CLEANUP_REMINDERS": "dogcat@C0123ABCD:24h"})
    assert settings.notify_channel == "C0FEED"
    assert settings.reminders[0].interval == 86400.0
    assert Settings.from_env({}).reminders == () and Settings.from_env({}).notify_channel == ""
    with pytest.raises(ConfigError, match="CLEANUP_REMINDERS: 'dogcat@C0123ABCD:1w'"):
        Settings.from_env({"CLEANUP_REMINDERS": "dogcat@C0123ABCD:1w"})
    with pytest.raises(ConfigError, match="CLEANUP_NOTIFY_CHANNEL: '#cleanups'"):
        parse_channel("CLEANUP_NOTIFY_CHANNEL", "#cleanups")


def test_unknown_profile_is_refused() -> None:
    profiles = load_profiles()
    check_reminders(parse_reminders("dogcat@C0123ABCD:24h"), profiles)
    with pytest.raises(ConfigError, match="'catdog@C0123ABCD:24h': there is no profile 'catdog'"):
        check_reminders(parse_reminders("dogcat@C0123ABCD:24h,catdog@C0123ABCD:24h"), profiles)


def test_scheduler_options_from_settings() -> None:
    assert SchedulerOptions.from_settings(Settings.from_env({})) == SchedulerOptions()
    env = {"CLEANUP_REMINDER_POLL_SECONDS": "0.5", "CLEANUP_TEST_CLOCK_OFFSET_SECONDS": "-60"}
    options = SchedulerOptions.from_settings(Settings.from_env(env))
    assert options.poll_seconds == 0.5 and options.clock_offset == -60
    with pytest.raises(ConfigError, match="CLEANUP_REMINDER_POLL_SECONDS"):
        Settings.from_env({"CLEANUP_REMINDER_POLL_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="CLEANUP_RUN_LEASE_SECONDS"):
        Settings.from_env({"CLEANUP_RUN_LEASE_SECONDS": "-3"})


# -- the lease --------------------------------------------------------------------------------------------------


def test_lease_first_claim_is_due_at_once_then_once_per_interval(store: StateStore) -> None:
    claimed = store.claim_reminder("dogcat@C1", HOUR, "p1", T0)
    assert claimed is not None and claimed.owner == "p1" and claimed.last_run == T0 and claimed.next_due == T0 + HOUR
    assert store.claim_reminder("dogcat@C1", HOUR, "p2", T0) is None
    assert store.claim_reminder("dogcat@C1", HOUR, "p2", T0 + HOUR - 1) is None
    again = store.claim_reminder("dogcat@C1", HOUR, "p2", T0 + HOUR)
    assert again is not None and again.owner == "p2" and again.next_due == T0 + 2 * HOUR
    assert store.claim_reminder("other@C1", HOUR, "p1", T0 + HOUR) is not None  # schedules are independent


def test_lease_one_winner_among_processes(db_path: str) -> None:
    """Many stores on one file (as many processes), all claiming the same due run at once: exactly one wins."""
    stores = [StateStore(db_path) for _ in range(8)]
    for rounds, now in enumerate((T0, T0 + HOUR, T0 + 2 * HOUR)):
        barrier = threading.Barrier(len(stores))
        wins: list[str] = []

        def claim(
            i: int, s: StateStore, now: float = now, barrier: threading.Barrier = barrier, wins: list[str] = wins
        ) -> None:
            barrier.wait()
            if s.claim_reminder("dogcat@C1", HOUR, f"p{i}", now) is not None:
                wins.append(f"p{i}")

        threads = [threading.Thread(target=claim, args=(i, s)) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1, (rounds, wins)
    for s in stores:
        s.close()


def test_lease_survives_restart_and_follows_a_shorter_interval(db_path: str) -> None:
    first = StateStore(db_path)
    assert first.claim_reminder("dogcat@C1", 24 * HOUR, "p1", T0) is not None
    first.close()
    restarted = StateStore(db_path)
    assert restarted.claim_reminder("dogcat@C1", 24 * HOUR, "p2", T0 + 23 * HOUR) is None  # continues, not anew
    # the operator shortened the interval to 1 h: due one hour after the stored last run
    assert restarted.claim_reminder("dogcat@C1", HOUR, "p2", T0 + HOUR - 1) is None
    assert restarted.claim_reminder("dogcat@C1", HOUR, "p2", T0 + HOUR) is not None
    restarted.close()


def test_lease_retry_and_finish_only_by_the_owner(store: StateStore) -> None:
    claimed = store.claim_reminder("dogcat@C1", HOUR, "p1", T0)
    assert claimed is not None
    assert not store.retry_reminder("dogcat@C1", "p2", claimed, T0 + 60, "failed")  # not the owner
    assert store.retry_reminder("dogcat@C1", "p1", claimed, T0 + 60, "failed: AWS unreachable")
    state = store.reminder("dogcat@C1")
    assert state is not None and state.next_due == T0 + 60 and state.outcome.startswith("failed")
    store.finish_reminder("dogcat@C1", "p2", "not mine", "feedfacefeedface")
    assert store.reminder("dogcat@C1").outcome.startswith("failed")  # type: ignore[union-attr]
    store.finish_reminder("dogcat@C1", "p1", "posted", "0123456789abcdef")
    state = store.reminder("dogcat@C1")
    assert state is not None and state.outcome == "posted" and state.plan_id == "0123456789abcdef"


# -- the scheduler ----------------------------------------------------------------------------------------------


class FakeScan:
    """Stands in for the scanner: a plan whose resources were created `age` seconds before the scan."""

    def __init__(self, n: int = 6, age: float = 2 * HOUR) -> None:
        self.n, self.age = n, age
        self.calls: list[float] = []
        self.error: Exception | None = None

    def __call__(self, aws: Aws, profile: Profile, regions: tuple[str, ...], now: float) -> Plan:
        self.calls.append(now)
        if self.error is not None:
            raise self.error
        plan = make_plan(self.n, kept=1)
        plan.created_at = now
        for i, r in enumerate(plan.resources):
            r.created_at = now - self.age - i * 60
        return plan


Make = Callable[..., ReminderScheduler]


@pytest.fixture
def make(standin: SlackStandIn, db_path: str) -> Iterator[Make]:
    made: list[StateStore] = []

    def factory(scan: FakeScan, entries: str = f"dogcat@{REMIND}:1h", **settings: Any) -> ReminderScheduler:
        store = StateStore(db_path)  # each scheduler its own store, like separate processes
        made.append(store)
        full = Settings(regions=("us-east-1",), reminders=parse_reminders(entries), **settings)
        return new_scheduler(standin, store, full, scan)

    yield factory
    for s in made:
        s.close()


def top(standin: SlackStandIn) -> list[Any]:
    return standin.top_messages(REMIND)


def plan_id_in(message: Any) -> str:
    actions = [b for b in message.blocks if b["type"] == "actions"]
    return str(actions[0]["elements"][0]["value"])


def test_posts_the_normal_plan_with_a_reminder_banner(make: Make, standin: SlackStandIn) -> None:
    scan = FakeScan(age=3 * HOUR)
    scheduler = make(scan)
    done = scheduler.tick(T0)
    assert list(done) == [f"dogcat@{REMIND}:1h"] and done[f"dogcat@{REMIND}:1h"].startswith("posted")
    assert scan.calls == [T0]
    [message] = top(standin)
    shown = json.dumps(message.blocks)
    assert message_problems(message.blocks) == []
    assert "Scheduled reminder" in shown and "has cost about" in shown and "price table" in shown
    assert "Requested by a scheduled reminder" in shown and "<@scheduled-reminder>" not in shown
    plan_id = plan_id_in(message)
    record = scheduler.store.get(plan_id)
    assert record is not None and record.status == "pending" and record.message_ts == message.ts
    assert record.requester == blocks.REMINDER_REQUESTER and record.channel == REMIND
    assert "reminder" in [e.action for e in scheduler.store.audit_log(plan_id)]
    # the same interval: nothing more, not even a scan
    assert scheduler.tick(T0 + 5 * 60) == {} and scan.calls == [T0]
    assert len(top(standin)) == 1


def test_cost_since_created_in_the_banner(make: Make, standin: SlackStandIn) -> None:
    # an endpoint at $150/month and a table at $1.25/month, both 73 hours old (a tenth of 730 h); a kept endpoint
    # is not counted
    scan = FakeScan(n=5, age=73 * HOUR)
    scheduler = make(scan)

    def plan(aws: Aws, profile: Profile, regions: tuple[str, ...], now: float) -> Plan:
        p = FakeScan.__call__(scan, aws, profile, regions, now)
        p.resources = [r for r in p.resources if r.type in ("sagemaker.endpoint", "dynamodb.table")]
        for r in p.resources:
            r.created_at = now - 73 * HOUR
        return p

    scheduler._scan = plan
    scheduler.tick(T0)
    shown = json.dumps(top(standin)[0].blocks)
    assert "about *$15.12*" in shown  # (150 + 1.25) * 73 / 730 = 15.125
    assert "3 days before this reminder" in shown


def test_nothing_found_or_nothing_old_posts_nothing(make: Make, standin: SlackStandIn) -> None:
    young = FakeScan(age=30 * 60)
    scheduler = make(young)
    assert scheduler.tick(T0) == {f"dogcat@{REMIND}:1h": "nothing older than 1 hour"}
    empty = FakeScan(n=0)
    scheduler._scan = empty
    assert scheduler.tick(T0 + HOUR) == {f"dogcat@{REMIND}:1h": "nothing to delete"}
    assert not standin.calls_to("chat.postMessage")
    assert scheduler.store.reminder(f"dogcat@{REMIND}").outcome == "nothing to delete"  # type: ignore[union-attr]


def test_unknown_creation_times_do_not_count_as_old(make: Make, standin: SlackStandIn) -> None:
    scan = FakeScan()

    def plan(aws: Aws, profile: Profile, regions: tuple[str, ...], now: float) -> Plan:
        p = FakeScan.__call__(scan, aws, profile, regions, now)
        for r in p.resources:
            r.created_at = None
        return p

    scheduler = make(scan)
    scheduler._scan = plan
    assert scheduler.tick(T0)[f"dogcat@{REMIND}:1h"] == "nothing older than 1 hour"
    assert not top(standin)


def test_a_pending_reminder_is_updated_not_posted_again(make: Make, standin: SlackStandIn) -> None:
    scheduler = make(FakeScan())
    scheduler.tick(T0)
    [first] = top(standin)
    first_plan = plan_id_in(first)
    done = scheduler.tick(T0 + HOUR)
    assert "updated the pending reminder" in done[f"dogcat@{REMIND}:1h"]
    [message] = top(standin)  # still one message
    assert message.ts == first.ts and message.updates == 1
    second_plan = plan_id_in(message)
    assert second_plan != first_plan
    old, new = scheduler.store.get(first_plan), scheduler.store.get(second_plan)
    assert old is not None and old.status == "cancelled"
    assert any("superseded" in e.detail for e in scheduler.store.audit_log(first_plan))
    assert new is not None and new.status == "pending" and new.message_ts == first.ts


def test_an_expired_or_handled_reminder_is_not_updated(make: Make, standin: SlackStandIn) -> None:
    scheduler = make(FakeScan(), plan_ttl_minutes=-1.0)  # past its expiry at once (not yet marked expired)
    scheduler.tick(T0)
    scheduler.tick(T0 + HOUR)
    assert len(top(standin)) == 2  # the expired one keeps saying so; a new one is posted

    approved = plan_id_in(top(standin)[-1])
    scheduler.store.approve(approved, "UAPP", now=0.0)
    assert "is approved" in scheduler.tick(T0 + 2 * HOUR)[f"dogcat@{REMIND}:1h"]
    assert len(top(standin)) == 2  # no reminder while the previous one's cleanup is going on


def test_one_reminder_with_several_schedulers_on_one_store(make: Make, standin: SlackStandIn) -> None:
    scans = [FakeScan() for _ in range(4)]
    schedulers = [make(s) for s in scans]
    barrier = threading.Barrier(len(schedulers))

    def tick(s: ReminderScheduler) -> None:
        barrier.wait()
        s.tick(T0)

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(s.calls) for s in scans) == 1  # one scan, by the winner
    assert len(top(standin)) == 1


def test_restart_continues_the_schedule(make: Make, standin: SlackStandIn) -> None:
    make(FakeScan()).tick(T0)
    restarted_scan = FakeScan()
    restarted = make(restarted_scan)  # a new process on the same state store
    assert restarted.tick(T0 + 59 * 60) == {} and restarted_scan.calls == []
    assert restarted.tick(T0 + HOUR) != {} and restarted_scan.calls == [T0 + HOUR]


def test_a_failed_run_is_retried_sooner(make: Make, standin: SlackStandIn) -> None:
    scan = FakeScan(age=48 * HOUR)
    scan.error = ScanError("no AWS credentials found")
    scheduler = make(scan, entries=f"dogcat@{REMIND}:24h")
    assert scheduler.tick(T0)[f"dogcat@{REMIND}:24h"].startswith("failed: ScanError")
    assert scheduler.tick(T0 + 14 * 60) == {}
    scan.error = None
    assert scheduler.tick(T0 + 15 * 60)[f"dogcat@{REMIND}:24h"].startswith("posted")
    state = scheduler.store.reminder(f"dogcat@{REMIND}")
    assert state is not None and state.next_due == T0 + 15 * 60 + 24 * HOUR


def test_not_in_channel_is_logged_and_settled(make: Make, standin: SlackStandIn) -> None:
    standin.not_in_channel.add(REMIND)
    scheduler = make(FakeScan())
    assert scheduler.tick(T0)[f"dogcat@{REMIND}:1h"] == "could not post the reminder (see the log)"
    assert scheduler.store.history(5)[0].record.status == "cancelled"


def test_clock_uses_the_test_offset() -> None:
    options = SchedulerOptions(clock_offset=7200)
    settings = Settings(reminders=parse_reminders(f"dogcat@{REMIND}:1h"))
    scheduler = ReminderScheduler(
        settings,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        load_profiles(),
        options,
    )
    import time

    assert abs(scheduler.clock() - (time.time() + 7200)) < 5


@pytest.mark.parametrize("n", [1, 12, 600])
def test_reminder_plan_message_within_limits(n: int) -> None:
    plan = make_plan(n, kept=3, problems=2, long=True)
    for r in plan.resources:
        r.created_at = plan.created_at - 86400 * 3
    ctx = blocks.PlanContext("0123456789abcdef", blocks.REMINDER_REQUESTER, plan.created_at + 1800)
    message = blocks.plan_blocks(plan, ctx)
    assert message_problems(message) == []
    assert "Scheduled reminder" in json.dumps(message)
    handled = blocks.plan_blocks(plan, ctx, blocks.status_cancelled("UX"))
    assert message_problems(handled) == [] and "Scheduled reminder" in json.dumps(handled)
    modal = blocks.confirm_modal(plan, ctx)
    assert modal["blocks"][0]["text"]["text"].startswith("A scheduled reminder asks to delete")
