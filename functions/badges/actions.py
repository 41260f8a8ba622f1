"""The actions: a table from name to request model, handler and who may call it.

dispatch() is the whole flow after authentication: look the action up, check the caller may
call it, validate the request, resolve whose data it acts on, apply the client write limit,
run the handler (one SQL function call) and validate the answer.
The handlers live with the table; what they call is in store/db.py and, below it, in SQL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import ValidationError

from badges import cursor
from badges import models as m
from badges import responses as r
from badges.auth import Caller
from badges.delivery.worker import Deliverer
from badges.errors import Forbidden, InvalidRequest, RateLimited, UnknownAction
from badges.settings import Settings
from badges.store.db import BadgesDb, BoardKey, BoardPage, MetricEvent

R = TypeVar("R", bound=m.Request)
# BadgesDb.leaderboard or .score_leaderboard: (viewer, limit, offset, after) → the page.
BoardReader = Callable[[UUID | None, int, int, BoardKey | None], dict[str, Any]]

RATE_BUCKET = "client_writes"


@dataclass(frozen=True)
class Context:
    db: BadgesDb
    settings: Settings
    deliverer: Deliverer


@dataclass(frozen=True)
class Outcome:
    """An action's answer, and what to do once it has been sent (None: nothing)."""

    body: dict[str, Any]
    after_response: Callable[[], object] | None = None


@dataclass(frozen=True)
class Call(Generic[R]):
    caller: Caller
    request: R

    def user(self) -> UUID:
        """The user acted on: the caller, or whom a service caller names."""
        user_id = self.request.user_id or self.caller.user_id
        if user_id is None:
            raise InvalidRequest("user_id is required when a service calls this action.")
        return user_id

    def viewer(self) -> UUID | None:
        """The user whose own entry a read may include; None for an anonymous service read."""
        return self.request.user_id or self.caller.user_id


Handler = Callable[[Context, Call[Any]], r.Response]


@dataclass(frozen=True)
class Action:
    request: type[m.Request]
    handler: Handler
    service_only: bool = False
    client_write: bool = False  # a write a user's client may call: rate limited per user
    # user_id may name any user: the action reads what that user made public (their profile),
    # and the SQL function decides what the caller may see of it.
    names_any_user: bool = False


def award(ctx: Context, call: Call[m.AwardRequest]) -> r.AwardResponse:
    """Award a badge to the user (a user may award only badges whose rule is client)."""
    result = ctx.db.award_badge(
        call.user(), call.request.badge_id, client=not call.caller.is_service
    )
    return r.AwardResponse.model_validate(result)


def revoke(ctx: Context, call: Call[m.RevokeRequest]) -> r.RevokeResponse:
    """Take a badge back from the user, with the reason recorded."""
    result = ctx.db.revoke_badge(
        call.user(), call.request.badge_id, call.request.reason, revoked_by="service_role"
    )
    return r.RevokeResponse.model_validate(result)


def list_badges(ctx: Context, call: Call[m.Empty]) -> r.ListResponse:
    """Every badge with whether the user earned it, their progress and next milestones."""
    return r.ListResponse.model_validate(ctx.db.list_badges(call.user()))


def record_activity(ctx: Context, call: Call[m.RecordActivityRequest]) -> r.StreakResponse:
    """Record that the user was active today (in their time zone) and award streak badges due."""
    return r.StreakResponse.model_validate(
        ctx.db.record_activity(call.user(), call.request.timezone)
    )


def check_streaks(
    ctx: Context, call: Call[m.CheckStreaksRequest]
) -> r.StreakResponse | r.StreakBatchResponse:
    """The user's streaks, awarding streak badges due; with all: true (service), every user's."""
    if not call.request.all:
        return r.StreakResponse.model_validate(ctx.db.check_streaks(call.user()))
    if not call.caller.is_service:
        raise Forbidden("Only a service caller may check the streaks of all users.")
    return r.StreakBatchResponse.model_validate(ctx.db.check_streaks_all())


