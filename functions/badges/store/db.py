"""BadgesDb: one typed method per SQL function the function calls, over any Store.

This is the one place that names SQL functions and their parameters, so both stores send the
same calls. Every method is one call of one SQL function: one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from badges.errors import Internal
from badges.store import Store

JsonObject = dict[str, Any]
# The award a feed page starts after: (earned_at, user_id, badge_id).
FeedKey = tuple[datetime, UUID, str]
# Where a leaderboard page starts: after the entry with this (value, reached at, user id).
BoardKey = tuple[int, datetime, UUID]
# Where a page of a badge's holders starts: after the holder with this (earned_at, user id).
HolderKey = tuple[datetime, UUID]
# The badge a profile page starts after: (earned_at, badge_id).
ProfileKey = tuple[datetime, str]


@dataclass(frozen=True)
class MetricEvent:
    """One `track` call's event: what to add to which metric, and how to recognise a repeat."""

    metric: str
    amount: int = 1
    item: str | None = None
    idempotency_key: str | None = None
    occurred_at: datetime | None = None  # service callers only: dates the event and its awards


@dataclass(frozen=True)
class BoardPage:
    """Which page of a leaderboard: limit entries from offset, or after the entry of a cursor."""

    limit: int
    offset: int = 0
    after: BoardKey | None = None


