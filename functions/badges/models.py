"""Wire models of requests: the JSON each action accepts (answers: badges.responses). Pydantic
lives here, at the edge.

Requests ignore fields they do not know (the Flutter client sends badge_name and icon_emoji with
an award: accepted and ignored, the catalog is authoritative). Strings are bounded and never
contain NUL; numbers are bounded; booleans are real booleans.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Literal, Self
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
    model_validator,
)

MAX_OFFSET = 1_000_000
MAX_IDS = 1000
MAX_DELIVERY_SECONDS = 540  # Cloud Functions' longest HTTP timeout
MAX_AMOUNT = 1_000_000
# Clocks differ: an event dated this far ahead of ours is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=5)
# Events are dated in the Unix era: earlier instants (year 1, BC) have no ISO 8601 form in
# PostgreSQL's output, and no app has badge events from before it.
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)

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


# What _no_nul checks, in the JSON schema's words (docs/openapi.yaml): no NUL anywhere.
NO_NUL = Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})

Text = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_nul), NO_NUL
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
    if value < EARLIEST_EVENT:
        raise ValueError("must not be before 1970-01-01T00:00:00Z")
    return value


# Table triggers key their events "row:" + md5(...) (supabase/migrations, table triggers): a
# client's key there could take the key of a row the user inserts later, failing that insert.
TRIGGER_KEY_PREFIX = "row:"


def _not_a_trigger_key(value: str) -> str:
    if value.startswith(TRIGGER_KEY_PREFIX):
        raise ValueError(
            f"keys starting with {TRIGGER_KEY_PREFIX!r} are reserved for table triggers"
        )
    return value


Key = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_no_nul),
    AfterValidator(_not_a_trigger_key),
    Field(json_schema_extra={"pattern": "^(?!row:)[^\\u0000]*$"}),
]
Item = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul), NO_NUL
]
Amount = Annotated[
    StrictInt,
    Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, json_schema_extra={"not": {"const": 0}}),
    AfterValidator(_not_zero),
]
Timezone = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_timezone),
    Field(description="An IANA time zone name, e.g. Europe/Berlin.", examples=["Europe/Berlin"]),
]


class Request(BaseModel):
    """Every action's request. A service caller names the user with user_id; a user may omit it
    or send their own id, never another's."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: StrictStr
    user_id: UUID | None = Field(
        default=None,
        description="The user acted on: a service names them; a user omits it or sends their own.",
    )


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


class GrantFreezesRequest(Request):
    count: StrictInt = Field(ge=1, le=10, description="Streak freezes to give the user, 1-10.")


class TrackRequest(Request):
    metric: Id
    amount: Amount = 1
    item: Item | None = Field(
        default=None, description="Counted once per distinct value, for distinct badges."
    )
    idempotency_key: Key | None = Field(
        default=None,
        description="A repeat with the same key is not counted again (duplicate: true).",
    )
    occurred_at: (
        Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_not_in_the_future)]
        | None
    ) = Field(
        default=None,
        description="Service callers only: when the event happened, with a UTC offset, from "
        "1970 to now (5 minutes of clock skew allowed).",
    )


class CheckBadgesRequest(Request):
    all: StrictBool = False


class BackfillRequest(Request):
    badge_id: Id | None = None
    notify: StrictBool = False


class LevelStatusRequest(Request):
    level: Id


Cursor = Annotated[StrictStr, StringConstraints(max_length=200)]


class PageRequest(Request):
    limit: StrictInt = Field(default=10, ge=1, le=100)
    offset: StrictInt = Field(default=0, ge=0, le=MAX_OFFSET)
    after: Cursor | None = Field(
        default=None,
        description="The next_after of the previous page (keyset paging); not with offset.",
    )

    @model_validator(mode="after")
    def _offset_or_after(self) -> Self:
        if self.offset and self.after is not None:
            raise ValueError("send either offset or after (a cursor), not both")
        return self


