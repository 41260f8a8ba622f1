"""Wire models of answers. Each mirrors what its SQL function returns; validating it here keeps
the contract honest when the SQL changes (extra="forbid": a field the SQL adds fails loudly)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict


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
    metric: str | None
    requires: list[str]
    hidden: bool
    starts_at: str | None
    ends_at: str | None
    label_key: str | None
    description_key: str | None


class Progress(Response):
    current: int
    target: int


class Rarity(Response):
    earned_count: int
    earned_percent: float  # of every user the service has recorded anything for


class CatalogBadge(Badge):
    rarity: Rarity


class ListedBadge(CatalogBadge):
    earned: bool
    earned_at: str | None
    progress: Progress | None


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


class CatalogResponse(Response):
    badges: list[CatalogBadge]
    providers: list[Provider]


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