class BadgesDb:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _call(self, function: str, **params: Any) -> Any:
        return self.store.call(function, {k: _wire(v) for k, v in params.items()})

    def _object(self, function: str, **params: Any) -> JsonObject:
        result = self._call(function, **params)
        if not isinstance(result, dict):
            raise Internal(f"badges.{function} returned {type(result).__name__}, not an object.")
        return result

    def ping(self) -> bool:
        return bool(self._call("ping"))

    def award_badge(self, user_id: UUID, badge_id: str, *, client: bool) -> JsonObject:
        return self._object("award_badge", p_user_id=user_id, p_badge_id=badge_id, p_client=client)

    def revoke_badge(
        self, user_id: UUID, badge_id: str, reason: str, revoked_by: str
    ) -> JsonObject:
        return self._object(
            "revoke_badge",
            p_user_id=user_id,
            p_badge_id=badge_id,
            p_reason=reason,
            p_revoked_by=revoked_by,
        )

    def record_activity(self, user_id: UUID, timezone: str | None) -> JsonObject:
        return self._object("record_activity", p_user_id=user_id, p_timezone=timezone, p_at=None)

    def record_score(self, user_id: UUID, provider_id: str, quiz_correct: bool) -> JsonObject:
        return self._object(
            "record_score",
            p_user_id=user_id,
            p_provider_id=provider_id,
            p_quiz_correct=quiz_correct,
        )

    def check_streaks(self, user_id: UUID) -> JsonObject:
        return self._object("check_streaks", p_user_id=user_id)

    def check_streaks_all(self) -> JsonObject:
        return self._object("check_streaks_all")

    def grant_freezes(self, user_id: UUID, count: int) -> JsonObject:
        return self._object("grant_freezes", p_user_id=user_id, p_count=count)

    def check_quiz_master(self, user_id: UUID) -> JsonObject:
        return self._object("check_quiz_master", p_user_id=user_id)

    def list_badges(self, user_id: UUID) -> JsonObject:
        return self._object("list_badges", p_user_id=user_id)

    def get_catalog(self) -> JsonObject:
        return self._object("get_catalog")

    def get_badge(self, user_id: UUID | None, badge_id: str) -> JsonObject:
        """One badge with its rarity, and user_id's state of it (None: no personal part)."""
        return self._object("get_badge", p_user_id=user_id, p_badge_id=badge_id)

    def badge_holders(
        self, viewer: UUID | None, badge_id: str, limit: int, after: HolderKey | None = None
    ) -> JsonObject:
        """The public holders of a badge, newest first, as viewer (None: a service) may see."""
        at, after_user = after or (None, None)
        return self._object(
            "badge_holders",
            p_user_id=viewer,
            p_badge_id=badge_id,
            p_limit=limit,
            p_after_at=at,
            p_after_user=after_user,
        )

    def leaderboard(
        self, user_id: UUID | None, limit: int, offset: int, after: BoardKey | None = None
    ) -> JsonObject:
        return self._board("leaderboard", user_id, limit, offset, after)

    def score_leaderboard(
        self, user_id: UUID | None, limit: int, offset: int, after: BoardKey | None = None
    ) -> JsonObject:
        return self._board("score_leaderboard", user_id, limit, offset, after)

    def board_leaderboard(
        self, user_id: UUID | None, board: str, period: str | None, page: BoardPage
    ) -> JsonObject:
        """One page of a leaderboard the catalog declares, in the period asked for."""
        value, at, after_user = page.after or (None, None, None)
        return self._object(
            "board_leaderboard",
            p_user_id=user_id,
            p_board_id=board,
            p_period=period,
            p_limit=page.limit,
            p_offset=page.offset,
            p_after_value=value,
            p_after_at=at,
            p_after_user=after_user,
        )

    def around_me(self, user_id: UUID, board: str, period: str | None, radius: int) -> JsonObject:
        return self._object(
            "around_me", p_user_id=user_id, p_board_id=board, p_period=period, p_radius=radius
        )

    def archive_boards(self) -> int:
        """Archive every final leaderboard period not archived yet; how many were."""
        return int(self._call("archive_boards"))

    def _board(
        self, function: str, user_id: UUID | None, limit: int, offset: int, after: BoardKey | None
    ) -> JsonObject:
        value, at, after_user = after or (None, None, None)
        return self._object(
            function,
            p_user_id=user_id,
            p_limit=limit,
            p_offset=offset,
            p_after_value=value,
            p_after_at=at,
            p_after_user=after_user,
        )

    def take_rate_token(self, user_id: UUID, bucket: str, burst: int, per_minute: int) -> float:
        return float(
            self._call(
                "take_rate_token",
                p_user_id=user_id,
                p_bucket=bucket,
                p_burst=burst,
                p_per_minute=per_minute,
            )
        )

    def track(self, user_id: UUID, event: MetricEvent, *, client: bool) -> JsonObject:
        return self._object(
            "track",
            p_user_id=user_id,
            p_metric=event.metric,
            p_amount=event.amount,
            p_client=client,
            p_item=event.item,
            p_idempotency_key=event.idempotency_key,
            p_at=event.occurred_at,
        )

    def check_badges(self, user_id: UUID) -> JsonObject:
        return self._object("check_badges", p_user_id=user_id)

    def check_badges_all(self, badge_id: str | None, *, notify: bool, revoke: bool) -> JsonObject:
        # p_at (the check run as of another instant) is for tests and replays, as in
        # record_activity: the function always checks as of now.
        return self._object(
            "check_badges_all", p_badge_id=badge_id, p_notify=notify, p_revoke=revoke, p_at=None
        )

    def progress(self, user_id: UUID) -> JsonObject:
        return self._object("progress", p_user_id=user_id)

    def level_status(self, user_id: UUID, level: str) -> JsonObject:
        return self._object("level_status", p_user_id=user_id, p_level=level)

    def claim_notifications(
        self, limit: int, lease_seconds: int, max_attempts: int, user_id: UUID | None
    ) -> JsonObject:
        return self._object(
            "claim_notifications",
            p_limit=limit,
            p_lease_seconds=lease_seconds,
            p_max_attempts=max_attempts,
            p_user_id=user_id,
        )

    def finish_notifications(
        self,
        token: str,
        results: list[JsonObject],
        max_attempts: int,
        backoff_seconds: float,
        max_backoff_seconds: float,
    ) -> JsonObject:
        return self._object(
            "finish_notifications",
            p_token=token,
            p_results=results,
            p_max_attempts=max_attempts,
            p_backoff_seconds=backoff_seconds,
            p_max_backoff_seconds=max_backoff_seconds,
        )

    def outbox_rows(self, status: str, limit: int, before: int | None) -> JsonObject:
        return self._object("outbox_rows", p_status=status, p_limit=limit, p_before=before)

    def requeue_notifications(self, ids: list[int] | None) -> JsonObject:
        return self._object("requeue_notifications", p_ids=ids)

    def inbox(
        self, user_id: UUID, *, unread_only: bool, limit: int, before: int | None
    ) -> JsonObject:
        return self._object(
            "inbox", p_user_id=user_id, p_unread_only=unread_only, p_limit=limit, p_before=before
        )

    def mark_notifications_read(self, user_id: UUID, ids: list[int] | None) -> JsonObject:
        """ids None marks every one."""
        return self._object(
            "mark_notifications_read", p_user_id=user_id, p_ids=ids or [], p_all=ids is None
        )

    def feed(self, limit: int, before: FeedKey | None) -> JsonObject:
        at, user_id, badge_id = before or (None, None, None)
        return self._object(
            "feed",
            p_limit=limit,
            p_before_at=at,
            p_before_user=user_id,
            p_before_badge=badge_id,
        )

    def preferences(
        self, user_id: UUID, feed_opt_out: bool | None, profile_public: bool | None = None
    ) -> JsonObject:
        """None leaves a preference as it is."""
        return self._object(
            "preferences",
            p_user_id=user_id,
            p_feed_opt_out=feed_opt_out,
            p_profile_public=profile_public,
        )

    def profile(
        self, viewer: UUID | None, user_id: UUID, limit: int, before: ProfileKey | None = None
    ) -> JsonObject:
        """user_id's profile as viewer sees it (None: a service caller)."""
        at, badge_id = before or (None, None)
        return self._object(
            "profile",
            p_viewer=viewer,
            p_user_id=user_id,
            p_limit=limit,
            p_before_at=at,
            p_before_badge=badge_id,
        )

    def set_showcase(self, user_id: UUID, badge_ids: list[str]) -> JsonObject:
        return self._object("set_showcase", p_user_id=user_id, p_badge_ids=badge_ids)

    def current_level(self, user_id: UUID) -> JsonObject:
        return self._object("current_level", p_user_id=user_id)

    def register_push_token(
        self, user_id: UUID, token: str, platform: str | None, *, take_over: bool = False
    ) -> JsonObject:
        return self._object(
            "register_push_token",
            p_user_id=user_id,
            p_token=token,
            p_platform=platform,
            p_take_over=take_over,
        )

    def unregister_push_token(self, user_id: UUID, token: str) -> JsonObject:
        return self._object("unregister_push_token", p_user_id=user_id, p_token=token)

    def create_share(self, user_id: UUID, badge_id: str) -> JsonObject:
        return self._object("create_share", p_user_id=user_id, p_badge_id=badge_id)

    def open_share(self, opener_id: UUID, share_id: str) -> JsonObject:
        return self._object("open_share", p_opener_id=opener_id, p_share_id=share_id)

    def consistency_report(self) -> JsonObject:
        return self._object("consistency_report")

    def sync_catalog(self, payload: Mapping[str, Any]) -> JsonObject:
        """Write the catalog (Catalog.sync_payload: badges, providers, metrics, levels,
        streak_freezes, leaderboards) in one call."""
        return self._object("sync_catalog", p_catalog=dict(payload))


def _wire(value: Any) -> Any:
    """Parameters travel as JSON (PostgREST) or typed values (psycopg): UUIDs and datetimes as
    strings (ISO 8601, which both PostgREST and PostgreSQL read as timestamptz)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value
