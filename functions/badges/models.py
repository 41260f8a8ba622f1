"""Wire models: the JSON each action accepts and answers with. Pydantic lives here, at the edge.

Requests ignore fields they do not know (the Flutter client sends badge_name and icon_emoji with
an award: accepted and ignored, the catalog is authoritative). Strings are bounded and never
contain NUL; numbers are bounded; booleans are real booleans.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
)

MAX_OFFSET = 1_000_000

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


class PageRequest(Request):
    limit: StrictInt = Field(default=10, ge=1, le=100)
    offset: StrictInt = Field(default=0, ge=0, le=MAX_OFFSET)


# Responses. Each mirrors what its SQL function returns; validating it here keeps the contract
# honest when the SQL changes.


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Badge(Response):
    id: str
    name: str
    description: str
    icon: str
    category: str
    tier: str
    rule: str
    threshold: int | None
    hidden: bool


class Progress(Response):
    current: int
    target: int


class ListedBadge(Badge):
    earned: bool
    earned_at: str | None
    progress: Progress | None


class AwardResponse(Response):
    awarded: bool
    badge: Badge
    earned_at: str


class ListResponse(Response):
    badges: list[ListedBadge]
    earned_count: int
    total_count: int


class StreakResponse(Response):
    current_streak: int
    longest_streak: int
    awarded: list[str]


class StreakBatchResponse(Response):
    users_checked: int
    awarded_count: int


class ScoreResponse(Response):
    newly_correct: bool
    correct_providers: int
    total_providers: int
    awarded: list[str]


class QuizMasterResponse(Response):
    correct_providers: int
    total_providers: int
    awarded: list[str]


class BadgeBoardEntry(Response):
    rank: int
    user_id: UUID
    badge_count: int


class ScoreBoardEntry(Response):
    rank: int
    user_id: UUID
    correct_count: int


class BadgeBoardResponse(Response):
    entries: list[BadgeBoardEntry]
    me: BadgeBoardEntry | None
    total: int


class ScoreBoardResponse(Response):
    entries: list[ScoreBoardEntry]
    me: ScoreBoardEntry | None
    total: int


class RevokeResponse(Response):
    revoked: bool


class Provider(Response):
    id: str
    name: str


class CatalogResponse(Response):
    badges: list[Badge]
    providers: list[Provider]
