"""`python -m bot` (or the `dogcat-cleanup` console script): serve Slack (Socket Mode or HTTP), or the operator
verbs scan, delete and demo."""

from __future__ import annotations

import sys

from dotenv import load_dotenv

from bot.logs import setup_logging


def main(argv: list[str]) -> int:
    load_dotenv()
    setup_logging()
    if argv and argv[0] == "demo":
        try:
            from bot.demo.run import main as demo
        except ModuleNotFoundError as e:
            if (e.name or "").partition(".")[0] not in {"moto", "requests"}:
                raise
            print(f"error: the demo needs the development requirements (requirements-dev.txt): {e}", file=sys.stderr)
            return 2
        return demo(argv[1:])
    if argv:
        from bot.cli import main as cli

        return cli(argv)
    from bot.config import ConfigError
    from bot.profiles import ProfileError
    from bot.serve import checked_settings, serve

    try:
        settings = checked_settings()
    except (ConfigError, ProfileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


def entry() -> int:
    """The `dogcat-cleanup` console script."""
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(entry())
