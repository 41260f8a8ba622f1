"""The worker across channels and workers: a channel that took a row is not sent it again on a
retry, no channel means in-app only, and workers draining one outbox at once (real connections,
real threads) deliver every row exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from uuid import UUID, uuid4

import responses
from requests import PreparedRequest

from badges.delivery.worker import Counts, Policy
from badges.settings import EXPO_PUSH_URL
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore
from tests.delivery.conftest import (
    WEBHOOK_URL,
    Conn,
    award,
    deliverer,
    expo,
    make_due,
    state,
    webhook,
)

ROWS = 120
WORKERS = 2


def test_a_channel_that_took_the_row_is_not_sent_it_again_when_another_retries(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    iso_db.register_push_token(user, "ExponentPushToken[phone]", "ios")
    award(iso_db, user)
    http.post(EXPO_PUSH_URL, json={"data": [{"status": "ok", "id": "t"}]})
    http.post(WEBHOOK_URL, status=503)
    worker = deliverer(iso_db, webhook(), expo())

    assert worker.deliver_due().failed == 1
    assert state(iso_conn, user) == ("pending", 1, ["expo"])
    make_due(iso_conn)
    http.replace(responses.POST, WEBHOOK_URL, status=200)
    assert worker.deliver_due().delivered == 1

    assert Counter(c.request.url for c in http.calls) == {EXPO_PUSH_URL: 1, WEBHOOK_URL: 2}
    assert state(iso_conn, user) == ("delivered", 2, ["expo", "webhook"])


def test_without_channels_due_rows_are_delivered_in_app_only(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    award(iso_db, user)

    assert deliverer(iso_db).deliver_due().as_json() == {"delivered": 1, "failed": 0, "dead": 0}
    assert state(iso_conn, user) == ("delivered", 1, [])
    assert len(http.calls) == 0


def test_workers_draining_one_outbox_at_once_deliver_each_row_exactly_once(
    iso_url: str, iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock
):
    for _ in range(ROWS):
        award(iso_db, uuid4())
    received: Counter[str] = Counter()
    lock = threading.Lock()

    def receive(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        with lock:
            received[request.headers["Idempotency-Key"]] += 1
        return 204, {}, ""

    http.add_callback(responses.POST, WEBHOOK_URL, callback=receive)
    start = threading.Barrier(WORKERS)
    results: list[Counts] = []

    def work() -> None:
        store = PostgresStore(iso_url, pool_size=1)
        try:
            worker = deliverer(BadgesDb(store), webhook(), policy=Policy(batch_size=7))
            start.wait()
            results.append(worker.deliver_due())
        finally:
            store.close()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    keys = {r[0] for r in iso_conn.execute("select dedupe_key from badges.outbox")}
    assert set(received) == keys
    assert len(keys) == ROWS
    assert set(received.values()) == {1}
    assert sum(r.delivered for r in results) == ROWS
    assert all(r.delivered > 0 for r in results)  # both workers took a share
    assert iso_conn.execute("select distinct status from badges.outbox").fetchall() == [
        ("delivered",)
    ]
