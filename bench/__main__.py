"""`python -m bench [NAME ...]`: run the benchmarks (all, or those named), print them, write bench/results/.

Each benchmark is a module of this package with a TITLE and `run(Options) -> Report`; adding one is adding a
module and a line to BENCHMARKS. Results of the benchmarks run replace theirs in bench/results/latest.json, and
bench/results/latest.md is rewritten from it, so `python -m bench s3` refreshes the S3 part only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Options, Report, WorkerError, markdown, text_table

# name -> module, in the order they run and are reported.
BENCHMARKS: dict[str, str] = {
    "ack": "bench.ack",
    "scan": "bench.scan",
    "s3": "bench.s3",
    "cleanup": "bench.cleanup",
    "startup": "bench.startup",
    "state": "bench.state",
    "fleet": "bench.fleet",
    "custodian": "bench.custodian",
    "proof": "bench.proof",
    "quota": "bench.quota",
}
RESULTS = Path(__file__).resolve().parent / "results"
HEADER = """## BENCHMARKS

Rerun with `make bench` (or `python -m bench [{names}]`); about 10 minutes on a 2-core machine, loopback only.
Every figure comes from moto servers on loopback behind a latency proxy (`bot/demo/aws_proxy.py`) that stands in
for the network; the Slack app runs as the Procfile starts it, against the loopback Slack stand-in. Ratios compare
contenders measured in the same run, on the same data. moto is a stand-in: absolute times are not AWS's, and its
S3 listing cost grows with the bucket (every ListObjectVersions walks every version). Rows marked "what-if"
measure a suggested change, prototyped in bench/, not the shipped code.
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--runs", type=int, help="runs per contender (default: each benchmark's own)")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, one run, results in a temp folder: checks the benchmarks work"
    )
    parser.add_argument("--full", action="store_true", help="also the slowest comparisons, skipped by default")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default bench/results)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if args.runs is not None and not 1 <= args.runs <= 50:
        parser.error("--runs must be between 1 and 50")
    options = Options(runs=args.runs, quick=args.quick, full=args.full)
    names = args.names or list(BENCHMARKS)
    if args.quick and args.out == RESULTS:
        args.out = Path(tempfile.gettempdir()) / "dogcat-bench-quick"  # a smoke run never touches the real figures

    reports = _load(args.out / "latest.json")
    failed = []
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"\n== {name}: {module.TITLE}", flush=True)
        started = time.monotonic()
        try:
            report: Report = module.run(options)
        except WorkerError as e:
            print(f"   {name} FAILED: {e}", flush=True)
            failed.append(name)
            continue
        report.seconds = time.monotonic() - started
        report.measured_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        reports[name] = report
        print(text_table(report), flush=True)
        _save(args.out, reports)
    print(f"\nwrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    return 1 if failed else 0


def _load(path: Path) -> dict[str, Report]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {name: Report.from_json(raw) for name, raw in data.get("benchmarks", {}).items() if name in BENCHMARKS}


def _save(folder: Path, reports: dict[str, Report]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ordered = [reports[name] for name in BENCHMARKS if name in reports]
    raw = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "benchmarks": {r.name: r.to_json() for r in ordered},
    }
    text = HEADER.format(names=" ".join(BENCHMARKS)) + "\n" + "\n".join(markdown(r) for r in ordered)
    for name, content in (("latest.json", json.dumps(raw, indent=2) + "\n"), ("latest.md", text)):
        tmp = folder / f"{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(folder / name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