def grant_freezes(ctx: Context, call: Call[m.GrantFreezesRequest]) -> r.FreezesResponse:
    """Give the user streak freezes (not capped by the catalog's max_held)."""
    return r.FreezesResponse.model_validate(ctx.db.grant_freezes(call.user(), call.request.count))


def record_score(ctx: Context, call: Call[m.RecordScoreRequest]) -> r.ScoreResponse:
    """Record a quiz answer for a provider and award the quiz badges due."""
    result = ctx.db.record_score(call.user(), call.request.provider_id, call.request.quiz_correct)
    return r.ScoreResponse.model_validate(result)


def check_quiz_master(ctx: Context, call: Call[m.Empty]) -> r.QuizMasterResponse:
    """The user's quiz totals, awarding the quiz badges due."""
    return r.QuizMasterResponse.model_validate(ctx.db.check_quiz_master(call.user()))


def leaderboard(
    ctx: Context, call: Call[m.LeaderboardRequest]
) -> r.BadgeBoardResponse | r.CatalogBoardResponse:
    """One page of a leaderboard the catalog declares (board), in a period, with the caller's
    own entry; without board, users ranked by badge count (the built-in board)."""
    req = call.request
    if req.board is None:
        return r.BadgeBoardResponse.model_validate(_board_page(ctx.db.leaderboard, call))
    after = cursor.decode_board(req.after) if req.after is not None else None
    page = BoardPage(req.limit, req.offset, after)
    result = ctx.db.board_leaderboard(call.viewer(), req.board, req.period, page)
    next_after = cursor.encode_board(result["next_after"])
    return r.CatalogBoardResponse.model_validate({**result, "next_after": next_after})


def around_me(ctx: Context, call: Call[m.AroundMeRequest]) -> r.AroundMeResponse:
    """The user's entry on a leaderboard with the entries just above and below it."""
    req = call.request
    result = ctx.db.around_me(call.user(), req.board, req.period, req.radius)
    return r.AroundMeResponse.model_validate(result)


def score_leaderboard(ctx: Context, call: Call[m.PageRequest]) -> r.ScoreBoardResponse:
    """Users ranked by correct quiz answers, one page, with the caller's own entry."""
    return r.ScoreBoardResponse.model_validate(_board_page(ctx.db.score_leaderboard, call))


def _board_page(read: BoardReader, call: Call[Any]) -> dict[str, Any]:
    page = call.request
    after = cursor.decode_board(page.after) if page.after is not None else None
    result = read(call.viewer(), page.limit, page.offset, after)
    return {**result, "next_after": cursor.encode_board(result["next_after"])}


def catalog(ctx: Context, call: Call[m.Empty]) -> r.CatalogResponse:
    """The badge catalog with rarity, and the quiz providers."""
    return r.CatalogResponse.model_validate(ctx.db.get_catalog())


def badge(ctx: Context, call: Call[m.BadgeRequest]) -> r.BadgeResponse:
    """One badge with its rarity, and whether the user earned it and their progress (a hidden
    badge only for a user who earned it)."""
    return r.BadgeResponse.model_validate(ctx.db.get_badge(call.viewer(), call.request.badge_id))


def badge_holders(ctx: Context, call: Call[m.BadgeHoldersRequest]) -> r.BadgeHoldersResponse:
    """Users with a public profile who hold a badge, newest first, one page."""
    req = call.request
    after = cursor.decode_holders(req.after) if req.after is not None else None
    page = ctx.db.badge_holders(call.viewer(), req.badge_id, req.limit, after)
    next_after = cursor.encode_holders(page["next_after"])
    return r.BadgeHoldersResponse.model_validate({**page, "next_after": next_after})


def track(ctx: Context, call: Call[m.TrackRequest]) -> r.TrackResponse:
    """Add to one of the user's metrics and award the badges its rules make due."""
    req = call.request
    if req.occurred_at is not None and not call.caller.is_service:
        raise Forbidden("Only a service caller may date an event (occurred_at).")
    event = MetricEvent(req.metric, req.amount, req.item, req.idempotency_key, req.occurred_at)
    result = ctx.db.track(call.user(), event, client=not call.caller.is_service)
    return r.TrackResponse.model_validate(result)


