"""Delivery against a real database and faked receivers: every outbound HTTP call goes through
`responses`, which fails any request the test did not expect. Each test owns its database,
since a worker drains every due row there is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
import responses

from badges.delivery.channel import Channel
from badges.delivery.expo import ExpoChannel
from badges.delivery.webhook import WebhookChannel
from badges.delivery.worker import Deliverer, Policy
from badges.settings import EXPO_PUSH_URL
from badges.store.db import BadgesDb

Conn = psycopg.Connection[tuple[Any, ...]]

WEBHOOK_URL = "https://receiver.example.test/hooks/badges"
WEBHOOK_SECRET = "whsec-test-0123456789abcdef"
# Short waits, three attempts: a test walks the whole retry path in a few calls.
POLICY = Policy(max_attempts=3, backoff_seconds=10.0, max_backoff_seconds=1000.0, timeout=2.0)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def webhook() -> WebhookChannel:
    return WebhookChannel(WEBHOOK_URL, WEBHOOK_SECRET)


def expo(access_token: str | None = None) -> ExpoChannel:
    return ExpoChannel(EXPO_PUSH_URL, access_token)


def deliverer(db: BadgesDb, *channels: Channel, policy: Policy = POLICY) -> Deliverer:
    return Deliverer(db, channels, policy)


def award(db: BadgesDb, user: UUID, badge: str = "social_sharer") -> None:
    """An award, and with it one pending outbox row."""
    db.award_badge(user, badge, client=badge == "social_sharer")


def state(conn: Conn, user: UUID) -> tuple[str, int, list[str]]:
    """(status, attempts, delivered_channels) of the user's one outbox row."""
    row = conn.execute(
        "select status, attempts, delivered_channels from badges.outbox where user_id = %s",
        (user,),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def make_due(conn: Conn) -> None:
    """As if every retry delay had passed."""
    conn.execute("update badges.outbox set next_attempt_at = now() where status = 'pending'")
