"""Reliability evidence: the real app as a subprocess, a fault-injecting proxy in front of moto.

Reuses the end-to-end fixtures (moto server, the fault-injecting `aws_proxy` in front of it, Slack stand-in,
`start_app`). Each test adds its figures (requests throttled, faults survived, races tried, inputs tried) to
`FIGURES`; they are printed in pytest's terminal summary and written to `$RELIABILITY_FIGURES` when set.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from tests.e2e.conftest import aws_proxy, moto_url, session, stack, standin, start_app  # noqa: F401 (fixtures)

FIGURES: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()


def record(test: str, **figures: Any) -> None:
    with _LOCK:
        FIGURES.setdefault(test, {}).update(figures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for test, figures in sorted(FIGURES.items()):
        shown = ", ".join(f"{k}={v}" for k, v in figures.items())
        terminalreporter.write_line(f"{test}: {shown}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(FIGURES, indent=2, sort_keys=True, default=str) + "\n")
        terminalreporter.write_line(f"written to {target}")