def check_badges(
    ctx: Context, call: Call[m.CheckBadgesRequest]
) -> r.CheckBadgesResponse | r.DailyCheckResponse:
    """Award the user's automatic badges due; with all: true (service), every user's (and
    remove lapsed auto_revoke badges)."""
    if not call.request.all:
        return r.CheckBadgesResponse.model_validate(ctx.db.check_badges(call.user()))
    if not call.caller.is_service:
        raise Forbidden("Only a service caller may check the badges of all users.")
    return r.DailyCheckResponse.model_validate(daily_check(ctx.db))


def daily_check(db: BadgesDb) -> dict[str, Any]:
    """The daily batch (also `badges check-badges`): archive the leaderboard periods that
    ended, whose rank badges are announced like any award, then every user's automatic badges."""
    archived = db.archive_boards()
    return {**db.check_badges_all(None, notify=True, revoke=True), "archived_periods": archived}


def backfill(ctx: Context, call: Call[m.BackfillRequest]) -> r.BatchResponse:
    """Award a new or changed badge (or every automatic one) to every user who already qualifies."""
    req = call.request
    result = ctx.db.check_badges_all(req.badge_id, notify=req.notify, revoke=False)
    return r.BatchResponse.model_validate(result)


def progress(ctx: Context, call: Call[m.Empty]) -> r.ProgressResponse:
    """The user's next milestone in each badge category."""
    return r.ProgressResponse.model_validate(ctx.db.progress(call.user()))


def level_status(ctx: Context, call: Call[m.LevelStatusRequest]) -> r.LevelStatusResponse:
    """Whether the user reached a level, and what each of its steps still needs."""
    result = ctx.db.level_status(call.user(), call.request.level)
    return r.LevelStatusResponse.model_validate(result)


def share(ctx: Context, call: Call[m.ShareRequest]) -> r.ShareResponse:
    """Record that the user shared an earned badge: a share id to put in the link."""
    return r.ShareResponse.model_validate(ctx.db.create_share(call.user(), call.request.badge_id))


def share_opened(ctx: Context, call: Call[m.ShareOpenedRequest]) -> r.ShareOpenedResponse:
    """Count a share link opened by another user (the sharer earns social badges)."""
    if call.caller.is_anonymous and not ctx.settings.share_allow_anonymous:
        raise Forbidden("An anonymous sign-in cannot open a share: sign in with an account first.")
    result = ctx.db.open_share(call.user(), call.request.share_id)
    return r.ShareOpenedResponse.model_validate(result)


def notifications(ctx: Context, call: Call[m.NotificationsRequest]) -> r.InboxResponse:
    """The user's in-app notifications, newest first, one page."""
    req = call.request
    result = ctx.db.inbox(
        call.user(), unread_only=req.unread_only, limit=req.limit, before=req.before
    )
    return r.InboxResponse.model_validate(result)


def mark_notifications_read(ctx: Context, call: Call[m.MarkReadRequest]) -> r.MarkReadResponse:
    """Mark some of the user's notifications (ids), or all of them, read."""
    result = ctx.db.mark_notifications_read(call.user(), call.request.ids)
    return r.MarkReadResponse.model_validate(result)


def feed(ctx: Context, call: Call[m.FeedRequest]) -> r.FeedResponse:
    """Recent awards of users who did not opt out of the feed, newest first, one page."""
    req = call.request
    before = cursor.decode(req.before) if req.before is not None else None
    page = ctx.db.feed(req.limit, before)
    entries = page["entries"]
    last = cursor.encode(entries[-1]) if page["more"] and entries else None
    return r.FeedResponse.model_validate({"entries": entries, "next_before": last})


