"""A throwaway PostgreSQL 15 with pg_cron loaded, from Debian's packages, for tests.

    with PgCronServer("badges_cron") as server:
        url = server.url()             # the superuser `postgres` on the database pg_cron serves

What a Supabase project runs the scheduled jobs on, as close as a Debian machine gets: Debian's
PostgreSQL 15 (/usr/lib/postgresql/15) with its `postgresql-15-cron` (pg_cron 1.4 on bookworm,
whose cron.schedule and cron.unschedule take the job name as `name`; pg_cron 1.5 made it
`text`), the launcher preloaded and serving one database (cron.database_name).

- `find_installation()`: the PostgreSQL 15 binaries and pg_cron's library and extension files, or
  None; `ensure_installation()` installs `postgresql-15-cron` (which pulls in postgresql-15) when
  something is missing and running as root (`apt-get update`, `apt-get install -y`, quietly,
  waiting for the package lock, with a time limit), stops the cluster the package may have
  created and started, else raises `Unavailable` with the reason.
- `PgCronServer`: `initdb` into a temporary folder (tempfile's default folder), then the server
  on a Unix socket in that folder (no TCP port, nothing to collide with), as an unprivileged user
  when running as root (PostgreSQL refuses root): Debian's `postgres` account, else `nobody`. It
  dies with the process that started it (parent-death signal: fast shutdown), so no server
  outlives a killed test run; `stop()` stops it and removes the folder, `restart()` stops and
  starts it on the same data (pg_cron runs its `@reboot` jobs then).

Imported by tests/sql/test_pg_cron.py; it needs only the standard library and psycopg.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from tests import system

MAJOR = 15
PACKAGE = f"postgresql-{MAJOR}-cron"
BINDIR = Path(f"/usr/lib/postgresql/{MAJOR}/bin")
LIBRARY = Path(f"/usr/lib/postgresql/{MAJOR}/lib/pg_cron.so")
EXTENSION_DIR = Path(f"/usr/share/postgresql/{MAJOR}/extension")
# The package may pull in PostgreSQL itself (and its dependencies) on a clean machine.
INSTALL_TIMEOUT = 600.0
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file: the server listens on no TCP port
# Linux's limit on a Unix socket's path (sun_path, less the terminating NUL).
SOCKET_PATH_MAX = 107


class Unavailable(RuntimeError):
    """PostgreSQL 15 with pg_cron cannot be found, installed or started; the message says why."""


@dataclass(frozen=True)
class Installation:
    bindir: Path
    library: Path
    control: Path

    @property
    def pg_cron_version(self) -> str:
        """The extension's default_version, from its control file."""
        found = re.search(r"default_version\s*=\s*'([^']*)'", self.control.read_text())
        return found.group(1) if found else "unknown"


def find_installation() -> Installation | None:
    control = EXTENSION_DIR / "pg_cron.control"
    binaries = [BINDIR / "initdb", BINDIR / "postgres"]
    if all(os.access(b, os.X_OK) for b in binaries) and LIBRARY.is_file() and control.is_file():
        return Installation(BINDIR, LIBRARY, control)
    return None


def _missing() -> str:
    checked = [BINDIR / "initdb", BINDIR / "postgres", LIBRARY, EXTENSION_DIR / "pg_cron.control"]
    return ", ".join(str(p) for p in checked if not p.exists())


def ensure_installation(timeout: float = INSTALL_TIMEOUT) -> Installation:
    """PostgreSQL 15 and pg_cron, installed from Debian's `postgresql-15-cron` when missing and
    running as root."""
    found = find_installation()
    if found:
        return found
    had_server = os.access(BINDIR / "postgres", os.X_OK)
    try:
        system.apt_install(
            PACKAGE, missing=f"PostgreSQL {MAJOR} with pg_cron ({_missing()})",
            timeout=timeout, recommends=False,
        )  # fmt: skip
    except system.InstallFailed as exc:
        raise Unavailable(str(exc)) from None
    if not had_server:
        _stop_packaged_cluster()
    found = find_installation()
    if found is None:
        raise Unavailable(f"apt-get installed {PACKAGE}, but these are missing: {_missing()}")
    return found


