"""What users see of the rules on the Dev-Space catalog: progress toward each badge's numeric
goal, the next milestone per category (badges.progress and list_badges' `next`), level status
and rarity.

Tests share the Dev-Space database with fresh user ids; those that vary the catalog or count
over users take a database of their own (the fixture `own`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from badges.catalog import load_catalog
from badges.errors import UnknownLevel
from badges.store.db import BadgesDb, MetricEvent
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, rows
from tests.sql.rules_fixtures import (
    JsonObject,
    OwnDatabase,
    awards,
    badge,
    listed,
    own_fixture,  # noqa: F401 (provides the fixture `own`)
    track_times,
)

CATALOG = {b["id"]: b for b in load_catalog(DEVSPACE).sync_payload()["badges"]}
PAST = {"starts_at": "2020-01-01T00:00:00+00:00", "ends_at": "2021-01-01T00:00:00+00:00"}


def milestone(badge_id: str, current: int, message: str) -> JsonObject:
    """The milestone entry expected for a Dev-Space badge at `current` of its goal."""
    b = CATALOG[badge_id]
    target = b["threshold"] if b["rule"] != "all_of" else len(b["requires"])
    return {
        "category": b["category"],
        "badge": {"id": b["id"], "name": b["name"], "icon": b["icon"], "tier": b["tier"]},
        "current": current,
        "target": target,
        "remaining": target - current,
        "message": message,
    }


def progress_of(listing: JsonObject, *badge_ids: str) -> dict[str, tuple[bool, Any]]:
    """{badge: (earned, progress)} for the named badges of a list_badges answer."""
    return {b: (listed(listing, b)["earned"], listed(listing, b)["progress"]) for b in badge_ids}


def track(db: BadgesDb, user: UUID, metric: str, amount: int = 1) -> JsonObject:
    return db.track(user, MetricEvent(metric, amount), client=False)


def active_days_until_today(conn: Conn, user: UUID, days: int) -> None:
    """Activity on each of the last `days` days, today included (a live streak of `days`)."""
    for days_ago in range(days - 1, -1, -1):
        conn.execute(
            "select badges.record_activity(p_user_id => %s, p_timezone => 'UTC',"
            " p_at => now() - make_interval(days => %s))",
            (user, days_ago),
        )


# --- progress per badge -----------------------------------------------------------------------


def test_a_metric_badges_progress_is_the_total_capped_at_its_target_and_target_once_earned(
    devspace_db: BadgesDb, user: UUID
):
    track(devspace_db, user, "project_created", 6)
    track(devspace_db, user, "interaction", 3)

    listing = devspace_db.list_badges(user)

    assert progress_of(
        listing,
        "first_builder",
        "project_rookie",
        "project_enthusiast",
        "project_pro",
        "code_architect",
        "sociable_dev",
        "first_log",
        "active_dev",
    ) == {
        "first_builder": (True, {"current": 1, "target": 1}),
        "project_rookie": (True, {"current": 5, "target": 5}),
        "project_enthusiast": (False, {"current": 6, "target": 15}),
        "project_pro": (False, {"current": 6, "target": 30}),
        "code_architect": (False, {"current": 6, "target": 100}),
        "sociable_dev": (False, {"current": 3, "target": 10}),
        "first_log": (False, {"current": 0, "target": 1}),
        "active_dev": (False, {"current": 0, "target": 7}),
    }
    assert listing["earned_count"] == 2


def test_a_locked_badge_whose_goal_the_total_passed_shows_its_target_not_the_total(
    devspace_db: BadgesDb, user: UUID
):
    """Revoked by hand, project_rookie stays locked with 6 projects: its progress is 5 of 5."""
    track(devspace_db, user, "project_created", 6)
    devspace_db.revoke_badge(user, "project_rookie", "spam projects", "moderator")

    listing = devspace_db.list_badges(user)

    assert progress_of(listing, "project_rookie") == {
        "project_rookie": (False, {"current": 5, "target": 5})
    }


def test_an_earned_badge_shows_its_goal_reached_after_the_total_fell(
    devspace_db: BadgesDb, user: UUID
):
    track(devspace_db, user, "project_created", 5)
    track(devspace_db, user, "project_created", -3)  # not auto_revoke: both badges stay

    listing = devspace_db.list_badges(user)

    assert progress_of(listing, "first_builder", "project_rookie", "project_enthusiast") == {
        "first_builder": (True, {"current": 1, "target": 1}),
        "project_rookie": (True, {"current": 5, "target": 5}),
        "project_enthusiast": (False, {"current": 2, "target": 15}),
    }


def test_a_badge_without_a_numeric_goal_has_no_progress(db: BadgesDb, user: UUID):
    listing = db.list_badges(user)
    db.award_badge(user, "social_sharer", client=True)

    assert listed(listing, "social_sharer")["progress"] is None
    assert listed(db.list_badges(user), "social_sharer")["progress"] is None


def test_distinct_and_all_of_progress_count_distinct_items_and_earned_required_badges(
    own: OwnDatabase, user: UUID
):
    own.sync(
        [badge("many_hands", "distinct", metric="interaction", threshold=3, category="people")],
        all_rounder={"hidden": False},
    )
    for item in ("ada", "bob", "ada", "ada"):
        own.db.track(user, MetricEvent("interaction", item=item), client=True)
    track(own.db, user, "project_created")
    track(own.db, user, "journey_entry")

    listing = own.db.list_badges(user)
    people = [m for m in listing["next"] if m["category"] == "people"]

    assert progress_of(listing, "many_hands", "sociable_dev", "all_rounder") == {
        "many_hands": (False, {"current": 2, "target": 3}),  # 4 interactions, 2 people
        "sociable_dev": (False, {"current": 4, "target": 10}),
        "all_rounder": (False, {"current": 2, "target": 4}),
    }
    assert milestone("all_rounder", 2, "2 more badges → All-Rounder") in listing["next"]
    assert len(people) == 1
    assert {k: people[0][k] for k in ("current", "target", "remaining")} == {
        "current": 2,
        "target": 3,
        "remaining": 1,
    }
    assert people[0]["badge"]["id"] == "many_hands"
    assert people[0]["message"] == "1 more interaction → Many Hands"  # the metric's unit_one

    own.db.track(user, MetricEvent("interaction", item="cy"), client=True)
    track(own.db, user, "contribution_approved")
    track(own.db, user, "interaction", 5)
    done = own.db.list_badges(user)

    assert progress_of(done, "many_hands", "all_rounder") == {
        "many_hands": (True, {"current": 3, "target": 3}),
        "all_rounder": (True, {"current": 4, "target": 4}),
    }


# --- next milestones --------------------------------------------------------------------------


def test_a_new_user_has_one_milestone_per_visible_category_nearest_first(
    devspace_db: BadgesDb, user: UUID
):
    assert devspace_db.list_badges(user)["next"] == [
        milestone("first_builder", 0, "1 more project → First Builder"),
        milestone("team_spirit", 0, "1 more approved contribution → Team Spirit"),
        milestone("first_log", 0, "1 more journey entry → First Log"),
        milestone("active_dev", 0, "7 more days → Active Dev"),
        milestone("sociable_dev", 0, "10 more interactions → Sociable Dev"),
    ]


def test_each_categorys_milestone_is_its_nearest_locked_badge_sorted_by_share_done(
    devspace_db: BadgesDb, user: UUID
):
    track(devspace_db, user, "project_created", 6)
    track(devspace_db, user, "interaction", 9)
    track(devspace_db, user, "journey_entry")

    assert devspace_db.list_badges(user)["next"] == [
        milestone("sociable_dev", 9, "1 more interaction → Sociable Dev"),  # 90 %
        milestone("project_enthusiast", 6, "9 more projects → Project Enthusiast"),  # 40 %
        milestone("journey_starter", 1, "9 more journey entries → Journey Starter"),  # 10 %
        milestone("team_spirit", 0, "1 more approved contribution → Team Spirit"),
        milestone("active_dev", 0, "7 more days → Active Dev"),
    ]


def test_the_nearest_badge_of_a_category_is_the_largest_share_done_then_the_fewest_steps_left(
    own: OwnDatabase, user: UUID
):
    """Sort order never decides while share or steps differ: side_quest (sorted first) loses to
    project_enthusiast at 0 of 2 vs 6 of 15 and wins at 1 of 2; at 0 % each, small_quest (10
    steps) is nearer than big_quest (30 steps, sorted first)."""
    own.sync(
        [
            badge("side_quest", "metric", metric="journey_entry", threshold=2, sort_order=1),
            badge(
                "big_quest",
                "metric",
                metric="contribution_approved",
                threshold=30,
                category="quests",
                sort_order=1,
            ),
            badge(
                "small_quest",
                "metric",
                metric="interaction",
                threshold=10,
                category="quests",
                sort_order=2,
            ),
        ]
    )
    track(own.db, user, "project_created", 6)

    def nearest() -> dict[str, tuple[str, str]]:
        return {
            m["category"]: (m["badge"]["id"], m["message"])
            for m in own.db.list_badges(user)["next"]
            if m["category"] in ("builder", "quests")
        }

    before = nearest()
    track(own.db, user, "journey_entry")
    after = nearest()

    assert before == {
        "builder": ("project_enthusiast", "9 more projects → Project Enthusiast"),
        "quests": ("small_quest", "10 more interactions → Small Quest"),
    }
    assert after["builder"] == ("side_quest", "1 more journey entry → Side Quest")


@pytest.mark.parametrize(
    ("metric", "amount", "expected"),
    [
        ("project_created", 4, milestone("project_rookie", 4, "1 more project → Project Rookie")),
        (
            "project_created",
            14,
            milestone("project_enthusiast", 14, "1 more project → Project Enthusiast"),
        ),
        (
            "journey_entry",
            9,
            milestone("journey_starter", 9, "1 more journey entry → Journey Starter"),
        ),
        (
            "contribution_approved",
            9,
            milestone("collab_guru", 9, "1 more approved contribution → Collab Guru"),
        ),
    ],
)
def test_one_step_left_is_named_with_the_metrics_singular_unit(
    devspace_db: BadgesDb, user: UUID, metric: str, amount: int, expected: JsonObject
):
    track(devspace_db, user, metric, amount)

    assert devspace_db.list_badges(user)["next"][0] == expected


def test_one_day_left_of_a_live_streak_is_one_more_day(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    active_days_until_today(devspace_conn, user, 6)

    assert devspace_db.list_badges(user)["next"][0] == milestone(
        "active_dev", 6, "1 more day → Active Dev"
    )


def test_hidden_and_earned_badges_are_never_a_milestone(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    """3 of all_rounder's 4 badges would make it the nearest goal, were it not hidden; a category
    whose every badge is earned has no milestone."""
    track(devspace_db, user, "project_created")
    track(devspace_db, user, "journey_entry")
    track(devspace_db, user, "contribution_approved", 30)

    milestones = devspace_db.list_badges(user)["next"]
    held = awards(devspace_conn, user)

    assert held == ["collab_guru", "first_builder", "first_log", "open_source_ally", "team_spirit"]
    assert [m["badge"]["id"] for m in milestones] == [
        "project_rookie",
        "journey_starter",
        "active_dev",
        "sociable_dev",
    ]
    assert not {m["badge"]["id"] for m in milestones} & {*held, "all_rounder"}


def test_a_badge_out_of_its_window_disabled_or_revoked_by_hand_is_never_a_milestone(
    own: OwnDatabase, user: UUID
):
    own.sync(project_rookie=PAST, sociable_dev={"enabled": False})
    track(own.db, user, "project_created", 4)  # project_rookie would be 4 of 5
    track(own.db, user, "interaction", 9)  # sociable_dev would be 9 of 10
    track(own.db, user, "journey_entry")
    own.db.revoke_badge(user, "first_log", "fake entry", "moderator")  # would be 1 of 1

    milestones = own.db.list_badges(user)["next"]

    assert {m["category"]: m["badge"]["id"] for m in milestones} == {
        "builder": "project_enthusiast",
        "social": "social_freak",
        "journey": "journey_starter",
        "collaboration": "team_spirit",
        "consistency": "active_dev",
    }


def test_progress_answers_the_same_milestones_as_list_badges(devspace_db: BadgesDb, user: UUID):
    track(devspace_db, user, "project_created", 3)
    track(devspace_db, user, "interaction", 2)

    milestones = devspace_db.progress(user)

    assert milestones == {"milestones": devspace_db.list_badges(user)["next"]}
    assert len(milestones["milestones"]) == 5


# --- level status -----------------------------------------------------------------------------


def steps(status: JsonObject) -> list[tuple[str, int, int, int]]:
    return [(s["metric"], s["required"], s["current"], s["remaining"]) for s in status["steps"]]


def test_a_level_is_achieved_once_every_requirement_is_met(devspace_db: BadgesDb, user: UUID):
    fresh = devspace_db.level_status(user, "newcomer")
    track(devspace_db, user, "project_created", 2)
    halfway = devspace_db.level_status(user, "newcomer")
    track(devspace_db, user, "journey_entry")
    achieved = devspace_db.level_status(user, "newcomer")

    assert fresh == {
        "level": {
            "id": "newcomer",
            "name": "Newcomer",
            "description": "Created a project and logged a journey entry.",
        },
        "achieved": False,
        "steps": [
            {"metric": "project_created", "required": 1, "current": 0, "remaining": 1},
            {"metric": "journey_entry", "required": 1, "current": 0, "remaining": 1},
        ],
    }
    assert (halfway["achieved"], steps(halfway)) == (
        False,
        [("project_created", 1, 2, 0), ("journey_entry", 1, 0, 1)],
    )
    assert (achieved["achieved"], steps(achieved)) == (
        True,
        [("project_created", 1, 2, 0), ("journey_entry", 1, 1, 0)],
    )


def test_a_levels_steps_come_in_the_catalogs_priority_order(devspace_db: BadgesDb, user: UUID):
    """regular lists projects, interactions, journey entries: not alphabetical order."""
    track(devspace_db, user, "project_created", 7)
    track(devspace_db, user, "interaction", 50)
    track(devspace_db, user, "journey_entry", 9)
    short = devspace_db.level_status(user, "regular")
    track(devspace_db, user, "journey_entry")
    met = devspace_db.level_status(user, "regular")
    track(devspace_db, user, "interaction", -1)
    lapsed = devspace_db.level_status(user, "regular")

    assert (short["achieved"], steps(short)) == (
        False,
        [("project_created", 5, 7, 0), ("interaction", 50, 50, 0), ("journey_entry", 10, 9, 1)],
    )
    assert (met["achieved"], steps(met)) == (
        True,
        [("project_created", 5, 7, 0), ("interaction", 50, 50, 0), ("journey_entry", 10, 10, 0)],
    )
    assert (lapsed["achieved"], steps(lapsed)[1]) == (False, ("interaction", 50, 49, 1))


def test_an_unknown_level_is_unknown_level(devspace_db: BadgesDb, user: UUID):
    with pytest.raises(UnknownLevel):
        devspace_db.level_status(user, "no_such_level")


def test_a_level_removed_from_the_catalog_is_unknown_level(own: OwnDatabase, user: UUID):
    payload = load_catalog(DEVSPACE).sync_payload()
    own.db.sync_catalog(
        payload | {"levels": [lv for lv in payload["levels"] if lv["id"] != "regular"]}
    )

    assert own.db.level_status(user, "newcomer")["level"]["id"] == "newcomer"
    with pytest.raises(UnknownLevel):
        own.db.level_status(user, "regular")


# --- rarity -----------------------------------------------------------------------------------


def rarity_counters(conn: Conn) -> dict[str, int]:
    """Holders per badge id ('' = users): the folded counts plus the pending deltas, zero sums
    left out."""
    query = (
        "select badge_id, sum(holders) from (select badge_id, holders from badges.rarity_counts"
        " union all select badge_id, holders from badges.rarity_deltas) c group by 1"
    )
    return {b: int(n) for b, n in rows(conn, query) if n}


def full_counts(conn: Conn) -> dict[str, int]:
    """The same numbers counted from the rows themselves: awards per badge, '' = users."""
    counted = {
        b: int(n) for b, n in rows(conn, "select badge_id, count(*) from badges.awards group by 1")
    }
    counted[""] = rows(conn, "select count(*) from badges.users")[0][0]
    return counted


def test_rarity_is_the_share_of_users_who_earned_a_badge_and_follows_a_revoke(
    own: OwnDatabase,
):
    """7 users tracked something, 3 of them a project: first_builder is 3 of 7."""
    holders = [uuid4() for _ in range(3)]
    others = [uuid4() for _ in range(4)]
    for u in holders:
        track(own.db, u, "project_created")
    for u in others:
        own.db.track(u, MetricEvent("interaction"), client=True)
    own.db.list_badges(uuid4())  # a user who only reads is not counted

    three = {"earned_count": 3, "earned_percent": round(100 * 3 / 7, 1)}
    none = {"earned_count": 0, "earned_percent": 0.0}
    assert three == {"earned_count": 3, "earned_percent": 42.9}
    assert listed(own.db.get_catalog(), "first_builder")["rarity"] == three
    assert listed(own.db.get_catalog(), "project_rookie")["rarity"] == none
    for u in (holders[0], others[0]):
        assert listed(own.db.list_badges(u), "first_builder")["rarity"] == three
    assert rarity_counters(own.conn) == full_counts(own.conn) == {"": 7, "first_builder": 3}

    own.db.revoke_badge(holders[0], "first_builder", "spam project", "moderator")

    two = {"earned_count": 2, "earned_percent": round(100 * 2 / 7, 1)}
    assert two == {"earned_count": 2, "earned_percent": 28.6}
    assert listed(own.db.get_catalog(), "first_builder")["rarity"] == two
    assert listed(own.db.list_badges(others[0]), "first_builder")["rarity"] == two
    assert rarity_counters(own.conn) == full_counts(own.conn) == {"": 7, "first_builder": 2}


def test_rarity_counters_equal_a_full_count_after_every_kind_of_award_and_removal(
    own: OwnDatabase,
):
    own.sync(project_rookie={"auto_revoke": True})
    users = [uuid4() for _ in range(5)]
    for i, u in enumerate(users):
        track(own.db, u, "project_created", 1 + 4 * i)  # 1, 5, 9, 13, 17 projects
        track_times(own.db, u, "interaction", 10 * (i % 2), client=True)
    track(own.db, users[0], "journey_entry")
    track(own.db, users[0], "contribution_approved")  # users[0] lacks only sociable_dev
    own.db.revoke_badge(users[3], "first_builder", "spam", "moderator")
    track(own.db, users[1], "project_created", -1)
    own.db.check_badges(users[1])  # project_rookie lapses
    track(own.db, users[0], "interaction", 10)  # sociable_dev, then all_rounder

    counted = full_counts(own.conn)

    assert rarity_counters(own.conn) == counted
    assert counted == {
        "": 5,
        "first_builder": 4,
        "project_rookie": 3,
        "project_enthusiast": 1,
        "sociable_dev": 3,
        "first_log": 1,
        "team_spirit": 1,
        "all_rounder": 1,
    }
    in_catalog = {b["id"]: b["rarity"] for b in own.db.get_catalog()["badges"]}
    for badge_id, holders in counted.items():
        if badge_id and badge_id != "all_rounder":  # all_rounder is hidden: not in the catalog
            assert in_catalog[badge_id]["earned_count"] == holders, badge_id
    assert listed(own.db.list_badges(users[0]), "all_rounder")["rarity"] == {
        "earned_count": 1,
        "earned_percent": 20.0,
    }