def preferences(ctx: Context, call: Call[m.PreferencesRequest]) -> r.PreferencesResponse:
    """Read the user's preferences, or set feed_opt_out and profile_public."""
    req = call.request
    result = ctx.db.preferences(call.user(), req.feed_opt_out, req.profile_public)
    return r.PreferencesResponse.model_validate(result)


def profile(ctx: Context, call: Call[m.ProfileRequest]) -> r.ProfileResponse:
    """A user's public profile (any user's, unless they opted out): earned non-hidden badges,
    newest first, one page; the showcase, current level and badge count."""
    req = call.request
    before = cursor.decode_profile(req.before) if req.before is not None else None
    page = ctx.db.profile(call.caller.user_id, call.user(), req.limit, before)
    badges = page.pop("badges")
    last = cursor.encode_profile(badges[-1]) if page.pop("more") and badges else None
    return r.ProfileResponse.model_validate({**page, "badges": badges, "next_before": last})


def showcase(ctx: Context, call: Call[m.ShowcaseRequest]) -> r.ShowcaseResponse:
    """Pin up to 5 earned badges in order, replacing the showcase ([] unpins all)."""
    result = ctx.db.set_showcase(call.user(), list(call.request.badge_ids))
    return r.ShowcaseResponse.model_validate(result)


def current_level(ctx: Context, call: Call[m.Empty]) -> r.CurrentLevelResponse:
    """The highest level the user meets, and the next one with what each step still needs."""
    return r.CurrentLevelResponse.model_validate(ctx.db.current_level(call.user()))


def register_push_token(
    ctx: Context, call: Call[m.RegisterPushTokenRequest]
) -> r.PushTokenResponse:
    """Register an Expo push token of the user's device (a token another user holds: 409,
    unless a service caller moves it)."""
    req = call.request
    result = ctx.db.register_push_token(
        call.user(), req.token, req.platform, take_over=call.caller.is_service
    )
    return r.PushTokenResponse.model_validate(result)


def unregister_push_token(
    ctx: Context, call: Call[m.UnregisterPushTokenRequest]
) -> r.PushTokenRemovedResponse:
    """Remove an Expo push token of the user's device."""
    result = ctx.db.unregister_push_token(call.user(), call.request.token)
    return r.PushTokenRemovedResponse.model_validate(result)


def deliver_notifications(ctx: Context, call: Call[m.DeliverRequest]) -> r.DeliveryResponse:
    """Send due notifications to the configured channels (the scheduled job)."""
    counts = ctx.deliverer.deliver_due(max_seconds=call.request.max_seconds)
    return r.DeliveryResponse.model_validate(counts.as_json())


def outbox(ctx: Context, call: Call[m.OutboxRequest]) -> r.OutboxResponse:
    """Outbox rows by status (dead letters by default), newest first, one page."""
    req = call.request
    return r.OutboxResponse.model_validate(ctx.db.outbox_rows(req.status, req.limit, req.before))


def requeue_notifications(ctx: Context, call: Call[m.RequeueRequest]) -> r.RequeueResponse:
    """Send dead outbox rows (some by id, or all of them) again."""
    return r.RequeueResponse.model_validate(ctx.db.requeue_notifications(call.request.ids))


