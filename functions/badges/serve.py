"""How `badges serve` serves the function: functions-framework's gunicorn with the workers,
threads and keep-alive chosen for a development machine, a port checked before anything starts,
and workers that stop cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from badges.settings import SettingsError

log = logging.getLogger("badges")

MAIN = Path(__file__).resolve().parents[1] / "main.py"
# What `badges serve` runs when WORKERS / THREADS are unset (README, Workers and threads): one
# gunicorn worker, since the embedded PostgreSQL needs the other core of a 2-core machine (an
# award costs it about as much CPU as the worker), with 8 threads to keep 8 requests in flight.
SERVE_WORKERS = 1
SERVE_THREADS = 8
# Seconds an idle keep-alive connection stays open. gunicorn's default, 2 s, is shorter than the
# idle timeout of Node's fetch (undici: 4 s), so a supabase-js call made 2 to 4 s after the
# previous one could go out on a connection the server was closing ("other side closed").
SERVE_KEEPALIVE = 75
SERVE_HOST = "127.0.0.1"
SERVE_PORT = 8080


def run_server(host: str, port: int, workers: int, threads: int) -> None:
    """functions-framework's gunicorn server, until Ctrl-C."""
    import functions_framework
    from functions_framework._http import create_server

    app = functions_framework.create_app(target="badges", source=str(MAIN))
    log.info(
        "serving the badges function on http://%s:%s (%d worker%s x %d threads)",
        host,
        port,
        workers,
        "" if workers == 1 else "s",
        threads,
    )
    create_server(
        app, debug=False, post_worker_init=quit_on_sigquit_only, keepalive=SERVE_KEEPALIVE
    ).run(host, port)


def serve_port(env: Mapping[str, str] | None = None) -> int:
    """The port of `badges serve` without --port: PORT, else SERVE_PORT."""
    value = (os.environ if env is None else env).get("PORT", "").strip()
    if not value:
        return SERVE_PORT
    try:
        return port_number(value)
    except argparse.ArgumentTypeError:
        raise SettingsError("invalid configuration: PORT must be a port number (0-65535)") from None


def serve_concurrency(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(workers, threads) of `badges serve`: WORKERS and THREADS when set, else SERVE_WORKERS
    and SERVE_THREADS."""
    env = os.environ if env is None else env

    def count(name: str, default: int) -> int:
        value = env.get(name, "").strip()
        if not value:
            return default
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise SettingsError(f"invalid configuration: {name} must be a whole number >= 1")
        return int(value)

    return count("WORKERS", SERVE_WORKERS), count("THREADS", SERVE_THREADS)


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, in one line that says what to do; None
    when it can. The address is bound as gunicorn binds it (SO_REUSEADDR: a closed connection
    still waiting out TIME_WAIT does not count), then released."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}; set BADGES_HOST or --host"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                other = port + 1 if port < 65535 else port - 1
                return (
                    f"port {port} on {host} is in use (another `make run`?): stop that "
                    f"server, or serve on another port: PORT={other} make run"
                )
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def quit_on_sigquit_only(worker: Any) -> None:
    """gunicorn's post_worker_init hook for `badges serve`: how a worker takes Ctrl-C.

    Ctrl-C sends SIGINT to the whole process group: to the arbiter, which answers by sending its
    workers SIGQUIT, and to each worker. gunicorn's gthread worker handles both with
    handle_quit, which shuts its thread pool down from the signal handler, holding the pool's
    lock; when the second signal lands while the first handler holds it, the handler waits for
    itself, and the worker hangs until the arbiter kills it 30 s later (python/cpython#121649).
    So a worker leaves SIGINT to the arbiter, and quits on SIGQUIT by raising SystemExit, which
    takes no lock (the pool's lock, also held by each submit, is released by the with-blocks
    it unwinds; the interpreter's exit stops the pool's threads).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, _quit)


def _quit(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)  # a second one must not cut the exit short
    sys.exit(0)


def port_number(value: str) -> int:
    """A port given on the command line or in PORT (argparse's type for --port)."""
    if not (value.isascii() and value.isdigit()) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535)")
    return int(value)