# The period of a leaderboard: its current or previous one, or the one a local date falls in.
BoardPeriod = Annotated[
    StrictStr, StringConstraints(pattern=r"^(current|previous|\d{4}-\d{2}-\d{2})$")
]


class LeaderboardRequest(PageRequest):
    board: Id | None = Field(
        default=None,
        description="A leaderboard the catalog declares; without it, the built-in badge-count "
        "board (its v1 answer).",
    )
    period: BoardPeriod | None = Field(
        default=None,
        description='"current" (the default), "previous" or a date (YYYY-MM-DD) inside the '
        "period; with board only.",
    )

    @model_validator(mode="after")
    def _period_needs_board(self) -> Self:
        if self.period is not None and self.board is None:
            raise ValueError("period needs board: the built-in board has no periods")
        return self


class AroundMeRequest(Request):
    board: Id
    period: BoardPeriod | None = None
    radius: StrictInt = Field(default=5, ge=1, le=25)


Limit = Annotated[StrictInt, Field(ge=1, le=100)]
RowId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
PushToken = Annotated[
    StrictStr, StringConstraints(pattern=r"^Expo(nent)?PushToken\[[A-Za-z0-9_-]{1,200}\]$")
]


class IdsOrAll(Request):
    """Some rows by id, or all of them: exactly one of the two."""

    ids: Annotated[list[RowId], Field(min_length=1, max_length=MAX_IDS)] | None = None
    all: StrictBool = False

    @model_validator(mode="after")
    def _ids_or_all(self) -> Self:
        if (self.ids is None) == (not self.all):
            raise ValueError("send either ids (a non-empty list) or all: true")
        return self


class ShareRequest(Request):
    badge_id: Id


class ShareOpenedRequest(Request):
    share_id: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class NotificationsRequest(Request):
    unread_only: StrictBool = False
    limit: Limit = 20
    before: RowId | None = Field(default=None, description="The next_before of the previous page.")


class MarkReadRequest(IdsOrAll):
    pass


class FeedRequest(Request):
    limit: Limit = 20
    before: Cursor | None = Field(default=None, description="The next_before of the previous page.")


class BadgeRequest(Request):
    badge_id: Id


class BadgeHoldersRequest(Request):
    badge_id: Id
    limit: Limit = 20
    after: Cursor | None = Field(default=None, description="The next_after of the previous page.")


class PreferencesRequest(Request):
    feed_opt_out: StrictBool | None = Field(
        default=None, description="Omitted: read the preferences, change nothing."
    )
    profile_public: StrictBool | None = Field(
        default=None,
        description="false: other users get 404 unknown_user for the profile. Omitted: unchanged.",
    )


class ProfileRequest(Request):
    # Here user_id names whose profile to read, which may be anyone's: a read of what that user
    # made public, not an act on their data (actions.Action.names_any_user).
    user_id: UUID | None = Field(
        default=None,
        description="Whose profile: any user's id (a service must name one); omitted, the "
        "caller's own.",
    )
    limit: Limit = 20
    before: Cursor | None = Field(default=None, description="The next_before of the previous page.")


MAX_SHOWCASE = 5


def _distinct(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not name a badge twice")
    return ids


class ShowcaseRequest(Request):
    badge_ids: Annotated[
        list[Id],
        Field(max_length=MAX_SHOWCASE, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ] = Field(description="Earned badges to pin, in order; replaces the showcase ([]: unpin all).")


class RegisterPushTokenRequest(Request):
    token: PushToken
    platform: Literal["ios", "android", "web"] | None = None


class UnregisterPushTokenRequest(Request):
    token: PushToken


class DeliverRequest(Request):
    max_seconds: Annotated[StrictInt, Field(ge=1, le=MAX_DELIVERY_SECONDS)] = 50


class OutboxRequest(Request):
    status: Literal["pending", "delivered", "dead"] = "dead"
    limit: Limit = 20
    before: RowId | None = None


class RequeueRequest(IdsOrAll):
    pass
