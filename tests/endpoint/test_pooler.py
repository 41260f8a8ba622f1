"""The function through a transaction pooler, as it runs behind Supabase's pooler (port 6543):
`badges serve` with 2 workers whose DATABASE_URL is PgBouncer in transaction mode
(tests/pgbouncer.py) in front of the test server, with the pool sizes docs/architecture.md
explains (Through a transaction pooler).

- An award load of fresh users by concurrent clients: no error, and the awards in the database
  are exactly the answers that said `awarded: true`.
- The load with killed connections of test_soak.py, sent over HTTP to the served function:
  every invariant it checks holds, and PgBouncer never held more server connections than its
  pool while both workers' pools used it.
- The statement timeout still applies: the pooler keeps no session setting and drops the
  startup parameter `options`, so the function sends the timeout with each call; a request stuck
  behind a lock answers 503 `unavailable` at the timeout.
- bench/pooler.py --quick runs end to end and agrees with its database.

Skipped, saying why, only when PgBouncer is missing and cannot be installed here.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.conftest import DEVSPACE, PROJECT_DIR
from tests.endpoint.conftest import BASE_ENV, SECRET, Answer, Api, Tokens
from tests.endpoint.test_soak import assert_held, load_with_faults
from tests.pgbouncer import PgBouncer, Unavailable, ensure_binary, free_port

# The sizes docs/architecture.md explains (Through a transaction pooler): one instance's
# WORKERS x BADGES_DB_POOL_SIZE <= PgBouncer's default_pool_size <= the server's max_connections
# (100) less its reserved and direct connections; max_client_conn leaves room for more instances.
WORKERS = 2
THREADS = 8
DB_POOL_SIZE = 4  # BADGES_DB_POOL_SIZE, per worker: 8 client connections to the pooler
DEFAULT_POOL_SIZE = 8  # PgBouncer's server connections for the database
MAX_CLIENT_CONN = 100  # PgBouncer's client connections
STATEMENT_TIMEOUT = 2.0  # seconds: BADGES_DB_STATEMENT_TIMEOUT of the award server
AWARD = {"action": "award", "badge_id": "social_sharer"}


def dbname(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


@pytest.fixture(scope="module")
def pgbouncer_binary() -> Path:
    """PgBouncer's binary, installed when missing and running as root; else the tests skip."""
    try:
        return ensure_binary()
    except Unavailable as exc:
        pytest.skip(f"PgBouncer is not available: {exc}")


@pytest.fixture(scope="module")
def bouncer(server_url: str, pgbouncer_binary: Path) -> Iterator[PgBouncer]:
    pooler = PgBouncer(
        server_url,
        default_pool_size=DEFAULT_POOL_SIZE,
        max_client_conn=MAX_CLIENT_CONN,
        binary=pgbouncer_binary,
    )
    with pooler:
        yield pooler


