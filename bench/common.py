"""What every benchmark shares: the moto server, contender runs in fresh processes, and the report model.

Layout of a run: this process hosts the moto server (so seeding can go straight to moto's in-process backends)
and the latency proxy; each contender runs in a child process (`python -m bench.worker`) that reaches AWS through
the proxy. A child has its own interpreter, so its CPU time, its memory and its threads are its own: moto's work
never holds the contender's GIL, and the child's peak resident memory (ru_maxrss) is the contender's alone.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests

if TYPE_CHECKING:  # not imported at run time: every contender process imports this module
    from bot.demo.aws_proxy import AwsProxy, LatencyModel
    from bot.demo.stack import SeededStack

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH-RESULT "
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
WORKER_TIMEOUT = 900.0  # seconds one contender run may take before it is killed
FAKE_KEY = "bench"  # moto takes any key; no real credential is ever read

T = TypeVar("T")


@dataclass
class Options:
    """Command-line choices every benchmark receives."""

    runs: int | None = None  # runs per contender; None: each benchmark's default
    quick: bool = False  # small sizes and single runs: checks that the benchmarks work, measures nothing
    full: bool = False  # also the slowest comparisons that are skipped by default

    def runs_or(self, default: int) -> int:
        """Runs per contender: one when quick, else as asked, else `default`."""
        return 1 if self.quick else (self.runs or default)


# -- moto ----------------------------------------------------------------------------------------------------


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on loopback in this process; this process's own boto3 calls (seeding) go straight to it."""
    from bot.demo.run import embedded_aws

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with embedded_aws(key=FAKE_KEY) as url:
        yield url


@dataclass
class MotoProcesses:
    """moto server processes by name (e.g. region): their URLs and process ids."""

    urls: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by all of them together."""
        return sum(process_cpu_seconds(pid) for pid in self.pids.values())

    def rss_kb(self) -> int:
        return sum(process_status_kb(pid, "VmRSS") for pid in self.pids.values())


@contextmanager
def moto_processes(names: Sequence[str]) -> Iterator[MotoProcesses]:
    """One moto server PROCESS per name (e.g. per region), on loopback. Each has its own GIL, as independent AWS
    endpoints have their own machines. This process's boto3 is not pointed at any of them."""
    started: list[subprocess.Popen[str]] = []
    fleet = MotoProcesses()
    env = child_env("http://127.0.0.1:1")  # fake keys, no AWS config
    env.pop("AWS_ENDPOINT_URL", None)
    try:
        for _name in names:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.moto_process"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,  # closed by us (or by our death): the server then stops
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            started.append(process)
        for name, process in zip(names, started, strict=True):
            assert process.stdout is not None
            line = process.stdout.readline()  # "READY <port>", or "" if it died
            if not line.startswith("READY "):
                raise WorkerError(f"the moto server for {name} did not start (exit {process.poll()})")
            fleet.urls[name] = f"http://127.0.0.1:{int(line.split()[1])}"
            fleet.pids[name] = process.pid
        yield fleet
    finally:
        for process in started:
            if process.stdin is not None:
                process.stdin.close()
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of one process from /proc/<pid>/stat; 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_status_kb(pid: int, field: str) -> int:
    """A memory figure (VmRSS, VmHWM) of one process from /proc/<pid>/status, in KiB; 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


@contextmanager
def aws_endpoint(url: str) -> Iterator[str]:
    """This process's boto3 (seeding) pointed at `url` (a moto server or a proxy in front of some), fake keys."""
    from bot.demo.run import pointed_at

    with pointed_at(url, key=FAKE_KEY):
        yield url


def reset_moto(url: str) -> None:
    requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()


def child_env(endpoint: str, region: str = REGION) -> dict[str, str]:
    """The environment of a contender: fake keys, the given endpoint, no AWS config or credentials files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=FAKE_KEY,
        AWS_SECRET_ACCESS_KEY=FAKE_KEY,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


@dataclass
class ProxiedMoto:
    """moto servers behind the latency proxy, as most benchmarks run, and the environment of a contender that
    reaches AWS through the proxy (child_env)."""

    moto: MotoProcesses
    proxy: AwsProxy
    env: dict[str, str]

    def reseed(self, seed: Callable[[], T], latency: LatencyModel) -> T:
        """Every moto server emptied, then seed() run by this process's boto3 through the proxy with no added
        latency; from then on the proxy delays calls by `latency`. seed()'s value."""
        from bot.demo.aws_proxy import NO_LATENCY

        for url in self.moto.urls.values():
            reset_moto(url)
        self.proxy.model = NO_LATENCY
        with aws_endpoint(self.proxy.url):
            value = seed()
        self.proxy.model = latency
        return value


