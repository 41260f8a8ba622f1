"""The demo's users and their activity, written through the real actions as the app's backend
would write it (a service token), so every screen of the web demo has something to show: badges
earned and locked, a hidden one earned, progress, levels, quiz answers, an inbox, a feed, and
events dated last week for the leaderboards' previous periods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# One call of the function as a service: the action's body (with user_id) → the answer.
Call = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    # Metric totals counted now, and the part of them dated a week ago.
    totals: dict[str, int] = field(default_factory=dict)
    last_week: dict[str, int] = field(default_factory=dict)
    quiz_right: tuple[str, ...] = ()
    shared: bool = False
    active_today: bool = False
    showcase: tuple[str, ...] = ()
    inbox_read: bool = False


USERS = (
    DemoUser(
        "0a0d0a00-0000-4000-8000-000000000001",
        "Ada Lovelace",
        totals={"project_created": 15, "interaction": 100, "journey_entry": 12},
        last_week={"interaction": 20, "contribution_approved": 2},
        quiz_right=("javascript", "python"),
        shared=True,
        active_today=True,
        showcase=("project_enthusiast", "all_rounder", "social_freak"),
    ),
    DemoUser(
        "06a0ce00-0000-4000-8000-000000000002",
        "Grace Hopper",
        totals={"project_created": 22, "interaction": 45, "contribution_approved": 11},
        last_week={"project_created": 10, "journey_entry": 3},
        quiz_right=("javascript", "python", "sql"),
        active_today=True,
        showcase=("project_pro", "collab_guru", "polyglot"),
        inbox_read=True,
    ),
    DemoUser(
        "011a05a0-0000-4000-8000-000000000003",
        "Linus Torvalds",
        totals={"project_created": 6, "interaction": 12},
        last_week={"interaction": 30},
        quiz_right=("sql",),
    ),
    DemoUser(
        "0ca7e000-0000-4000-8000-000000000004",
        "Katherine Johnson",
        totals={"journey_entry": 55, "interaction": 15},
        shared=True,
        showcase=("storyteller",),
    ),
    DemoUser(
        "0a1a0a00-0000-4000-8000-000000000005",
        "Margaret Hamilton",
        totals={"project_created": 1, "journey_entry": 1},
    ),
    DemoUser("0714a000-0000-4000-8000-000000000006", "Tim Berners-Lee", totals={"interaction": 4}),
)


def seeded(call: Call) -> bool:
    """Whether the demo users are there already (the demo's database is kept across runs)."""
    return int(call({"action": "list", "user_id": USERS[0].id})["earned_count"]) > 0


def seed(call: Call, now: datetime | None = None) -> None:
    """Every demo user's activity, in the order an app would report it."""
    week_ago = ((now or datetime.now(UTC)) - timedelta(days=7)).isoformat()
    for user in USERS:
        for metric, amount in user.last_week.items():
            call(_track(user, metric, amount, occurred_at=week_ago))
        for metric, amount in user.totals.items():
            call(_track(user, metric, amount))
        for provider in user.quiz_right:
            call(_as(user, action="record_score", provider_id=provider, quiz_correct=True))
        if user.shared:
            call(_as(user, action="award", badge_id="show_off"))
        if user.active_today:
            call(_as(user, action="record_activity", timezone="UTC"))
        if user.showcase:
            call(_as(user, action="showcase", badge_ids=list(user.showcase)))
        if user.inbox_read:
            call(_as(user, action="mark_notifications_read", all=True))


def _track(user: DemoUser, metric: str, amount: int, **fields: Any) -> dict[str, Any]:
    return _as(user, action="track", metric=metric, amount=amount, **fields)


def _as(user: DemoUser, **body: Any) -> dict[str, Any]:
    return {**body, "user_id": user.id}
