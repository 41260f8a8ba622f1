"""The webhook channel on the wire: the body, its signature and the idempotency header exactly
as documented; 2xx delivers; a 500, a timeout and a connection error retry, each later than the
last; success after retries is delivered once; exhausted retries are dead letters."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from uuid import UUID

import pytest
import requests
import responses

from badges.delivery.webhook import signature
from badges.store.db import BadgesDb
from tests.delivery.conftest import (
    POLICY,
    WEBHOOK_SECRET,
    WEBHOOK_URL,
    Conn,
    award,
    deliverer,
    make_due,
    state,
    webhook,
)

FAILURES = {
    "500": {"status": 500},
    "timeout": {"body": requests.exceptions.ReadTimeout("read timed out")},
    "connection error": {"body": requests.exceptions.ConnectionError("refused")},
}
ERRORS = {
    "500": "webhook: HTTP 500",
    "timeout": "webhook: no answer within 2 s",
    "connection error": "webhook: ConnectionError",
}


def retry_delay(conn: Conn, user: UUID) -> timedelta:
    row = conn.execute(
        "select next_attempt_at - last_attempt_at from badges.outbox where user_id = %s", (user,)
    ).fetchone()
    assert row is not None
    return row[0]


def test_the_event_is_posted_signed_with_its_idempotency_key_and_2xx_delivers_it(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    award(iso_db, user)
    http.post(WEBHOOK_URL, status=204)

    counts = deliverer(iso_db, webhook()).deliver_due()

    assert counts.as_json() == {"delivered": 1, "failed": 0, "dead": 0}
    [sent] = http.calls
    body = sent.request.body
    assert isinstance(body, bytes)
    event = json.loads(body)
    assert event["type"] == "badge.earned"
    assert event["user_id"] == str(user)
    assert event["badge"]["id"] == "social_sharer"
    assert event["badge"]["name"] == "Social Sharer"
    assert datetime.fromisoformat(event["earned_at"]).tzinfo is not None
    mac = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = sent.request.headers
    assert headers["X-Badges-Signature"] == f"sha256={mac}"
    assert headers["Idempotency-Key"] == f"badge.earned:{user}:social_sharer"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Badges-Event"] == "badge.earned"
    assert state(iso_conn, user) == ("delivered", 1, ["webhook"])


def test_the_signature_helper_is_hmac_sha256_of_the_raw_body():
    body = b'{"type":"badge.earned"}'
    expected = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert signature(body, "k" * 16) == f"sha256={expected}"


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    award(iso_db, user)
    http.post(WEBHOOK_URL, status=302, headers={"Location": "https://elsewhere.example.test/"})

    assert deliverer(iso_db, webhook()).deliver_due().failed == 1
    assert len(http.calls) == 1
    assert state(iso_conn, user) == ("pending", 1, [])


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failure_schedules_a_retry_with_a_growing_delay_then_success_delivers_once(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID, failure: str
):
    award(iso_db, user)
    worker = deliverer(iso_db, webhook())
    failing = http.post(WEBHOOK_URL, **FAILURES[failure])

    assert worker.deliver_due().as_json() == {"delivered": 0, "failed": 1, "dead": 0}
    first = retry_delay(iso_conn, user)
    assert worker.deliver_due().as_json() == {"delivered": 0, "failed": 0, "dead": 0}  # not due
    make_due(iso_conn)
    assert worker.deliver_due().failed == 1
    second = retry_delay(iso_conn, user)
    [(last_error,)] = iso_conn.execute("select last_error from badges.outbox").fetchall()

    base = timedelta(seconds=POLICY.backoff_seconds)
    assert base / 2 <= first < base <= second < base * 2
    assert last_error == ERRORS[failure]

    http.remove(failing)
    http.post(WEBHOOK_URL, status=200)
    make_due(iso_conn)
    assert worker.deliver_due().delivered == 1
    make_due(iso_conn)
    assert worker.deliver_due().as_json() == {"delivered": 0, "failed": 0, "dead": 0}
    assert len(http.calls) == 3  # two failures, one success, nothing after
    assert state(iso_conn, user) == ("delivered", 3, ["webhook"])


def test_exhausted_retries_dead_letter_the_row_and_it_is_sent_no_more(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    award(iso_db, user)
    worker = deliverer(iso_db, webhook())
    http.post(WEBHOOK_URL, status=500)

    counts = []
    for _ in range(POLICY.max_attempts + 1):
        counts.append(worker.deliver_due().as_json())
        make_due(iso_conn)

    assert counts == [
        {"delivered": 0, "failed": 1, "dead": 0},
        {"delivered": 0, "failed": 1, "dead": 0},
        {"delivered": 0, "failed": 0, "dead": 1},
        {"delivered": 0, "failed": 0, "dead": 0},
    ]
    assert len(http.calls) == POLICY.max_attempts
    assert state(iso_conn, user) == ("dead", POLICY.max_attempts, [])
    dead = iso_db.outbox_rows("dead", 10, None)["notifications"]
    assert [(n["user_id"], n["last_error"]) for n in dead] == [(str(user), "webhook: HTTP 500")]