@contextmanager
def proxied_moto(names: Sequence[str], latency: LatencyModel) -> Iterator[ProxiedMoto]:
    """moto_processes(names) behind one latency proxy (its upstream the first of them) delaying calls by `latency`."""
    from bot.demo.aws_proxy import AwsProxy

    with moto_processes(names) as moto, AwsProxy(moto.urls[names[0]], latency) as proxy:
        yield ProxiedMoto(moto, proxy, child_env(proxy.url))


def seed_workshop_stack(region: str = REGION) -> SeededStack:
    """The workshop stack (bot.demo.stack.seed_workshop) in `region`, seeded by this process's boto3."""
    import boto3

    from bot.demo.stack import seed_workshop

    return seed_workshop(boto3.session.Session(region_name=region), region)


# -- contenders in fresh processes ---------------------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


def run_worker(target: str, env: Mapping[str, str], timeout: float = WORKER_TIMEOUT, **kwargs: Any) -> dict[str, Any]:
    """Run `bench.module:function(**kwargs)` in a fresh interpreter; its JSON result, plus the child's ru_maxrss."""
    command = [sys.executable, "-m", "bench.worker", target, json.dumps(kwargs)]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise WorkerError(f"{target} took more than {timeout:.0f} s and was stopped") from e
    return contender_result(target, done.returncode, done.stdout, "\n".join(done.stderr.strip().splitlines()[-15:]))


