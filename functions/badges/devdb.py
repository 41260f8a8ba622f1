"""The embedded PostgreSQL (PyPI `pgserver`) behind `make run` and `make test`.

Its data lives in a project-local, git-ignored folder and survives restarts; the server stops
when the last process that started or attached to it exits, and a server that a killed process
left running is taken over by the next process that starts it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_DIR / ".data" / "postgres"
# Where pgserver counts the processes holding the server: the last one to exit stops it.
HOLDERS_FILE = ".handle_pids.json"

log = logging.getLogger("badges")


def data_dir() -> Path:
    return Path(os.environ.get("BADGES_DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def start(directory: Path | None = None, *, cleanup: str | None = "stop") -> Any:
    """Start (or attach to) the embedded server on `directory`; returns the pgserver handle.

    cleanup: "stop" stops it when this process exits, "delete" also removes the data,
    None leaves it running.
    """
    postgres_server = _pgserver()
    directory = (directory or data_dir()).resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    with postgres_server.PostgresServer._lock:  # pgserver's own lock over its holders file
        killed = _forget_dead_holders(directory)
        _forget_dead_postmaster(directory)
        if killed and (directory / "postmaster.pid").exists():
            log.info(
                "the embedded PostgreSQL of a killed run (pid %s) is still running: "
                "this run takes it over",
                ", ".join(map(str, killed)),
            )
    return postgres_server.get_server(directory, cleanup_mode=cleanup)


def _pgserver() -> Any:
    # A dev dependency: deployed functions never import this module.
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime folder as it is imported, only to keep its
        # lock file there. Without XDG_RUNTIME_DIR (root shells, CI, containers) platformdirs
        # warns and falls back to a private folder under /tmp, which serves as well: the
        # warning would only be noise on every command.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
        from pgserver import postgres_server

    return postgres_server


def tool(name: str) -> str | None:
    """A PostgreSQL program (pg_dump, pgbench, pg_waldump, ...) of the embedded server's
    installation, the same version as the server; else the one on PATH; None when neither."""
    _pgserver()  # imported quietly first: _commands imports it too
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which(name)


def _forget_dead_holders(directory: Path) -> list[int]:
    """Drop the processes that are gone from pgserver's holders file; returns their pids.

    pgserver stops the server when the last holder exits, and a holder killed with -9 never
    takes itself out: the server would then outlive every later run. Without the dead, the
    next run is the last holder of the server it finds running, and stops it when it exits.
    """
    holders_file = directory / HOLDERS_FILE
    try:
        holders = [int(pid) for pid in json.loads(holders_file.read_text())]
    except (FileNotFoundError, ValueError, TypeError):
        return []
    dead = [pid for pid in holders if not _alive(pid)]
    if dead:
        holders_file.write_text(json.dumps([pid for pid in holders if pid not in dead]))
    return dead


def _forget_dead_postmaster(directory: Path) -> None:
    """After a kill -9 the postmaster.pid file (and the socket's lock file) stay behind, naming
    a process that is gone or a zombie nobody reaped (a container's PID 1 may not reap): pgserver
    would take it for a running server, PostgreSQL for a live one, and neither would start.
    PostgreSQL itself recovers from its write-ahead log once started."""
    pid_file = directory / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    if _alive(pid):
        return
    for stale in (pid_file, *directory.glob(".s.PGSQL.*.lock")):
        stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
