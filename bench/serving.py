"""`badges serve` as the HTTP benchmarks run it: its own embedded database in a temporary folder,
the client rate limit off, a chosen WORKERS x THREADS; stopped with Ctrl-C (SIGINT), which stops
the server and then its database, and the folder removed.

Shared by bench/http_award.py and bench/coldstart.py (run as scripts: bench/ is on sys.path).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from badges.settings import DEV_JWT_SECRET

PATH = "/functions/v1/badges"
# What would make the server under test something else than the one `badges serve` starts here.
FOREIGN = ("DATABASE_URL", "BADGES_STORE", "SUPABASE_URL", "SUPABASE_JWT_ISSUER", "BADGES_CATALOG")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def badges_command() -> list[str]:
    """The `badges` console script next to this interpreter (the venv's), else the module."""
    script = Path(sys.executable).with_name("badges")
    return [str(script)] if script.exists() else [sys.executable, "-m", "badges.cli"]


def server_env(
    port: int,
    folder: Path,
    workers: int | None = None,
    threads: int | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(
        PORT=str(port),
        BADGES_HOST="127.0.0.1",
        BADGES_DATA_DIR=str(folder / "pg"),
        BADGES_RATE_LIMIT_PER_MINUTE="0",  # the figure is the function's, not the limiter's
        SUPABASE_JWT_SECRET=DEV_JWT_SECRET,
    )
    # None: whatever `badges serve` chooses when the variable is unset.
    for name, value in (("WORKERS", workers), ("THREADS", threads)):
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    env.update(extra or {})
    return env


def start(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*badges_command(), "serve"], env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )


def answers(port: int, method: str = "GET", path: str = "/health", timeout: float = 2) -> int:
    """The status of one request, 0 when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if answers(port) == 200:
            return
        time.sleep(0.2)
    raise RuntimeError("server did not start: " + log.read_text(errors="replace")[-3000:])


def serve(
    port: int,
    folder: Path,
    workers: int | None = None,
    threads: int | None = None,
    extra: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`badges serve` on `folder`'s embedded database, answering /health."""
    log = folder / "serve.log"
    proc = start(server_env(port, folder, workers, threads, extra), log)
    try:
        wait_healthy(proc, port, log)
    except BaseException:
        stop(proc)
        raise
    return proc


def running_postmaster(folder: Path) -> Any | None:
    """The embedded database of `folder` (pgserver's PostmasterInfo, read from its
    postmaster.pid: no new handle) when it is running, else None."""
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(folder / "pg")
    return info if info is not None and info.is_running() else None


def database_url(folder: Path) -> str | None:
    """The embedded database of a started server."""
    info = running_postmaster(folder)
    return None if info is None else str(info.get_uri())


def postmaster_pid(folder: Path) -> int:
    """The pid of a started server's embedded database."""
    info = running_postmaster(folder)
    if info is None:
        raise RuntimeError("the embedded database is not running")
    return int(info.process.pid)


def workers_of(proc: subprocess.Popen[bytes]) -> list[int]:
    """The pids of the gunicorn workers: the server's children that are not PostgreSQL's."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children()
    except psutil.NoSuchProcess:
        return []
    return [c.pid for c in children if "postgres" not in c.name() and "pg_ctl" not in c.name()]


def stop(proc: subprocess.Popen[bytes], folder: Path | None = None) -> None:
    """Ctrl-C the server (it stops its database on exit); with `folder`, stop_database too."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if folder is not None:
        stop_database(folder)


def stop_database(folder: Path) -> None:
    """Make sure the embedded database of `folder` is down (the server stops it when it exits
    cleanly), then remove the folder."""
    info = running_postmaster(folder)
    if info is not None and info.process.name() == "postgres":
        info.process.terminate()  # the server died before stopping its database
        info.process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)
