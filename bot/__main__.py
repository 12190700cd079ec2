"""`python -m bot`: serve Slack (Socket Mode or HTTP), or the operator verbs scan, delete and demo."""

from __future__ import annotations

import logging
import sys

from dotenv import load_dotenv


def main(argv: list[str]) -> int:
    load_dotenv()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("botocore", "werkzeug", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if argv and argv[0] == "demo":
        from bot.demo.run import main as demo

        return demo(argv[1:])
    if argv:
        from bot.cli import main as cli

        return cli(argv)
    from bot.aws.registry import RESOURCE_TYPES
    from bot.config import ConfigError, Settings
    from bot.profiles import ProfileError, load_profiles
    from bot.serve import serve
    from bot.slack.reminders import check_reminders

    try:
        settings = Settings.from_env()
        settings.require_slack()
        profiles = load_profiles(settings.profiles_file or None, frozenset(RESOURCE_TYPES))  # fail now, not mid-request
        check_reminders(settings.reminders, profiles)  # a reminder for an unknown profile, too
    except (ConfigError, ProfileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
