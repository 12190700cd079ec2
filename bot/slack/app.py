"""App assembly: settings in, a Bolt app with its listeners, service, state store and runner out."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from bot.aws.clients import Aws, new_session
from bot.aws.registry import RESOURCE_TYPES
from bot.config import Settings
from bot.core.accounts import Fleet
from bot.core.scanner import scan_workers
from bot.core.state import StateStore
from bot.profiles import load_profiles
from bot.slack.feed import Feed
from bot.slack.installation import Installation
from bot.slack.listeners import register_listeners
from bot.slack.reminders import ReminderScheduler, SchedulerOptions
from bot.slack.runner import Runner, RunnerOptions
from bot.slack.service import CleanupService
from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)


@dataclass
class Assembled:
    app: App
    service: CleanupService
    store: StateStore
    runner: Runner
    reminders: ReminderScheduler | None = None
    feed: Feed | None = None


def build(settings: Settings, aws: Aws | None = None, start_background: bool = True) -> Assembled:
    """Everything the app needs; with `start_background`, abandoned runs are resumed, plans expire and scheduled
    reminders run."""
    settings.require_slack()
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=False,
        # acks never wait for slow work: scans and runs have their own pools
        listener_executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="bolt"),
    )
    profiles = load_profiles(settings.profiles_file or None, frozenset(RESOURCE_TYPES))
    store = StateStore(settings.state_db)
    aws = aws or Aws(new_session(), max_workers=scan_workers(settings.regions))
    aws.known_regions()  # loaded now, not during the first slash commands' 3-second acknowledgement
    slack = SlackWeb(client)
    fleet = Fleet(aws, settings.accounts, settings.assume_role, workers_per_account=scan_workers(settings.regions))
    feed = Feed(store, slack, settings.notify_channel, settings.language) if settings.notify_channel else None
    runner = Runner(
        store,
        aws,
        slack,
        RunnerOptions.from_settings(settings),
        on_finished=feed.run_finished if feed else None,
        fleet=fleet,
    )
    installation = Installation(slack)
    installation.workspace()  # asked now, not during the first click's 3 seconds before views.open
    service = CleanupService(settings, store, aws, slack, profiles, runner, fleet=fleet, installation=installation)
    reminders = (
        ReminderScheduler(settings, store, aws, slack, profiles, SchedulerOptions.from_settings(settings))
        if settings.reminders
        else None
    )
    register_listeners(app, service)
    if start_background:
        runner.start_janitor()
        if fleet.enabled:  # learn the accounts now, so that /cleanup <profile> <account-id> is checked before its ack
            threading.Thread(target=fleet.prime, name="accounts", daemon=True).start()
        if reminders is not None:
            reminders.start()
    log.info("dogcat-cleanup ready: regions %s, state %s", ",".join(settings.regions), store.describe())
    return Assembled(app, service, store, runner, reminders, feed)
