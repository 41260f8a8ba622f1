"""What every channel is: a name and send(), which delivers one claimed notification or raises
DeliveryFailed. Channels never touch the database; the worker records what they did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Notification:
    """One claimed outbox row: the event to send and what a channel needs to send it."""

    id: int
    dedupe_key: str
    attempt: int
    payload: JsonObject
    delivered_channels: tuple[str, ...] = ()
    push_tokens: tuple[str, ...] = ()

    @classmethod
    def from_claim(cls, row: JsonObject) -> Notification:
        return cls(
            id=int(row["id"]),
            dedupe_key=str(row["dedupe_key"]),
            attempt=int(row["attempt"]),
            payload=dict(row["payload"]),
            delivered_channels=tuple(row.get("delivered_channels") or ()),
            push_tokens=tuple(row.get("push_tokens") or ()),
        )


@dataclass(frozen=True)
class Sent:
    """A channel took the notification; drop_tokens are push tokens the provider no longer knows
    (uninstalled apps), which the worker deletes."""

    drop_tokens: tuple[str, ...] = ()


class DeliveryFailed(Exception):
    """The channel could not deliver now (an error status, a timeout, no connection): retry."""

    def __init__(self, reason: str, *, drop_tokens: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.drop_tokens = drop_tokens


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, notification: Notification, timeout: float) -> Sent: ...


@dataclass
class SendResult:
    """What sending one notification to every channel it still needs came to."""

    id: int
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    drop_tokens: list[str] = field(default_factory=list)

    def as_json(self) -> JsonObject:
        """The entry badges.finish_notifications reads."""
        return {
            "id": self.id,
            "sent": self.sent,
            "error": "; ".join(self.errors) or None,
            "drop_tokens": self.drop_tokens,
        }
