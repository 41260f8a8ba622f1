"""Expo push: one message per registered device token of the user, POSTed to Expo's push API
(https://docs.expo.dev/push-notifications/sending-notifications/), which answers one ticket per
message. A DeviceNotRegistered ticket means the app is gone from that device: the token is
dropped and the message counts as handled. Any other error ticket, an error status, a timeout
or no connection is retried later (Expo has no idempotency key: a retry may reach a device twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from badges.delivery.channel import DeliveryFailed, JsonObject, Notification, Sent

# Expo's limit of messages per request; a user keeps at most 10 tokens (register_push_token).
MAX_MESSAGES = 100


@dataclass(frozen=True)
class ExpoChannel:
    url: str
    access_token: str | None = None
    session: requests.Session = field(default_factory=requests.Session, compare=False)
    name: str = "expo"

    def send(self, notification: Notification, timeout: float) -> Sent:
        tokens = notification.push_tokens[:MAX_MESSAGES]
        if not tokens:
            return Sent()  # no device registered: nothing to push
        tickets = self._post([message(notification, t) for t in tokens], timeout)
        gone, errors = _read_tickets(tokens, tickets)
        if errors:
            raise DeliveryFailed("expo: " + "; ".join(errors), drop_tokens=gone)
        return Sent(drop_tokens=gone)

    def _post(self, messages: list[JsonObject], timeout: float) -> list[Any]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        try:
            response = self.session.post(self.url, json=messages, headers=headers, timeout=timeout)
        except requests.Timeout:
            raise DeliveryFailed(f"expo: no answer within {timeout:g} s") from None
        except requests.RequestException as exc:
            raise DeliveryFailed(f"expo: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DeliveryFailed(f"expo: HTTP {response.status_code}")
        try:
            tickets = response.json()["data"]
        except (ValueError, KeyError, TypeError):
            raise DeliveryFailed("expo: an answer without tickets") from None
        if not isinstance(tickets, list) or len(tickets) != len(messages):
            raise DeliveryFailed("expo: an answer without one ticket per message")
        return tickets


def message(notification: Notification, token: str) -> JsonObject:
    """The push message of a notification for one device."""
    event = notification.payload
    badge = event.get("badge") or {}
    title = f"{badge.get('icon', '')} {badge.get('name', 'New badge')}".strip()
    return {
        "to": token,
        "title": title,
        "body": event.get("message", ""),
        "data": event,
        "sound": "default",
    }


def _read_tickets(tokens: tuple[str, ...], tickets: list[Any]) -> tuple[tuple[str, ...], list[str]]:
    """(tokens Expo no longer knows, error messages of the other failed tickets)."""
    gone: list[str] = []
    errors: list[str] = []
    for token, ticket in zip(tokens, tickets, strict=True):
        if not isinstance(ticket, dict):
            errors.append("a ticket that is not an object")
            continue
        if ticket.get("status") == "ok":
            continue
        details = ticket.get("details") or {}
        if isinstance(details, dict) and details.get("error") == "DeviceNotRegistered":
            gone.append(token)
        else:
            errors.append(str(ticket.get("message") or "an error ticket"))
    return tuple(gone), errors
