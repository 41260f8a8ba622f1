"""Faults, fast variants: a statement cancelled by its timeout, a pool exhausted by slow queries
and the database stopped in the middle of a load run each answer 503 `unavailable` with
Retry-After (never 500, within the configured bounds), the function recovers without a restart,
and the consistency report holds afterwards: nothing half-done."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pgserver import _commands as pg_commands

from badges import devdb
from badges.migrate import migrate
from tests.conftest import sync_catalog_file
from tests.endpoint.conftest import Answer, Api, MakeClient, Tokens

Conn = psycopg.Connection[tuple[Any, ...]]


def consistency(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("select badges.consistency_report()").fetchone()
    assert row is not None
    report: dict[str, Any] = row[0]
    return report


def assert_unavailable(answer: Answer) -> None:
    assert answer.status == 503, answer.body
    assert answer.error == "unavailable"
    assert int(answer.headers["Retry-After"]) >= 1


def awarded_to(conn: Conn, user: uuid.UUID) -> int:
    row = conn.execute("select count(*) from badges.awards where user_id = %s", (user,)).fetchone()
    assert row is not None
    return int(row[0])


def unavailable_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "badges.store" and r.getMessage().startswith("database unavailable")
    ]


def test_a_statement_cancelled_by_its_timeout_is_503_and_leaves_nothing_half_done(
    make_client: MakeClient,
    iso_url: str,
    iso_conn: Conn,
    user: uuid.UUID,
    caplog: pytest.LogCaptureFixture,
):
    api = Api(make_client(DATABASE_URL=iso_url, BADGES_DB_STATEMENT_TIMEOUT="0.3"), Tokens())
    with psycopg.connect(iso_url) as locker:
        locker.execute("lock table badges.awards in access exclusive mode")
        started = time.monotonic()
        blocked = api.call("award", as_user=user, badge_id="social_sharer")
        waited = time.monotonic() - started
        locker.rollback()

    assert_unavailable(blocked)
    # The answer says only "try again"; the log says why.
    assert any("(57014)" in m and "statement timeout" in m for m in unavailable_logged(caplog))
    assert waited < 5  # cancelled at 0.3 s, not left waiting for the lock
    assert awarded_to(iso_conn, user) == 0
    assert api.call("award", as_user=user, badge_id="social_sharer").body["awarded"] is True
    assert consistency(iso_url)["violations"] == 0


def test_a_pool_exhausted_by_slow_queries_answers_503_and_serves_again_once_they_end(
    make_client: MakeClient, iso_url: str, iso_conn: Conn, caplog: pytest.LogCaptureFixture
):
    client = make_client(
        DATABASE_URL=iso_url,
        BADGES_DB_POOL_SIZE="1",
        BADGES_DB_TIMEOUT="0.5",
        BADGES_DB_STATEMENT_TIMEOUT="20",
    )
    api = Api(client, Tokens())
    slow_user, other = uuid.uuid4(), uuid.uuid4()
    slow: list[Answer] = []
    with psycopg.connect(iso_url) as locker:
        locker.execute("lock table badges.awards in access exclusive mode")
        award = {"as_user": slow_user, "badge_id": "social_sharer"}
        holder = threading.Thread(target=lambda: slow.append(api.call("award", **award)))
        holder.start()
        time.sleep(0.5)  # the slow request has the pool's one connection, waiting for the lock
        exhausted = api.call("list", as_user=other)
        locker.rollback()
    holder.join()

    assert_unavailable(exhausted)
    assert any("PoolTimeout" in m for m in unavailable_logged(caplog))
    assert slow[0].status == 200
    assert api.call("list", as_user=other).status == 200
    assert awarded_to(iso_conn, slow_user) == 1
    assert consistency(iso_url)["violations"] == 0


@pytest.fixture
def own_server() -> Iterator[Any]:
    """A PostgreSQL server of this test's own, migrated with the v1 catalog, to stop and start."""
    server = devdb.start(Path(tempfile.mkdtemp(prefix="badges-faults-")) / "data", cleanup="delete")
    migrate(server.get_uri())
    sync_catalog_file(server.get_uri())
    yield server
    server.cleanup()


def load(api: Api, stop: threading.Event, answers: list[Answer]) -> None:
    """A client writing until told to stop: awards, activity and scores of fresh users."""
    while not stop.is_set():
        user = uuid.uuid4()
        for action, params in (
            ("award", {"badge_id": "social_sharer"}),
            ("record_activity", {}),
            ("record_score", {"provider_id": "openai", "quiz_correct": True}),
        ):
            answers.append(api.call(action, as_user=user, **params))


def test_the_database_stopped_mid_load_gives_503s_then_recovers_without_a_restart(
    make_client: MakeClient, own_server: Any
):
    url = own_server.get_uri()
    api = Api(
        make_client(DATABASE_URL=url, BADGES_DB_TIMEOUT="2", BADGES_RATE_LIMIT_PER_MINUTE="0"),
        Tokens(),
    )
    stop, answers = threading.Event(), []
    clients = [threading.Thread(target=load, args=(api, stop, answers)) for _ in range(4)]
    for c in clients:
        c.start()
    time.sleep(0.5)
    pg_commands.pg_ctl(
        ["-w", "-m", "immediate", "stop"], pgdata=own_server.pgdata, user=own_server.system_user
    )
    time.sleep(1.0)
    started = time.monotonic()
    down = api.call("award", as_user=uuid.uuid4(), badge_id="social_sharer")
    answered_in = time.monotonic() - started
    own_server.ensure_postgres_running()
    time.sleep(1.0)
    stop.set()
    for c in clients:
        c.join()

    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status == 503)
    assert_unavailable(down)
    assert answered_in < 10
    assert api.call("award", as_user=uuid.uuid4(), badge_id="social_sharer").status == 200
    assert consistency(url)["violations"] == 0
