"""The delivery worker: claim due outbox rows, send each to the channels it still needs, report.

Concurrent workers are safe: a claim takes rows FOR UPDATE SKIP LOCKED and leases them long
enough to send the whole batch, and a report only counts for rows the worker still holds.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from badges.delivery.channel import Channel, DeliveryFailed, Notification, SendResult
from badges.delivery.expo import ExpoChannel
from badges.delivery.webhook import WebhookChannel
from badges.settings import Settings
from badges.store.db import BadgesDb, JsonObject

log = logging.getLogger("badges.delivery")

# Rows one request's immediate attempt may take: an award request earns a handful at most.
IMMEDIATE_LIMIT = 10
# Added to every lease, for the database calls around the sends.
LEASE_MARGIN = 30


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 10
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    timeout: float = 10.0
    batch_size: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            max_attempts=settings.delivery_max_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            max_backoff_seconds=settings.delivery_max_backoff_seconds,
            timeout=settings.delivery_timeout,
            batch_size=settings.delivery_batch_size,
        )


@dataclass
class Counts:
    delivered: int = 0
    failed: int = 0  # scheduled for another attempt
    dead: int = 0

    def add(self, counts: JsonObject) -> None:
        self.delivered += int(counts.get("delivered", 0))
        self.failed += int(counts.get("failed", 0))
        self.dead += int(counts.get("dead", 0))

    def as_json(self) -> JsonObject:
        return {"delivered": self.delivered, "failed": self.failed, "dead": self.dead}


class Deliverer:
    def __init__(self, db: BadgesDb, channels: Sequence[Channel], policy: Policy) -> None:
        self.db = db
        self.channels = tuple(channels)
        self.policy = policy

    def deliver_due(self, max_seconds: float = 50.0) -> Counts:
        """Batches of due rows until none is due or max_seconds have passed."""
        counts = Counts()
        deadline = time.monotonic() + max_seconds
        while True:
            claimed = self._run(None, self.policy.batch_size, self.policy.timeout, counts)
            if claimed < self.policy.batch_size or time.monotonic() >= deadline:
                return counts

    def deliver_user_now(self, user_id: UUID, timeout: float) -> Counts:
        """One short attempt at the user's never-tried rows (after a request that awarded)."""
        counts = Counts()
        self._run(user_id, IMMEDIATE_LIMIT, timeout, counts)
        return counts

    def _run(self, user_id: UUID | None, limit: int, timeout: float, counts: Counts) -> int:
        lease = math.ceil(limit * max(1, len(self.channels)) * timeout) + LEASE_MARGIN
        claim = self.db.claim_notifications(limit, lease, self.policy.max_attempts, user_id)
        counts.dead += int(claim["dead"])
        rows = [Notification.from_claim(r) for r in claim["notifications"]]
        if rows:
            results = [self._send(n, timeout).as_json() for n in rows]
            counts.add(self._finish(claim["token"], results))
        return len(rows)

    def _finish(self, token: str, results: list[JsonObject]) -> JsonObject:
        p = self.policy
        return self.db.finish_notifications(
            token, results, p.max_attempts, p.backoff_seconds, p.max_backoff_seconds
        )

    def _send(self, notification: Notification, timeout: float) -> SendResult:
        result = SendResult(notification.id)
        for channel in self.channels:
            if channel.name in notification.delivered_channels:
                continue
            try:
                sent = channel.send(notification, timeout)
            except DeliveryFailed as exc:
                result.errors.append(exc.reason)
                result.drop_tokens.extend(exc.drop_tokens)
                log.warning("notification %s not delivered: %s", notification.id, exc.reason)
                continue
            except Exception:  # a bug in a channel must not strand the rest of the batch
                log.exception("channel %s failed on notification %s", channel.name, notification.id)
                result.errors.append(f"{channel.name}: internal error")
                continue
            result.sent.append(channel.name)
            result.drop_tokens.extend(sent.drop_tokens)
        return result


def channels_from(settings: Settings) -> list[Channel]:
    """The channels the environment configures; none means in-app only."""
    channels: list[Channel] = []
    if settings.webhook_url and settings.webhook_secret:
        channels.append(WebhookChannel(settings.webhook_url, settings.webhook_secret))
    if settings.expo_push:
        channels.append(ExpoChannel(settings.expo_push_url, settings.expo_access_token))
    return channels


def make_deliverer(db: BadgesDb, settings: Settings) -> Deliverer:
    return Deliverer(db, channels_from(settings), Policy.from_settings(settings))