def _stop_packaged_cluster() -> None:
    """Where the package pulled in PostgreSQL itself, Debian creates the cluster 15/main and
    starts it (where systemd runs; in a container, policy-rc.d usually denies it): stop it and
    keep it from starting at boot, we only run our own. Not done where PostgreSQL 15 was there
    before: its clusters are somebody's."""
    systemctl = shutil.which("systemctl")
    if systemctl and Path("/run/systemd/system").is_dir():
        subprocess.run(  # noqa: S603 - a fixed command
            [systemctl, "disable", "--now", "postgresql.service", f"postgresql@{MAJOR}-main"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    pg_ctlcluster = shutil.which("pg_ctlcluster")
    if pg_ctlcluster and Path(f"/etc/postgresql/{MAJOR}/main").is_dir():
        # Stops it when running (an init script, no systemd); exits 2 when it is not.
        subprocess.run(  # noqa: S603 - a fixed command
            [pg_ctlcluster, str(MAJOR), "main", "stop", "--mode", "fast"],
            capture_output=True,
            timeout=60,
            check=False,
        )


class PgCronServer:
    """One PostgreSQL 15 with pg_cron preloaded, serving cron jobs in the database `dbname`
    (created by the caller: `create database`, then `create extension pg_cron` in it)."""

    def __init__(
        self,
        dbname: str = "badges_cron",
        *,
        installation: Installation | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.dbname = dbname
        self.installation = installation
        self.settings = dict(settings or {})
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # --- what clients use

    @property
    def socket_dir(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the server is not started")
        return self.folder

    def url(self, dbname: str | None = None) -> str:
        """The superuser `postgres` on `dbname` (default: the database pg_cron serves)."""
        return make_conninfo(
            "", host=str(self.socket_dir), port=PORT, user=SUPERUSER, dbname=dbname or self.dbname
        )

    @property
    def log(self) -> str:
        path = self.folder / "postgres.log" if self.folder else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    # --- lifetime

    def start(self, timeout: float = 60.0) -> PgCronServer:
        installation = self.installation or ensure_installation()
        self.installation = installation
        try:
            if self.folder is None:
                self._initdb(installation)
            self._spawn(installation)
            self._wait_serving(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, timeout: float = 60.0) -> PgCronServer:
        """Stop the server and start it again on the same data."""
        self._stop_server()
        assert self.installation is not None
        try:
            self._spawn(self.installation)
            self._wait_serving(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: its sessions are ended) and remove its folder.
        Idempotent."""
        self._stop_server()
        folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        atexit.unregister(self.stop)

    def __enter__(self) -> PgCronServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- internals

    def _stop_server(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 30), (signal.SIGQUIT, 10), (signal.SIGKILL, 10)):
            process.send_signal(sig)
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    @staticmethod
    def _run_as() -> pwd.struct_passwd | None:
        """Who runs PostgreSQL: this user, unless root (PostgreSQL refuses root). Then Debian's
        `postgres` account (the package creates it), else `nobody`."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise Unavailable("running as root, and there is neither a `postgres` nor a `nobody` user")

    def _as_user(self) -> dict[str, Any]:
        runner = self._run_as()
        if runner is None:
            return {}
        return {"user": runner.pw_uid, "group": runner.pw_gid, "extra_groups": []}

    def _environment(self) -> dict[str, str]:
        assert self.folder is not None
        keep = ("PATH", "LANG", "LC_ALL", "TZ")
        env = {k: v for k, v in os.environ.items() if k in keep}
        # libpq (pg_cron's job connections) looks for ~/.pgpass: a home the server can read.
        env["HOME"] = str(self.folder)
        return env

    def _initdb(self, installation: Installation) -> None:
        folder = Path(tempfile.mkdtemp(prefix="badges-pgcron-"))
        self.folder = folder
        atexit.register(self.stop)
        socket = folder / f".s.PGSQL.{PORT}"
        if len(str(socket)) > SOCKET_PATH_MAX:
            raise Unavailable(f"the socket path would be too long for Linux: {socket}")
        runner = self._run_as()
        if runner is not None:  # it must own its data folder, and create its socket here
            os.chown(folder, runner.pw_uid, runner.pw_gid)
        folder.chmod(0o700)
        done = subprocess.run(  # noqa: S603 - our binary, our folder
            [
                str(installation.bindir / "initdb"),
                "--pgdata",
                str(folder / "data"),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=folder,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as_user(),
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-1500:]
            raise Unavailable(f"initdb failed ({done.returncode}): {output}")

    def _spawn(self, installation: Installation) -> None:
        folder = self.socket_dir
        settings = {
            "listen_addresses": "",
            "port": str(PORT),
            "unix_socket_directories": str(folder),
            "shared_preload_libraries": "pg_cron",
            "cron.database_name": self.dbname,
            # pg_cron runs a job over libpq to cron.host: the socket folder (no TCP port here).
            "cron.host": str(folder),
            # A throwaway server: durability buys nothing.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "40",
            "shared_buffers": "32MB",
            **self.settings,
        }
        arguments = [f"--{name}={value}" for name, value in settings.items()]
        log = folder / "postgres.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our binary, our data folder
                [str(installation.bindir / "postgres"), "-D", str(folder / "data"), *arguments],
                cwd=folder,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=system.die_with_parent(signal.SIGINT),  # fast shutdown
                **self._as_user(),
            )

    def _wait_serving(self, timeout: float) -> None:
        """Until the server answers a query on its socket."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise Unavailable(f"postgres exited ({self.process.returncode}): {self.log}")
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=2) as c:
                    c.execute("select 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise Unavailable(f"postgres did not serve within {timeout:.0f} s: {last}\n{self.log}")
