"""Wire models of requests: the JSON each action accepts (answers: badges.responses). Pydantic
lives here, at the edge.

Requests ignore fields they do not know (the Flutter client sends badge_name and icon_emoji with
an award: accepted and ignored, the catalog is authoritative). Strings are bounded and never
contain NUL; numbers are bounded; booleans are real booleans.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
)

MAX_OFFSET = 1_000_000
MAX_AMOUNT = 1_000_000
# Clocks differ: an event dated this far ahead of ours is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=5)

Id = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


@cache
def _zone_names() -> frozenset[str]:
    # A closed list: ZoneInfo() itself would also open folders ("Europe") and odd paths.
    return frozenset(available_timezones())


def _known_timezone(value: str) -> str:
    if value not in _zone_names():
        raise ValueError(f"{value!r} is not an IANA time zone name")
    return value


Text = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_nul)
]


def _not_zero(value: int) -> int:
    if value == 0:
        raise ValueError("must not be zero")
    return value


def _iso_text(value: object) -> object:
    # pydantic would also read a number as Unix time: the contract says ISO 8601 text.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with a UTC offset")
    return value


def _not_in_the_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("must not be in the future")
    return value


Key = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)]
Item = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul)
]
Amount = Annotated[StrictInt, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT), AfterValidator(_not_zero)]
Timezone = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=64), AfterValidator(_known_timezone)
]


class Request(BaseModel):
    """Every action's request. A service caller names the user with user_id; a user may omit it
    or send their own id, never another's."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: StrictStr
    user_id: UUID | None = None


class Empty(Request):
    pass


class AwardRequest(Request):
    badge_id: Id


class RevokeRequest(Request):
    badge_id: Id
    reason: Text


class RecordActivityRequest(Request):
    timezone: Timezone | None = None


class RecordScoreRequest(Request):
    provider_id: Id
    quiz_correct: StrictBool


class CheckStreaksRequest(Request):
    all: StrictBool = False


class TrackRequest(Request):
    metric: Id
    amount: Amount = 1
    item: Item | None = None  # counted once per distinct value, for `distinct` badges
    idempotency_key: Key | None = None
    occurred_at: (
        Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_not_in_the_future)]
        | None
    ) = None


class CheckBadgesRequest(Request):
    all: StrictBool = False


class BackfillRequest(Request):
    badge_id: Id | None = None
    notify: StrictBool = False


class LevelStatusRequest(Request):
    level: Id


class PageRequest(Request):
    limit: StrictInt = Field(default=10, ge=1, le=100)
    offset: StrictInt = Field(default=0, ge=0, le=MAX_OFFSET)
