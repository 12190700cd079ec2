"""The benchmarks never rot: each imports and names itself, and one runs end to end at tiny sizes (`--quick`: one
run, no figures kept) through the shared machinery: moto in its own process, the latency proxy, the Slack stand-in,
the app started both as `python -m bot` and as the Procfile's `web:` line, and the report files."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_module_imports_with_a_title_and_a_run(name: str) -> None:
    module = importlib.import_module(BENCHMARKS[name])
    assert isinstance(module.TITLE, str) and module.TITLE
    assert callable(module.run)


def test_a_tiny_run_writes_its_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path), "startup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert set(report["benchmarks"]) == {"startup"}
    assert "## BENCHMARKS" in (tmp_path / "latest.md").read_text(encoding="utf-8")