ACTIONS: dict[str, Action] = {
    "award": Action(m.AwardRequest, award, client_write=True),
    "list": Action(m.Empty, list_badges),
    "record_activity": Action(m.RecordActivityRequest, record_activity, client_write=True),
    "check_streaks": Action(m.CheckStreaksRequest, check_streaks),
    "grant_freezes": Action(m.GrantFreezesRequest, grant_freezes, service_only=True),
    "record_score": Action(m.RecordScoreRequest, record_score, client_write=True),
    "check_quiz_master": Action(m.Empty, check_quiz_master),
    "leaderboard": Action(m.LeaderboardRequest, leaderboard),
    "around_me": Action(m.AroundMeRequest, around_me),
    "score_leaderboard": Action(m.PageRequest, score_leaderboard),
    "revoke": Action(m.RevokeRequest, revoke, service_only=True),
    "catalog": Action(m.Empty, catalog),
    "badge": Action(m.BadgeRequest, badge),
    "badge_holders": Action(m.BadgeHoldersRequest, badge_holders),
    "track": Action(m.TrackRequest, track, client_write=True),
    "check_badges": Action(m.CheckBadgesRequest, check_badges),
    "backfill": Action(m.BackfillRequest, backfill, service_only=True),
    "progress": Action(m.Empty, progress),
    "level_status": Action(m.LevelStatusRequest, level_status),
    "share": Action(m.ShareRequest, share, client_write=True),
    "share_opened": Action(m.ShareOpenedRequest, share_opened, client_write=True),
    "notifications": Action(m.NotificationsRequest, notifications),
    "mark_notifications_read": Action(m.MarkReadRequest, mark_notifications_read),
    "feed": Action(m.FeedRequest, feed),
    "preferences": Action(m.PreferencesRequest, preferences, client_write=True),
    "profile": Action(m.ProfileRequest, profile, names_any_user=True),
    "showcase": Action(m.ShowcaseRequest, showcase, client_write=True),
    "current_level": Action(m.Empty, current_level),
    "register_push_token": Action(m.RegisterPushTokenRequest, register_push_token),
    "unregister_push_token": Action(m.UnregisterPushTokenRequest, unregister_push_token),
    "deliver_notifications": Action(m.DeliverRequest, deliver_notifications, service_only=True),
    "outbox": Action(m.OutboxRequest, outbox, service_only=True),
    "requeue_notifications": Action(m.RequeueRequest, requeue_notifications, service_only=True),
}


def dispatch(ctx: Context, caller: Caller, body: dict[str, Any]) -> Outcome:
    action = _lookup(body.get("action"))
    if action.service_only and not caller.is_service:
        raise Forbidden("Only a service caller may call this action.")
    # Whose data first: a user naming another user is refused whatever else the body holds.
    # (Without a user_id in the body there is nothing to check, and nothing to parse twice.)
    if (
        not caller.is_service
        and not action.names_any_user
        and "user_id" in body
        and _parse(m.Request, body).user_id not in (None, caller.user_id)
    ):
        raise Forbidden("A user may act only on their own data.")
    call = Call(caller, _parse(action.request, body))
    if action.client_write and not caller.is_service:
        _take_rate_token(ctx, call.user())
    answer = action.handler(ctx, call)
    return Outcome(answer.model_dump(mode="json"), _announce(ctx, call, answer))


def _announce(ctx: Context, call: Call[Any], answer: r.Response) -> Callable[[], object] | None:
    """After a request that awarded: one short delivery attempt of the user's new outbox rows,
    once the response is out (the scheduled job delivers whatever this misses)."""
    awarded = getattr(answer, "awarded", None)  # a bool (award) or a list of badge ids
    if not awarded or not ctx.settings.immediate_delivery or not ctx.deliverer.channels:
        return None
    user, timeout = call.user(), ctx.settings.immediate_timeout
    return lambda: ctx.deliverer.deliver_user_now(user, timeout)


def _lookup(name: object) -> Action:
    action = ACTIONS.get(name) if isinstance(name, str) else None
    if action is None:
        said = f"{name!r} is not one of ours" if isinstance(name, str) else "action is missing"
        raise UnknownAction(f"Unknown action: {said}.", details={"known": sorted(ACTIONS)})
    return action


def _parse(model: type[m.Request], body: dict[str, Any]) -> m.Request:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise InvalidRequest(f"Invalid {where}: {first['msg']}.", details=errors) from None


def _take_rate_token(ctx: Context, user_id: UUID) -> None:
    limits = ctx.settings
    if not limits.rate_limited:
        return
    wait = ctx.db.take_rate_token(
        user_id, RATE_BUCKET, limits.rate_limit_burst, limits.rate_limit_per_minute
    )
    if wait > 0:
        raise RateLimited("Too many writes; slow down.", retry_after=max(1, math.ceil(wait)))
