"""Wire models of answers. Each mirrors what its SQL function returns; validating it here keeps
the contract honest when the SQL changes (extra="forbid": a field the SQL adds fails loudly)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _absent_when_none(value: Any) -> bool:
    return value is None


# A field that appears only where it applies (the SQL leaves it out elsewhere), so the shape of
# every other object stays as it was.
OPTIONAL: Any = Field(default=None, exclude_if=_absent_when_none)


class Badge(Response):
    id: str
    name: str
    description: str
    icon: str
    category: str
    tier: str
    rule: str
    threshold: int | None
    metric: str | None
    requires: list[str]
    hidden: bool
    starts_at: str | None
    ends_at: str | None
    label_key: str | None
    description_key: str | None
    within_days: int | None = OPTIONAL  # a dynamic badge's rolling window
    board: str | None = OPTIONAL  # a rank badge's leaderboard


class Progress(Response):
    current: int
    target: int


class Rarity(Response):
    earned_count: int
    earned_percent: float  # of every user the service has recorded anything for


class CatalogBadge(Badge):
    rarity: Rarity


class Placing(Response):
    period: str  # the first day of the period
    rank: int


class Placings(Response):
    """A rank badge's record: the finished periods its holder placed in, and the latest.
    None counts (times 0, latest null) for a badge a service awarded by hand, or once the
    catalog has lowered the badge's threshold below the holder's placings."""

    times: int
    latest: Placing | None


class ListedBadge(CatalogBadge):
    earned: bool
    earned_at: str | None
    progress: Progress | None
    placings: Placings | None = OPTIONAL  # rank badges the user holds


class MilestoneBadge(Response):
    id: str
    name: str
    icon: str
    tier: str


class Milestone(Response):
    category: str
    badge: MilestoneBadge
    current: int
    target: int
    remaining: int
    message: str


class AwardResponse(Response):
    awarded: bool
    badge: Badge
    earned_at: str


class ListResponse(Response):
    badges: list[ListedBadge]
    earned_count: int
    total_count: int
    hidden_count: int  # enabled hidden badges the user has not earned (not in badges)
    next: list[Milestone]


class ProgressResponse(Response):
    milestones: list[Milestone]


class TrackResponse(Response):
    metric: str
    total: int
    distinct_count: int
    awarded: list[str]
    duplicate: bool


class CheckBadgesResponse(Response):
    awarded: list[str]
    revoked: int


class BatchResponse(Response):
    awarded_count: int
    revoked_count: int


class DailyCheckResponse(BatchResponse):
    archived_periods: int  # leaderboard periods archived (and their rank badges awarded) first


class LevelInfo(Response):
    id: str
    name: str
    description: str


class LevelStep(Response):
    metric: str
    required: int
    current: int
    remaining: int


class LevelStatusResponse(Response):
    level: LevelInfo
    achieved: bool
    steps: list[LevelStep]


class StreakResponse(Response):
    current_streak: int
    longest_streak: int
    freezes_left: int
    frozen_days: list[str]  # ISO dates a freeze covered in the current streak, ascending
    awarded: list[str]


class StreakBatchResponse(Response):
    users_checked: int
    awarded_count: int
    freezes_used: int


class FreezesResponse(Response):
    freezes_left: int


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


class Leaderboard(Response):
    id: str
    name: str
    description: str
    metric: str
    period: str  # all_time | daily | weekly | monthly | season
    timezone: str
    week_start: int | None  # weekly boards: ISO day number, 1 = Monday
    starts_at: str | None  # season boards
    ends_at: str | None


class BoardPeriod(Response):
    start: str | None  # the period's first local day; null for all_time
    starts_at: str | None
    ends_at: str | None
    final: bool  # ended (five minutes ago): archived, the ranking will not change


class BoardEntry(Response):
    rank: int
    user_id: UUID
    value: int


class CatalogBoardResponse(Response):
    board: Leaderboard
    period: BoardPeriod
    entries: list[BoardEntry]
    me: BoardEntry | None
    total: int
    next_after: str | None  # the cursor of the next page; null on the last one


class AroundMeResponse(Response):
    board: Leaderboard
    period: BoardPeriod
    entries: list[BoardEntry]  # the caller's entry with up to radius entries on each side
    me: BoardEntry | None
    total: int


class BadgeBoardResponse(Response):
    entries: list[BadgeBoardEntry]
    me: BadgeBoardEntry | None
    total: int
    next_after: str | None  # the cursor of the next page; null on the last one


class ScoreBoardResponse(Response):
    entries: list[ScoreBoardEntry]
    me: ScoreBoardEntry | None
    total: int
    next_after: str | None  # the cursor of the next page; null on the last one


class RevokeResponse(Response):
    revoked: bool


class Provider(Response):
    id: str
    name: str


class MetricInfo(Response):
    id: str
    name: str
    description: str
    unit: str
    unit_one: str


class CatalogResponse(Response):
    badges: list[CatalogBadge]
    providers: list[Provider]
    metrics: list[MetricInfo]
    leaderboards: list[Leaderboard]


class ShareResponse(Response):
    share_id: str
    badge_id: str


class ShareOpenedResponse(Response):
    counted: bool


class InboxNotification(Response):
    id: int
    type: str
    badge_id: str | None
    message: str
    created_at: str
    read: bool


class InboxResponse(Response):
    notifications: list[InboxNotification]
    unread_count: int
    next_before: int | None


class MarkReadResponse(Response):
    marked: int
    unread_count: int


class FeedBadge(Response):
    id: str
    name: str
    icon: str
    tier: str
    category: str


class FeedEntry(Response):
    user_id: UUID
    badge: FeedBadge
    earned_at: str
    text: str


class FeedResponse(Response):
    entries: list[FeedEntry]
    next_before: str | None


class BadgeState(Response):
    """The caller's state of one badge: as a list entry has it."""

    earned: bool
    earned_at: str | None
    progress: Progress | None
    placings: Placings | None = OPTIONAL  # a rank badge the user holds


class BadgeResponse(Response):
    badge: CatalogBadge
    me: BadgeState | None  # null for a service that named no user


class Holder(Response):
    user_id: UUID
    earned_at: str


class BadgeHoldersResponse(Response):
    entries: list[Holder]
    next_after: str | None  # the cursor of the next page; null on the last one


class PreferencesResponse(Response):
    feed_opt_out: bool
    profile_public: bool


class ProfileBadge(Response):
    badge: FeedBadge
    earned_at: str


class LevelName(Response):
    id: str
    name: str


class ProfileResponse(Response):
    user_id: UUID
    badge_count: int
    level: LevelName | None  # the current level (current_level's current)
    showcase: list[ProfileBadge]
    badges: list[ProfileBadge]  # one page, newest first
    next_before: str | None  # the cursor of the next page; null on the last one


class ShowcaseResponse(Response):
    showcase: list[ProfileBadge]


class NextLevel(LevelInfo):
    steps: list[LevelStep]


class CurrentLevelResponse(Response):
    current: LevelInfo | None
    next: NextLevel | None


class PushTokenResponse(Response):
    registered: bool
    token_count: int


class PushTokenRemovedResponse(Response):
    removed: bool


class DeliveryResponse(Response):
    delivered: int
    failed: int
    dead: int


class OutboxRow(Response):
    id: int
    dedupe_key: str
    user_id: UUID
    badge_id: str | None
    status: str
    attempts: int
    last_error: str | None
    delivered_channels: list[str]
    created_at: str
    last_attempt_at: str | None
    next_attempt_at: str


class OutboxResponse(Response):
    notifications: list[OutboxRow]
    next_before: int | None


class RequeueResponse(Response):
    requeued: int
