"""The generic webhook: POST the event as JSON, signed, with the dedupe key as Idempotency-Key.

Receivers verify `X-Badges-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body with the
shared secret, and drop repeats by Idempotency-Key (delivery is at least once). Any 2xx is
delivered; anything else, a timeout or a connection error is retried later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

import requests

from badges.delivery.channel import DeliveryFailed, Notification, Sent

USER_AGENT = "badges-webhook/1"


def signature(body: bytes, secret: str) -> str:
    """The X-Badges-Signature value of a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(notification: Notification) -> bytes:
    """The exact bytes sent (and signed): the event as compact JSON."""
    return json.dumps(notification.payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    secret: str
    session: requests.Session = field(default_factory=requests.Session, compare=False)
    name: str = "webhook"

    def send(self, notification: Notification, timeout: float) -> Sent:
        body = body_of(notification)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Badges-Event": str(notification.payload.get("type", "")),
            "X-Badges-Signature": signature(body, self.secret),
            "Idempotency-Key": notification.dedupe_key,
        }
        try:
            response = self.session.post(
                self.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.Timeout:
            raise DeliveryFailed(f"webhook: no answer within {timeout:g} s") from None
        except requests.RequestException as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"webhook: HTTP {response.status_code}")
        return Sent()
