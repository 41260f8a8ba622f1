"""`badges serve` (what `make run` runs) as a user meets it: a real server process on a port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from badges import devtokens
from badges.settings import DEV_JWT_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    port: int, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/" + ("functions/v1/badges" if body else "health")
    data = json.dumps(body).encode() if body else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@contextmanager
def serving(data_dir: Path, **env: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    environ = {
        k: v
        for k, v in os.environ.items()
        # The developer's own choices must not change what these tests serve.
        if k not in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_JWT_SECRET", "BADGES_CATALOG")
    }
    environ.update(PORT=str(port), BADGES_DATA_DIR=str(data_dir), **env)
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "badges.cli", "serve"],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if request(port)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.3)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


def postgres_running(data_dir: Path) -> bool:
    return (data_dir / "postmaster.pid").exists()


def test_serve_keeps_data_across_a_restart_and_ctrl_c_stops_the_database():
    data_dir = Path(tempfile.mkdtemp(prefix="badges-serve-")) / "pg"
    user = uuid.uuid4()
    token = devtokens.user_token(user, DEV_JWT_SECRET)
    award = {"action": "award", "badge_id": "social_sharer"}

    with serving(data_dir) as (port, proc):
        first = request(port, award, token)
        assert postgres_running(data_dir)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    assert not postgres_running(data_dir)

    with serving(data_dir) as (port, _):
        again = request(port, award, token)
        listed = request(port, {"action": "list"}, token)

    assert first[0] == 200
    assert first[1]["awarded"] is True
    assert again[0] == 200
    assert again[1]["awarded"] is False
    assert listed[1]["earned_count"] == 1


def test_serve_uses_database_url_and_the_jwt_secret_it_is_given(database_url: str):
    data_dir = Path(tempfile.mkdtemp(prefix="badges-serve-")) / "pg"
    secret = "a-project-secret-of-at-least-32-characters"
    user = uuid.uuid4()

    with serving(data_dir, DATABASE_URL=database_url, SUPABASE_JWT_SECRET=secret) as (port, _):
        status, body = request(port, {"action": "catalog"}, devtokens.user_token(user, secret))
        dev_status, _ = request(
            port, {"action": "catalog"}, devtokens.user_token(user, DEV_JWT_SECRET)
        )

    assert status == 200
    assert len(body["badges"]) == 6
    assert dev_status == 401  # the development secret is only a default
    assert not (data_dir / "PG_VERSION").exists()  # no embedded database was started


def test_every_committed_award_survives_kill_9_of_the_server_and_its_database():
    """Pinned: no graceful shutdown at all (SIGKILL to `badges serve` and to the postmaster):
    the next start recovers from the write-ahead log with every answered award present."""
    data_dir = Path(tempfile.mkdtemp(prefix="badges-kill-")) / "pg"
    users = [uuid.uuid4() for _ in range(20)]
    award = {"action": "award", "badge_id": "social_sharer"}

    with serving(data_dir) as (port, proc):
        answers = [request(port, award, devtokens.user_token(u, DEV_JWT_SECRET)) for u in users]
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(proc.pid, signal.SIGKILL)
        os.kill(postmaster, signal.SIGKILL)
        proc.wait(timeout=30)

    with serving(data_dir) as (port, _):
        listed = [
            request(port, {"action": "list"}, devtokens.user_token(u, DEV_JWT_SECRET))
            for u in users
        ]

    assert {(status, body["awarded"]) for status, body in answers} == {(200, True)}
    assert [body["earned_count"] for _, body in listed] == [1] * len(users)
