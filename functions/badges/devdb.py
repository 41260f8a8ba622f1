"""The embedded PostgreSQL (PyPI `pgserver`) behind `make run` and `make test`.

Its data lives in a project-local, git-ignored folder and survives restarts; the server stops
when the process that started it exits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_DIR / ".data" / "postgres"


def data_dir() -> Path:
    return Path(os.environ.get("BADGES_DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def start(directory: Path | None = None, *, cleanup: str | None = "stop") -> Any:
    """Start (or attach to) the embedded server on `directory`; returns the pgserver handle.

    cleanup: "stop" stops it when this process exits, "delete" also removes the data,
    None leaves it running.
    """
    # A dev dependency: deployed functions never import this module.
    from pgserver.postgres_server import get_server

    directory = directory or data_dir()
    directory.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_postmaster(directory)
    return get_server(directory, cleanup_mode=cleanup)


def _forget_dead_postmaster(directory: Path) -> None:
    """After a kill -9 the postmaster.pid file (and the socket's lock file) stay behind, naming
    a process that is gone or a zombie nobody reaped (a container's PID 1 may not reap): pgserver
    would take it for a running server, PostgreSQL for a live one, and neither would start.
    PostgreSQL itself recovers from its write-ahead log once started."""
    import psutil

    pid_file = directory / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    if not alive:
        for stale in (pid_file, *directory.glob(".s.PGSQL.*.lock")):
            stale.unlink(missing_ok=True)
