"""The README's first command: the whole conversation on embedded stand-ins ends with only the look-alikes left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_whole_conversation() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "CLEANUP_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "types 'yes' → the modal stays open" in out
    assert "two-person rule" in out
    assert "14 deleted, 0 already gone, 0 skipped, 0 failed" in out
    after = out.split("== AWS after", 1)[1].splitlines()[1:]
    assert sorted(line.split()[-1] for line in after if line.strip()) == sorted(
        [
            "MLInferenceAPI-prod",
            "PredictionHistoryArchive",
            "AmazonSageMaker-ExecutionRole-fraud-team",
            "prod-inference-lambda-role",
            "InvokeModelLambdaV2",
            "fraud-detector-prod",
        ]
    )
