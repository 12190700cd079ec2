"""A real PostgreSQL server on loopback, started by the test run itself (and by `bench/state.py`).

`initdb` makes a cluster in a fresh temporary folder, `pg_ctl` starts it on a free loopback port with its unix
socket in that folder, and the server is stopped and the folder removed at the end. The binaries are Debian's
(`/usr/lib/postgresql/<version>/bin`), or `PG_BINDIR`, or whatever `pg_ctl` is on PATH; when none is found and
this runs as root with apt-get (a fresh CI machine), Debian's `postgresql` package is installed first.

PostgreSQL refuses to run as root: as root, the server runs as an unprivileged user (`pgtest`, created when
missing) that owns the folder. The superuser has a random password (scram-sha-256 over TCP), so that the URLs
the tests hand to the app carry a secret that must never be logged.

    python -m tests.postgres            # start one and print its URL until Ctrl-C (for poking at it with psql)
    python -m tests.postgres --ensure   # only find, or install, the binaries (`make test` does, before pytest)
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SERVER_USER = "pgtest"
START_TIMEOUT = 60.0  # seconds for the server to accept connections
INSTALL_TIMEOUT = 900.0


class PostgresUnavailable(RuntimeError):
    """The server cannot be found, installed or started; the message says why and what to do."""


def find_bindir() -> Path | None:
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += versions
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def ensure_bindir() -> Path:
    """The PostgreSQL server binaries, installing Debian's `postgresql` package when they are missing."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/*/bin, PG_BINDIR"
            " or PATH, and they cannot be installed here (needs root and apt-get): install the `postgresql` package"
        )
    print("\nPostgreSQL server binaries missing: apt-get install -y postgresql", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("the postgresql package was installed but no initdb/pg_ctl/postgres was found")
    return bindir


def server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (this user) unless we are root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pass
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(f"cannot create the user {SERVER_USER!r} to run PostgreSQL: {made.stderr}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One cluster in a temporary folder. `durable=False` (tests) turns fsync off; the benchmark keeps it on."""

    durable: bool = False
    max_connections: int = 300
    bindir: Path = field(default_factory=ensure_bindir)
    password: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    port: int = 0
    root: Path | None = None
    superuser: str = "postgres"

    # -- life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        user = server_user()
        self.root = Path(tempfile.mkdtemp(prefix="dogcat-pg-"))
        for sub in ("data", "sock"):
            (self.root / sub).mkdir()
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if user is not None:
            for path in (self.root, self.root / "data", self.root / "sock", pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.root / "data"),
                "--username",
                self.superuser,
                "--pwfile",
                str(pwfile),
                "--auth-local",
                "trust",
                "--auth-host",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            user,
            timeout=120,
        )
        pwfile.unlink()
        last_error = ""
        for _attempt in range(3):  # a free port can be taken by someone else before the server binds it
            self.port = free_port()
            options = [
                f"-c port={self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root / 'sock'}",
                f"-c max_connections={self.max_connections}",
                "-c shared_buffers=32MB",
            ]
            if not self.durable:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            done = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "--pgdata",
                    str(self.root / "data"),
                    "--log",
                    str(self.root / "server.log"),
                    "--wait",
                    f"--timeout={int(START_TIMEOUT)}",
                    "-o",
                    " ".join(options),
                    "start",
                ],
                user,
                timeout=START_TIMEOUT + 10,
                check=False,
            )
            if done.returncode == 0 and self._wait_ready(START_TIMEOUT):
                return self
            last_error = f"pg_ctl start: {done.returncode}\n{done.stdout}{done.stderr}\n{self.log()}"
            self._pg_ctl_stop(user)
        self.cleanup()
        raise PostgresUnavailable(f"PostgreSQL did not start on 127.0.0.1:\n{last_error}")

    def stop(self) -> None:
        if self.root is None:
            return
        self._pg_ctl_stop(server_user())
        self.cleanup()

    def cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def log(self) -> str:
        path = self.root / "server.log" if self.root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    # -- databases -----------------------------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            quick = " STRATEGY = FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}"{quick}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # even with a killed app's sessions

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        name = f"t_{uuid.uuid4().hex[:12]}"
        url = self.create_database(name)
        try:
            yield url
        finally:
            self.drop_database(name)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _wait_ready(self, timeout: float) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url(), connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def _pg_ctl_stop(self, user: pwd.struct_passwd | None) -> None:
        if self.root is None or not (self.root / "data" / "postmaster.pid").exists():
            return
        self._run(
            [str(self.bindir / "pg_ctl"), "--pgdata", str(self.root / "data"), "--mode", "fast", "--wait", "stop"],
            user,
            timeout=60,
            check=False,
        )

    def _run(
        self, argv: list[str], user: pwd.struct_passwd | None, timeout: float, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.root)}
        as_user = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        done: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
            argv,
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,  # Ctrl-C in pytest's terminal does not reach the server: stop() ends it
            **as_user,
        )
        if check and done.returncode != 0:
            raise PostgresUnavailable(f"{Path(argv[0]).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done


if __name__ == "__main__":
    if sys.argv[1:] == ["--ensure"]:  # make test: find or install the binaries before pytest's per-test timeout
        print(f"PostgreSQL server binaries: {ensure_bindir()}")
        sys.exit(0)
    with PostgresServer() as server:
        print(server.url(server.create_database("dogcat")), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
