"""PgBouncer in transaction mode in front of a PostgreSQL server, for tests and benchmarks.

    with PgBouncer(server_url, default_pool_size=8) as bouncer:
        url = bouncer.url(dbname)      # what DATABASE_URL is set to, to go through the pooler

What Supabase's pooler does on port 6543, with Debian's `pgbouncer`: each transaction gets any
server connection of the pool, so nothing may outlive a transaction (no prepared statements, no
session settings). The server behind it is usually the embedded one (pgserver): the pooler
connects to it as the server URL's user, over the URL's Unix socket or host and port.

- `find_binary()`: `pgbouncer` on PATH or /usr/sbin/pgbouncer; `ensure_binary()` installs the
  Debian package when missing and running as root (`apt-get update`, `apt-get install -y
  pgbouncer`, quietly, with a timeout), else raises `Unavailable` with the reason.
- `PgBouncer`: writes its configuration into a temporary folder, starts it on a free port of
  127.0.0.1 (as an unprivileged user when running as root: PgBouncer refuses root), waits until
  it serves a query, and on `stop()` stops it and removes the folder. It also dies with the
  process that started it (parent-death signal), so no pooler outlives a killed test run.

Imported by tests/endpoint/test_pooler.py and by bench/pooler.py (which puts the project folder
on sys.path); it needs only the standard library and psycopg.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests import system

SBIN = Path("/usr/sbin/pgbouncer")
INSTALL_TIMEOUT = 300.0
# Startup parameters a client may send that PgBouncer would otherwise refuse the connection for:
# psycopg sends none of them by itself, but `options` (`-c name=value`) is what tools pass a
# setting with (the function does not: see badges.store.postgres), and JDBC-style clients send
# extra_float_digits. Ignored means dropped: the server never sees them.
IGNORED_STARTUP_PARAMETERS = ("extra_float_digits", "options")


class Unavailable(RuntimeError):
    """PgBouncer cannot be found, installed or started; the message says why."""


def find_binary() -> Path | None:
    found = shutil.which("pgbouncer")
    if found:
        return Path(found)
    return SBIN if os.access(SBIN, os.X_OK) else None


def ensure_binary(timeout: float = INSTALL_TIMEOUT) -> Path:
    """The pgbouncer binary, installed from the Debian package when missing and running as root."""
    found = find_binary()
    if found:
        return found
    try:
        system.apt_install(
            "pgbouncer", missing="pgbouncer (not on PATH, not /usr/sbin/pgbouncer)",
            timeout=timeout,
        )  # fmt: skip
    except system.InstallFailed as exc:
        raise Unavailable(str(exc)) from None
    _stop_packaged_service()
    found = find_binary()
    if found is None:
        raise Unavailable("apt-get installed pgbouncer, but no pgbouncer binary was found")
    return found


def _stop_packaged_service() -> None:
    """Debian's package starts a system-wide pgbouncer where systemd runs (in a container,
    policy-rc.d usually denies it): stop and disable it, we only run our own."""
    systemctl = shutil.which("systemctl")
    if systemctl and Path("/run/systemd/system").is_dir():
        subprocess.run(  # noqa: S603 - a fixed command
            [systemctl, "disable", "--now", "pgbouncer.service"],
            capture_output=True,
            timeout=60,
            check=False,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgBouncer:
    """One PgBouncer in front of the server at `server_url`, any database name of that server
    reachable through it as `url(dbname)`."""

    def __init__(
        self,
        server_url: str,
        *,
        pool_mode: str = "transaction",
        default_pool_size: int = 8,
        max_client_conn: int = 100,
        query_wait_timeout: float = 5.0,
        ignore_startup_parameters: tuple[str, ...] = IGNORED_STARTUP_PARAMETERS,
        binary: Path | None = None,
    ) -> None:
        server = conninfo_to_dict(server_url)
        self.user = str(server.get("user") or pwd.getpwuid(os.getuid()).pw_name)
        self.password = str(server.get("password") or "")
        self.dbname = str(server.get("dbname") or self.user)
        self.server_host = str(server.get("host") or "/var/run/postgresql")
        self.server_port = int(server.get("port") or 5432)
        self.pool_mode = pool_mode
        self.default_pool_size = default_pool_size
        self.max_client_conn = max_client_conn
        self.query_wait_timeout = query_wait_timeout
        self.ignore_startup_parameters = ignore_startup_parameters
        self.binary = binary
        self.port = 0
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # --- what clients use

    def url(self, dbname: str | None = None) -> str:
        """A connection string through the pooler to `dbname` (default: the server URL's)."""
        return make_conninfo(
            "",
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
        )

    def settings(self) -> dict[str, Any]:
        """The pool sizes and mode, as benchmarks report them."""
        return {
            "pool_mode": self.pool_mode,
            "default_pool_size": self.default_pool_size,
            "max_client_conn": self.max_client_conn,
            "query_wait_timeout": self.query_wait_timeout,
        }

    def show(self, what: str) -> list[dict[str, Any]]:
        """`SHOW <what>` on PgBouncer's admin console (POOLS, STATS, CONFIG, …) as dicts."""
        if not what.isalpha():
            raise ValueError(f"not a SHOW command: {what!r}")
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as conn:
            cursor = psycopg.ClientCursor(conn)  # the console speaks the simple protocol only
            cursor.execute(f"SHOW {what}")
            names = [c.name for c in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def watch(self, dbname: str | None = None, every: float = 0.1) -> PoolWatch:
        """A sampler of SHOW POOLS for `dbname` while its `with` block runs."""
        return PoolWatch(self, dbname or self.dbname, every)

    @property
    def log(self) -> str:
        path = self.folder / "pgbouncer.log" if self.folder else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    # --- lifetime

    def start(self, timeout: float = 30.0) -> PgBouncer:
        binary = self.binary or ensure_binary()
        for attempt in range(3):  # a free port can be taken between choosing and binding it
            self._write_config()
            self._spawn(binary)
            try:
                self._wait_serving(timeout)
                return self
            except Unavailable:
                log = self.log
                self.stop()
                if "Address already in use" not in log or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the pooler (its clients are disconnected) and remove its folder. Idempotent."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # PgBouncer: immediate shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        atexit.unregister(self.stop)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- internals

    def _run_as(self) -> pwd.struct_passwd | None:
        """Who runs PgBouncer: this user, unless root (PgBouncer refuses root). Then the owner of
        the server's socket folder (pgserver's own `pgserver` user: only it may enter the data
        folder where the socket lives), else `nobody`."""
        if os.geteuid() != 0:
            return None
        if self.server_host.startswith("/"):
            with contextlib.suppress(OSError, KeyError):
                owner = pwd.getpwuid(Path(self.server_host).stat().st_uid)
                if owner.pw_uid != 0:
                    return owner
        return pwd.getpwnam("nobody")

    def _write_config(self) -> None:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="badges-pgbouncer-"))
            atexit.register(self.stop)
        self.port = free_port()
        folder = self.folder
        quoted = [f'"{v.replace(chr(34), chr(34) * 2)}"' for v in (self.user, self.password)]
        (folder / "userlist.txt").write_text(" ".join(quoted) + "\n")
        (folder / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    # Any database name: the server's database of that name.
                    f"* = host={self.server_host} port={self.server_port}",
                    "",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    # The embedded server trusts its local connections; so does its pooler on
                    # loopback. The auth file names the user (trust requires it) and holds the
                    # password the pooler logs into the server with (empty for pgserver).
                    "auth_type = trust",
                    f"auth_file = {folder / 'userlist.txt'}",
                    f"admin_users = {self.user}",
                    f"pool_mode = {self.pool_mode}",
                    f"default_pool_size = {self.default_pool_size}",
                    "min_pool_size = 0",
                    "reserve_pool_size = 0",
                    f"max_client_conn = {self.max_client_conn}",
                    # Nothing of a session survives a transaction in transaction mode: no reset.
                    "server_reset_query =",
                    f"ignore_startup_parameters = {', '.join(self.ignore_startup_parameters)}",
                    # A client waiting for a server connection gets an error (503) after this
                    # long, as it would waiting for a pooled connection of its own.
                    f"query_wait_timeout = {max(1, round(self.query_wait_timeout))}",
                    # A server that refused a login (restarting) is tried again after 1 s.
                    "server_login_retry = 1",
                    "log_connections = 0",
                    "log_disconnections = 0",
                    f"logfile = {folder / 'pgbouncer.log'}",
                    f"pidfile = {folder / 'pgbouncer.pid'}",
                    "",
                ]
            )
        )
        runner = self._run_as()
        if runner is not None:  # it must read its files and write its log and pid file
            for path in (folder, *folder.iterdir()):
                os.chown(path, runner.pw_uid, runner.pw_gid)
            folder.chmod(0o700)

    def _spawn(self, binary: Path) -> None:
        assert self.folder is not None
        runner = self._run_as()
        as_user: dict[str, Any] = {}
        if runner is not None:
            as_user = {"user": runner.pw_uid, "group": runner.pw_gid, "extra_groups": []}
        with (self.folder / "stdout.log").open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our binary, our config file
                [str(binary), str(self.folder / "pgbouncer.ini")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=system.die_with_parent(signal.SIGTERM),
                **as_user,
            )

    def _wait_serving(self, timeout: float) -> None:
        """Until a query goes through the pooler to the server."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise Unavailable(f"pgbouncer exited ({self.process.returncode}): {self.log}")
            try:
                with psycopg.connect(self.url(), autocommit=True, connect_timeout=2) as conn:
                    conn.execute("select 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise Unavailable(f"pgbouncer did not serve within {timeout:.0f} s: {last}\n{self.log}")


@dataclass
class PoolWatch:
    """What PgBouncer's SHOW POOLS said about one database, sampled while the `with` block ran:
    the most server connections it held at once (never above default_pool_size), the most
    client connections it served, how many of them waited for a server connection at once, and
    the longest such wait."""

    bouncer: PgBouncer
    dbname: str
    every: float = 0.1
    servers_max: int = 0
    clients_max: int = 0
    waiting_max: int = 0
    wait_max_ms: float = 0.0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def figures(self) -> dict[str, Any]:
        return {
            "server_connections_max": self.servers_max,
            "pooler_clients_max": self.clients_max,
            "pooler_waiting_max": self.waiting_max,
            "pooler_wait_max_ms": round(self.wait_max_ms, 1),
        }

    def _run(self) -> None:
        with psycopg.connect(self.bouncer.url("pgbouncer"), autocommit=True) as conn:
            cursor = psycopg.ClientCursor(conn)
            while True:
                cursor.execute("SHOW POOLS")
                names = [c.name for c in cursor.description or ()]
                for row in cursor.fetchall():
                    pool = dict(zip(names, row, strict=True))
                    if pool["database"] == self.dbname:
                        self._add(pool)
                self.samples += 1
                if self._stop.wait(self.every):
                    return

    def _add(self, pool: dict[str, Any]) -> None:
        servers = sum(
            int(pool.get(k) or 0)
            for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
        )
        waiting = int(pool.get("cl_waiting") or 0)
        self.servers_max = max(self.servers_max, servers)
        self.clients_max = max(self.clients_max, int(pool.get("cl_active") or 0) + waiting)
        self.waiting_max = max(self.waiting_max, waiting)
        wait_ms = int(pool.get("maxwait") or 0) * 1e3 + int(pool.get("maxwait_us") or 0) / 1e3
        self.wait_max_ms = max(self.wait_max_ms, wait_ms)

    def __enter__(self) -> PoolWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