def contender_result(what: str, returncode: int, stdout: str, stderr_tail: str) -> dict[str, Any]:
    """The result a contender process printed on its last BENCH-RESULT line; a WorkerError saying that `what`
    failed, with `stderr_tail`, where it exited non-zero or printed none."""
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if returncode != 0 or not lines:
        raise WorkerError(f"{what} failed (exit {returncode}):\n{stderr_tail}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in KiB; 0 where unavailable."""
    return process_status_kb(os.getpid(), field)


def rss_kb() -> int:
    """This process's resident memory now, in KiB (Linux)."""
    return _status_kb("VmRSS")


def reset_peak_rss() -> bool:
    """Start the peak-RSS count afresh (Linux: writing 5 to clear_refs resets VmHWM), so that the peak read later
    is the timed part's, not the imports'. False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def measure(fn: Callable[[], T], trace_memory: bool = False) -> tuple[T, dict[str, Any]]:
    """fn() timed (wall and CPU), with this process's peak resident memory during it (VmHWM after a reset; on
    kernels without the reset, the process's lifetime peak). With trace_memory, also tracemalloc's peak (slows fn
    down)."""
    before = rss_kb()
    peak_was_reset = reset_peak_rss()
    if trace_memory:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        value = fn()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started  # every thread of this process
        peak = _status_kb("VmHWM") if peak_was_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        metrics: dict[str, Any] = {"seconds": seconds, "cpu_seconds": cpu, "rss_start_kb": before, "peak_rss_kb": peak}
        if trace_memory:
            metrics["heap_peak_kb"] = tracemalloc.get_traced_memory()[1] // 1024
    finally:
        if trace_memory:
            tracemalloc.stop()
    return value, metrics


# -- the report ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One contender on one case: its runs, their median, and the ratio to the case's reference."""

    case: str  # "large, 4 regions"
    contender: str  # "app", "naive sequential"
    runs: list[float] = field(default_factory=list)  # seconds
    metrics: dict[str, Any] = field(default_factory=dict)  # extra columns, e.g. requests, peak memory
    ratio: float | None = None
    ratio_label: str = ""  # what the ratio is relative to
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


@dataclass
class Target:
    text: str  # "4 regions < 1.5 x 1 region (workshop)"
    measured: str  # "1.12x"
    met: bool | None  # None: not measured
    why: str = ""


@dataclass
class Report:
    name: str
    title: str
    compared: str  # what against what, under which latency model
    sizes: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # metric key -> column title, in order
    measured_at: str = ""
    seconds: float = 0.0  # wall time of the whole benchmark, seeding included

    def row(self, case: str, contender: str) -> Row | None:
        return next((r for r in self.rows if r.case == case and r.contender == contender), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row, raw in zip(self.rows, data["rows"], strict=True):
            raw["median"] = row.median
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        fields = {k: v for k, v in data.items() if k not in ("rows", "targets")}
        rows = [Row(**{k: v for k, v in r.items() if k != "median"}) for r in data.get("rows", [])]
        targets = [Target(**t) for t in data.get("targets", [])]
        return cls(**fields, rows=rows, targets=targets)


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference <= 0:
        return None
    return value / reference


def ratio_target(
    text: str,
    value: float | None,
    *,
    below: float | None = None,
    at_most: float | None = None,
    at_least: float | None = None,
    why_missed: str = "",
    digits: int = 2,
) -> Target:
    """A target on a ratio, met where `value` is below / at most / at least the bounds given; measured as "1.23x"
    (`digits` decimals), or "-" and not measured where value is None. `why_missed` is kept only where it is missed."""
    if value is None:
        return Target(text, "-", None)
    met = (
        (below is None or value < below)
        and (at_most is None or value <= at_most)
        and (at_least is None or value >= at_least)
    )
    return Target(text, f"{value:.{digits}f}x", met, "" if met else why_missed)


def seconds_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def runs_text(runs: Sequence[float], most: int = 10) -> str:
    """A row's runs for people: every value, or for many (e.g. one per request) their count and range."""
    if not runs:
        return "skipped"
    if len(runs) > most:
        return f"{len(runs)} values, {seconds_text(min(runs))} to {seconds_text(max(runs))}"
    return ", ".join(seconds_text(r) for r in runs)


def markdown(report: Report) -> str:
    lines = [f"### {report.title}", "", f"{report.compared}", "", f"Sizes: {report.sizes}", ""]
    head = ["case", "contender", "runs", "median s", "ratio", *report.columns.values(), "note"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in report.rows:
        runs = runs_text(row.runs)
        ratio_text = f"{row.ratio:.2f}x {row.ratio_label}".strip() if row.ratio is not None else "-"
        cells = [row.case, row.contender, runs, seconds_text(row.median), ratio_text]
        cells += [_cell(row.metrics.get(key)) for key in report.columns]
        cells.append(_cell(row.note or ""))
        lines.append("| " + " | ".join(cells) + " |")
    if report.targets:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for target in report.targets:
            met = {True: "yes", False: "**no**", None: "not measured"}[target.met]
            why = f" ({target.why})" if target.why else ""
            lines.append(f"| {target.text} | {target.measured} | {met}{why} |")
    if report.notes:
        lines.append("")
        lines += [f"- {note}" for note in report.notes]
    lines += ["", f"_Measured {report.measured_at}; the benchmark took {report.seconds:.0f} s._", ""]
    return "\n".join(lines)


def text_table(report: Report) -> str:
    """The report for a terminal: the same facts as the Markdown, aligned."""
    out = [f"== {report.title}", f"   compared: {report.compared}", f"   sizes: {report.sizes}"]
    for row in report.rows:
        runs = runs_text(row.runs)
        ratio_text = f"  ratio {row.ratio:.2f}x {row.ratio_label}" if row.ratio is not None else ""
        extra = "  ".join(f"{title}={_cell(row.metrics.get(k))}" for k, title in report.columns.items())
        out.append(f"   {row.case:<24} {row.contender:<34} median {seconds_text(row.median):>7} s{ratio_text}")
        out.append(f"   {'':<24} runs: {runs}  {extra}  {row.note}".rstrip())
    for target in report.targets:
        met = {True: "MET", False: "MISSED", None: "NOT MEASURED"}[target.met]
        out.append(f"   target: {target.text}: {target.measured} -> {met} {target.why}".rstrip())
    out += [f"   note: {note}" for note in report.notes]
    return "\n".join(out)


def progress(message: str) -> None:
    print(f"   .. {message}", flush=True)


def run_repeated(
    label: str, runs: int, once: Callable[[], dict[str, Any]], keep: Sequence[str] = ()
) -> tuple[list[float], list[dict[str, Any]]]:
    """`runs` results of once() (a bounded loop); prints each run's time."""
    seconds: list[float] = []
    results: list[dict[str, Any]] = []
    for number in range(1, runs + 1):
        result = once()
        seconds.append(float(result["seconds"]))
        results.append(result)
        shown = " ".join(f"{k}={result[k]}" for k in keep if k in result)
        progress(f"{label} run {number}/{runs}: {result['seconds']:.2f} s {shown}".rstrip())
    return seconds, results