@contextmanager
def served(database_url: str, catalog: Path | None = None, **env: str) -> Iterator[int]:
    """`badges serve` (the venv's console script) with WORKERS x THREADS on `database_url`;
    yields its port once /health answers, then Ctrl-C (SIGINT) and its folder removed."""
    port = free_port()
    script = Path(sys.executable).with_name("badges")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "badges.cli"]
    with tempfile.TemporaryDirectory(prefix="badges-pooled-") as folder:
        environ = {k: v for k, v in os.environ.items() if k not in BASE_ENV}
        environ.update(
            PORT=str(port),
            BADGES_HOST="127.0.0.1",
            BADGES_DATA_DIR=str(Path(folder) / "unused"),  # DATABASE_URL is set
            DATABASE_URL=database_url,
            SUPABASE_JWT_SECRET=SECRET,
            WORKERS=str(WORKERS),
            THREADS=str(THREADS),
            BADGES_DB_POOL_SIZE=str(DB_POOL_SIZE),
            BADGES_RATE_LIMIT_PER_MINUTE="0",
            **({"BADGES_CATALOG": str(catalog)} if catalog else {}),
            **env,
        )
        log = Path(folder) / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - the venv's own console script
                [*command, "serve"], env=environ, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + 90
            # Healthy, and every worker forked (gunicorn boots them one after the other).
            while (
                status_of(port, "GET", "/health") != 200
                or len(psutil.Process(proc.pid).children()) < WORKERS
            ):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "not ready in 90 s: " + log.read_text()
                time.sleep(0.2)
            yield port
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def status_of(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def send(conn: http.client.HTTPConnection, body: Any, token: str | None) -> Answer:
    """One POST on `conn`; a connection error is the answer with status 0."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("POST", "/functions/v1/badges", json.dumps(body).encode(), headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()  # the next request reconnects
        return Answer(0, {"connection_error": repr(exc)}, {})
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {"unparsed": raw[:300].decode(errors="replace")}
    return Answer(response.status, parsed, dict(response.getheaders()))


class HttpApi(Api):
    """test_soak's Api, spoken over HTTP to a served function (a connection per request)."""

    def __init__(self, port: int, tokens: Tokens) -> None:  # no test client: a real server
        self.port = port
        self.tokens = tokens

    def post(self, body: Any, token: str | None = None, path: str = "/") -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            return send(conn, body, token)
        finally:
            conn.close()


@pytest.fixture(scope="module")
def award_server(bouncer: PgBouncer, make_database: Callable[[], str]) -> Iterator[tuple[int, str]]:
    """The function on a v1 database through the pooler: (port, the database's direct URL)."""
    direct = make_database()
    timeout = str(STATEMENT_TIMEOUT)
    with served(bouncer.url(dbname(direct)), BADGES_DB_STATEMENT_TIMEOUT=timeout) as port:
        yield port, direct


@dataclass
class AwardTally:
    users: list[uuid.UUID] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    awarded: int = 0
    bad: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def award_load(port: int, clients: int, seconds: float) -> AwardTally:
    """CLIENTS threads, each on a keep-alive connection, award social_sharer to a fresh user per
    request (a development JWT each) until SECONDS have passed."""
    tally, tokens = AwardTally(), Tokens()
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            user = uuid.uuid4()
            answer = send(conn, AWARD, tokens.user(user))
            with tally.lock:
                tally.users.append(user)
                tally.statuses[answer.status] += 1
                if answer.status == 200 and answer.body.get("awarded") is True:
                    tally.awarded += 1
                elif len(tally.bad) < 5:
                    tally.bad.append(f"{answer.status} {answer.body}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def awards_of(url: str, users: list[uuid.UUID]) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from badges.awards where badge_id = 'social_sharer'"
            " and user_id = any(%s)",
            (users,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_an_award_load_through_the_pooler_answers_without_error_and_as_the_database_says(
    award_server: tuple[int, str], bouncer: PgBouncer
):
    port, direct = award_server
    with bouncer.watch(dbname(direct)) as watch:
        tally = award_load(port, clients=16, seconds=3.0)
    requests = sum(tally.statuses.values())
    print(
        f"\npooled award load: {requests} requests in 3 s, {dict(tally.statuses)},"
        f" {watch.figures()}"
    )

    assert tally.bad == []
    assert tally.statuses == {200: requests}
    assert requests > 16
    assert tally.awarded == requests  # every user was fresh
    assert awards_of(direct, tally.users) == tally.awarded
    assert 0 < watch.servers_max <= DEFAULT_POOL_SIZE


def test_the_statement_timeout_applies_through_the_pooler(
    award_server: tuple[int, str], bouncer: PgBouncer
):
    port, direct = award_server
    # A session through the pooler has no timeout (the embedded server sets none, and the
    # pooler drops a client's `options`): the function's timeout comes with each of its calls.
    with psycopg.connect(bouncer.url(dbname(direct)), autocommit=True) as conn:
        assert conn.execute("show statement_timeout").fetchone() == ("0",)

    user = uuid.uuid4()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    with psycopg.connect(direct) as locker:
        locker.execute("lock table badges.awards in access exclusive mode")
        started = time.monotonic()
        blocked = send(conn, AWARD, Tokens().user(user))
        waited = time.monotonic() - started
        locker.rollback()
    served_after = send(conn, AWARD, Tokens().user(user))
    conn.close()

    assert blocked.status == 503, blocked.body
    assert blocked.error == "unavailable"
    assert int(blocked.headers["Retry-After"]) >= 1
    assert STATEMENT_TIMEOUT * 0.9 <= waited < STATEMENT_TIMEOUT + 3  # cancelled at the timeout
    assert served_after.status == 200
    assert served_after.body["awarded"] is True  # the cancelled award wrote nothing
    assert awards_of(direct, [user]) == 1


def pooled_soak(bouncer: PgBouncer, direct: str, clients: int, seconds: float) -> dict[str, Any]:
    """test_soak's load with killed connections, through the pooler, with the pool figures."""
    with (
        served(bouncer.url(dbname(direct)), DEVSPACE) as port,
        bouncer.watch(dbname(direct)) as watch,
    ):
        before = transactions(bouncer, dbname(direct))
        figures = load_with_faults(HttpApi(port, Tokens()), direct, clients, seconds)
        figures["pooler_transactions"] = transactions(bouncer, dbname(direct)) - before
    figures.update(watch.figures(), default_pool_size=DEFAULT_POOL_SIZE, workers=WORKERS)
    print("\npooled soak:", json.dumps(figures, sort_keys=True))
    return figures


def transactions(bouncer: PgBouncer, name: str) -> int:
    """Transactions PgBouncer has carried to the database so far."""
    return sum(int(r["total_xact_count"]) for r in bouncer.show("STATS") if r["database"] == name)


def assert_pooled_soak_held(figures: dict[str, Any]) -> None:
    assert_held(figures)
    assert figures["pooler_transactions"] >= figures["statuses"][200]  # all through the pooler
    assert 0 < figures["server_connections_max"] <= DEFAULT_POOL_SIZE


def test_the_load_with_killed_connections_through_the_pooler_keeps_every_invariant(
    bouncer: PgBouncer, make_catalog_database: Callable[[Path], str]
):
    assert_pooled_soak_held(pooled_soak(bouncer, make_catalog_database(DEVSPACE), 8, 6.0))


@pytest.mark.soak
def test_the_long_load_with_killed_connections_through_the_pooler_keeps_every_invariant(
    bouncer: PgBouncer, make_catalog_database: Callable[[Path], str]
):
    figures = pooled_soak(
        bouncer,
        make_catalog_database(DEVSPACE),
        int(os.environ.get("SOAK_CLIENTS", "32")),
        float(os.environ.get("SOAK_SECONDS", "300")),
    )
    assert_pooled_soak_held(figures)


def test_the_pooler_benchmark_runs_and_agrees_with_the_database(pgbouncer_binary: Path):
    """bench/pooler.py --quick end to end (its own database, pooler and server): what an
    orchestrator reads from --json is there, without an error. Never a timing."""
    with tempfile.TemporaryDirectory(prefix="badges-bench-json-") as folder:
        out = Path(folder) / "pooler.json"
        done = subprocess.run(  # noqa: S603 - the project's own script
            [
                sys.executable,
                str(PROJECT_DIR / "bench" / "pooler.py"),
                "--quick",
                "--json",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        figures = json.loads(out.read_text())

    assert {
        "award_rps",
        "p50_ms",
        "p99_ms",
        "errors",
        "awards_in_db",
        "awarded_answers",
        "pool_mode",
        "default_pool_size",
        "max_client_conn",
        "workers",
        "threads",
    } <= figures.keys()
    assert figures["errors"] == 0
    assert figures["awarded_answers"] > 0
    assert figures["awards_in_db"] == figures["awarded_answers"]
    assert figures["pool_mode"] == "transaction"
    assert (figures["workers"], figures["threads"]) == (WORKERS, THREADS)
    assert figures["default_pool_size"] == DEFAULT_POOL_SIZE
    assert 0 < figures["server_connections_max"] <= DEFAULT_POOL_SIZE
