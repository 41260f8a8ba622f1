"""Public profiles, showcases and the current level (issue 12), on the SQL functions directly:
badges.profile (who may read whose profile, what it shows, paging), badges.set_showcase (the
limits, earned badges only, revocations), badges.current_level and badges.preferences'
profile_public. On the shared Dev-Space database (levels, a hidden all_of badge), fresh users
per test; a catalog without levels on the shared v1 database.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.types.json import Jsonb

from badges.catalog import load_catalog
from badges.errors import BadgeNotEarned, BadgesError, InvalidRequest, UnknownBadge, UnknownUser
from badges.store.db import BadgesDb, MetricEvent
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, call, rows
from tests.sql.rules_fixtures import (
    OwnDatabase,
    own_fixture,  # noqa: F401 (provides the fixture `own`)
)

JsonObject = dict[str, Any]

# Everything a profile may show, and nothing more: no progress, metrics, inbox, streaks, zone.
PROFILE_KEYS = {"user_id", "badge_count", "level", "showcase", "badges", "more"}
ENTRY_KEYS = {"badge", "earned_at"}
BADGE_KEYS = {"id", "name", "icon", "tier", "category"}
HIDDEN = "all_rounder"  # Dev-Space's hidden all_of badge


def earn(db: BadgesDb, user: UUID, *badge_ids: str) -> None:
    """Service awards, one call (one transaction, one earned_at) each."""
    for badge_id in badge_ids:
        db.award_badge(user, badge_id, client=False)


def badge_ids(entries: list[JsonObject]) -> list[str]:
    return [e["badge"]["id"] for e in entries]


def award_at(conn: Conn, user: UUID, at: datetime, *badge_ids: str) -> None:
    """Awards dated `at` (as a backfill dates them), of a user registered as every write does."""
    conn.execute("select badges.lock_user(%s)", (user,))
    for badge_id in badge_ids:
        conn.execute(
            "insert into badges.awards (user_id, badge_id, earned_at) values (%s, %s, %s)",
            (user, badge_id, at),
        )


# --- who may read whose profile --------------------------------------------------------------


def test_any_user_reads_a_public_profile_the_owner_and_a_service_too(
    devspace_db: BadgesDb, user: UUID
):
    earn(devspace_db, user, "first_builder")
    other = uuid4()

    seen = [devspace_db.profile(v, user, 20) for v in (other, user, None)]

    assert [badge_ids(p["badges"]) for p in seen] == [["first_builder"]] * 3
    assert {p["user_id"] for p in seen} == {str(user)}


def test_an_opted_out_profile_is_unknown_user_to_others_but_not_to_its_owner_or_a_service(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    earn(devspace_db, user, "first_builder")
    devspace_db.preferences(user, None, profile_public=False)

    with pytest.raises(UnknownUser, match="No user with a public profile"):
        devspace_db.profile(uuid4(), user, 20)
    with pytest.raises(psycopg.Error) as raw:
        call(devspace_conn, "profile", p_viewer=uuid4(), p_user_id=user, p_limit=20,
             p_before_at=None, p_before_badge=None)  # fmt: skip
    own = devspace_db.profile(user, user, 20)
    service = devspace_db.profile(None, user, 20)

    assert raw.value.sqlstate == "BD011"
    assert badge_ids(own["badges"]) == badge_ids(service["badges"]) == ["first_builder"]


def test_opting_back_in_makes_the_profile_readable_again(devspace_db: BadgesDb, user: UUID):
    earn(devspace_db, user, "first_builder")
    devspace_db.preferences(user, None, profile_public=False)
    devspace_db.preferences(user, None, profile_public=True)

    assert badge_ids(devspace_db.profile(uuid4(), user, 20)["badges"]) == ["first_builder"]


def test_an_opted_out_user_and_an_id_never_seen_get_the_same_answer(
    devspace_db: BadgesDb, user: UUID
):
    """Nothing tells an opted-out user from an id the service never saw: same code, same
    sentence but the id."""
    devspace_db.preferences(user, None, profile_public=False)
    never = uuid4()

    messages = []
    for target in (user, never):
        with pytest.raises(UnknownUser) as refused:
            devspace_db.profile(uuid4(), target, 20)
        messages.append(refused.value.message.replace(str(target), "<id>"))

    assert messages[0] == messages[1]


def test_an_id_never_seen_is_unknown_user_even_to_a_service_but_its_owner_reads_it_empty(
    devspace_db: BadgesDb, devspace_conn: Conn
):
    never = uuid4()

    with pytest.raises(UnknownUser):
        devspace_db.profile(None, never, 20)
    own = devspace_db.profile(never, never, 20)

    assert own == {
        "user_id": str(never),
        "badge_count": 0,
        "level": None,
        "showcase": [],
        "badges": [],
        "more": False,
    }
    assert rows(devspace_conn, "select 1 from badges.users where user_id = %s", never) == []


# --- what a profile shows --------------------------------------------------------------------


def test_a_profile_holds_only_public_fields(devspace_db: BadgesDb, user: UUID):
    """The keys are exactly the public ones (a private field added to the SQL fails here), for
    every viewer."""
    devspace_db.record_activity(user, "Europe/Paris")
    devspace_db.track(user, MetricEvent("project_created", 5), client=False)
    devspace_db.set_showcase(user, ["project_rookie"])

    for viewer in (uuid4(), user, None):
        seen = devspace_db.profile(viewer, user, 20)
        assert set(seen) == PROFILE_KEYS
        for entry in [*seen["badges"], *seen["showcase"]]:
            assert set(entry) == ENTRY_KEYS
            assert set(entry["badge"]) == BADGE_KEYS
        assert seen["level"] is None or set(seen["level"]) == {"id", "name"}


def test_hidden_badges_are_never_on_another_users_profile_but_on_the_owners(
    devspace_db: BadgesDb, user: UUID
):
    earn(devspace_db, user, "first_builder", HIDDEN)
    devspace_db.set_showcase(user, [HIDDEN, "first_builder"])

    other = devspace_db.profile(uuid4(), user, 20)
    service = devspace_db.profile(None, user, 20)
    own = devspace_db.profile(user, user, 20)

    assert badge_ids(other["badges"]) == badge_ids(service["badges"]) == ["first_builder"]
    assert badge_ids(other["showcase"]) == badge_ids(service["showcase"]) == ["first_builder"]
    assert badge_ids(own["badges"]) == [HIDDEN, "first_builder"]
    assert badge_ids(own["showcase"]) == [HIDDEN, "first_builder"]


def test_the_badge_count_is_the_leaderboards_and_the_level_the_current_one(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    """badge_count is user_stats.badge_count, as every leaderboard shows it to everyone."""
    devspace_db.track(user, MetricEvent("project_created", 5), client=False)
    devspace_db.track(user, MetricEvent("journey_entry"), client=False)

    seen = devspace_db.profile(uuid4(), user, 20)

    assert (
        seen["badge_count"]
        == rows(
            devspace_conn, "select badge_count from badges.user_stats where user_id = %s", user
        )[0][0]
    )
    assert seen["badge_count"] == 3  # first_builder, project_rookie, first_log
    assert seen["level"] == {"id": "newcomer", "name": "Newcomer"}


def test_badges_come_newest_first_and_page_by_the_cursor_without_repeats_or_gaps(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    """Ties on earned_at are ordered by badge id (descending), and a cursor inside a tie goes
    on with the rest of it."""
    at = datetime(2026, 11, 1, tzinfo=UTC)
    award_at(devspace_conn, user, at, "first_builder")
    award_at(devspace_conn, user, at + timedelta(days=1), "first_log", "team_spirit", HIDDEN)
    award_at(devspace_conn, user, at + timedelta(days=2), "sociable_dev")
    expected = ["sociable_dev", "team_spirit", "first_log", "first_builder"]

    pages, before = [], None
    while True:
        page = devspace_db.profile(uuid4(), user, 2, before)
        pages.append(badge_ids(page["badges"]))
        if not page["more"]:
            break
        last = page["badges"][-1]
        before = (datetime.fromisoformat(last["earned_at"]), last["badge"]["id"])

    assert pages == [expected[:2], expected[2:]]
    whole = devspace_db.profile(uuid4(), user, 100)
    assert badge_ids(whole["badges"]) == expected
    assert whole["more"] is False
    earned = [datetime.fromisoformat(e["earned_at"]) for e in whole["badges"]]
    assert earned == sorted(earned, reverse=True)


def test_a_page_of_exactly_the_remaining_badges_says_there_is_no_more(
    devspace_db: BadgesDb, user: UUID
):
    earn(devspace_db, user, "first_builder", "first_log")

    assert devspace_db.profile(uuid4(), user, 2)["more"] is False
    assert devspace_db.profile(uuid4(), user, 1)["more"] is True


# --- showcase --------------------------------------------------------------------------------


def test_a_showcase_keeps_the_order_sent_and_a_new_list_replaces_it(
    devspace_db: BadgesDb, user: UUID
):
    earn(devspace_db, user, "first_builder", "first_log", "team_spirit")

    first = devspace_db.set_showcase(user, ["first_log", "first_builder", "team_spirit"])
    reordered = devspace_db.set_showcase(user, ["team_spirit", "first_log"])

    assert badge_ids(first["showcase"]) == ["first_log", "first_builder", "team_spirit"]
    assert badge_ids(reordered["showcase"]) == ["team_spirit", "first_log"]
    assert badge_ids(devspace_db.profile(uuid4(), user, 20)["showcase"]) == [
        "team_spirit",
        "first_log",
    ]


def test_an_empty_list_unpins_every_badge(devspace_db: BadgesDb, devspace_conn: Conn, user: UUID):
    earn(devspace_db, user, "first_builder")
    devspace_db.set_showcase(user, ["first_builder"])

    assert devspace_db.set_showcase(user, []) == {"showcase": []}
    assert rows(devspace_conn, "select 1 from badges.showcases where user_id = %s", user) == []


def test_five_badges_may_be_pinned_and_six_are_invalid(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    six = ["first_builder", "project_rookie", "first_log", "team_spirit", "sociable_dev", HIDDEN]
    earn(devspace_db, user, *six)
    devspace_db.set_showcase(user, six[:5])

    with pytest.raises(InvalidRequest, match="At most 5"):
        devspace_db.set_showcase(user, six)
    assert badge_ids(devspace_db.profile(user, user, 20)["showcase"]) == six[:5]


@pytest.mark.parametrize(
    ("pins", "error", "says"),
    [
        pytest.param(["first_builder", "first_builder"], InvalidRequest, "once", id="twice"),
        pytest.param(["first_builder", "no_such"], UnknownBadge, "'no_such'", id="unknown"),
        pytest.param(
            ["first_builder", "collab_guru"], BadgeNotEarned, "'collab_guru'", id="unearned"
        ),
        pytest.param([HIDDEN], BadgeNotEarned, f"'{HIDDEN}'", id="hidden-unearned"),
        pytest.param(["social_sharer"], BadgeNotEarned, "'social_sharer'", id="disabled-unearned"),
    ],
)
def test_a_refused_showcase_leaves_the_old_one_as_it_was(
    devspace_db: BadgesDb, user: UUID, pins: list[str], error: type[BadgesError], says: str
):
    earn(devspace_db, user, "first_builder", "first_log")
    devspace_db.set_showcase(user, ["first_log"])

    with pytest.raises(error, match=says):
        devspace_db.set_showcase(user, pins)
    assert badge_ids(devspace_db.profile(user, user, 20)["showcase"]) == ["first_log"]


@pytest.mark.parametrize(
    "value", [{"a": 1}, "first_builder", [1], [None], [["first_builder"]]], ids=repr
)
def test_badge_ids_that_are_not_an_array_of_strings_are_invalid(
    devspace_conn: Conn, user: UUID, value: object
):
    with pytest.raises(psycopg.Error) as refused:
        call(devspace_conn, "set_showcase", p_user_id=user, p_badge_ids=Jsonb(value))
    assert refused.value.sqlstate == "BD004"


def test_a_revoked_badge_leaves_the_showcase_and_does_not_come_back_with_a_new_award(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    earn(devspace_db, user, "first_builder", "first_log")
    devspace_db.set_showcase(user, ["first_builder", "first_log"])

    devspace_db.revoke_badge(user, "first_builder", "test", "tests")
    after_revoke = devspace_db.profile(uuid4(), user, 20)["showcase"]
    earn(devspace_db, user, "first_builder")

    assert badge_ids(after_revoke) == ["first_log"]
    assert badge_ids(devspace_db.profile(uuid4(), user, 20)["showcase"]) == ["first_log"]
    assert rows(
        devspace_conn, "select badge_id, slot from badges.showcases where user_id = %s", user
    ) == [("first_log", 2)]


def test_an_award_removed_while_a_showcase_is_written_is_badge_not_earned_never_a_500(
    devspace_db: BadgesDb, devspace_url: str, user: UUID
):
    """The batch's auto-revocation deletes awards without the user's lock: a pin of an award
    whose removal commits while set_showcase waits for it is BD012, not a foreign key error."""
    earn(devspace_db, user, "first_builder")
    outcome: list[object] = []

    def pin() -> None:
        try:
            outcome.append(devspace_db.set_showcase(user, ["first_builder"]))
        except BadgesError as exc:
            outcome.append(exc)

    with psycopg.connect(devspace_url) as remover:
        remover.execute(
            "delete from badges.awards where user_id = %s and badge_id = 'first_builder'", (user,)
        )
        pinning = threading.Thread(target=pin)
        pinning.start()
        wait_for_a_lock_wait(remover, "set_showcase")
        remover.commit()
        pinning.join(10)

    assert len(outcome) == 1
    assert isinstance(outcome[0], BadgeNotEarned), outcome


def wait_for_a_lock_wait(conn: Conn, query_part: str) -> None:
    for _ in range(200):
        # conn is inside a transaction, which would keep reading its first snapshot of every
        # backend's state and query (only the wait event is read live): take a fresh one.
        conn.execute("select pg_stat_clear_snapshot()")
        found = conn.execute(
            "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like %s",
            (f"%{query_part}%",),
        ).fetchall()
        if found:
            return
        time.sleep(0.025)
    raise AssertionError(f"no call of {query_part} waited for a lock")


# --- current level ---------------------------------------------------------------------------

NEWCOMER = {
    "id": "newcomer",
    "name": "Newcomer",
    "description": "Created a project and logged a journey entry.",
}
REGULAR = {
    "id": "regular",
    "name": "Regular",
    "description": "Five projects, fifty interactions and ten journey entries.",
}


def test_a_new_user_has_no_level_and_the_first_one_next(devspace_db: BadgesDb, user: UUID):
    assert devspace_db.current_level(user) == {
        "current": None,
        "next": {
            **NEWCOMER,
            "steps": [
                {"metric": "project_created", "required": 1, "current": 0, "remaining": 1},
                {"metric": "journey_entry", "required": 1, "current": 0, "remaining": 1},
            ],
        },
    }


def test_a_user_at_a_level_gets_the_next_ones_remaining_steps(devspace_db: BadgesDb, user: UUID):
    devspace_db.track(user, MetricEvent("project_created", 5), client=False)
    devspace_db.track(user, MetricEvent("journey_entry", 3), client=False)

    assert devspace_db.current_level(user) == {
        "current": NEWCOMER,
        "next": {
            **REGULAR,
            "steps": devspace_db.level_status(user, "regular")["steps"],
        },
    }
    assert devspace_db.current_level(user)["next"]["steps"] == [
        {"metric": "project_created", "required": 5, "current": 5, "remaining": 0},
        {"metric": "interaction", "required": 50, "current": 0, "remaining": 50},
        {"metric": "journey_entry", "required": 10, "current": 3, "remaining": 7},
    ]


def test_a_user_at_the_top_level_has_no_next(devspace_db: BadgesDb, user: UUID):
    devspace_db.track(user, MetricEvent("project_created", 5), client=False)
    devspace_db.track(user, MetricEvent("journey_entry", 10), client=False)
    devspace_db.track(user, MetricEvent("interaction", 50), client=False)

    assert devspace_db.current_level(user) == {"current": REGULAR, "next": None}
    assert devspace_db.profile(uuid4(), user, 1)["level"] == {"id": "regular", "name": "Regular"}


def test_the_current_level_is_the_highest_met_even_when_an_earlier_one_is_not(
    own: OwnDatabase, user: UUID
):
    """Levels need not nest: a later level met without an earlier one is the current level."""
    payload = load_catalog(DEVSPACE).sync_payload()
    builder = {"id": "builder", "name": "Builder", "sort_order": 30,
               "requirements": [{"metric": "project_created", "count": 5}]}  # fmt: skip
    own.db.sync_catalog(payload | {"levels": [*payload["levels"], builder]})
    own.db.track(user, MetricEvent("project_created", 5), client=False)  # no journey entry

    assert own.db.current_level(user) == {
        "current": {"id": "builder", "name": "Builder", "description": ""},
        "next": None,
    }


def test_the_level_follows_the_totals_down(devspace_db: BadgesDb, user: UUID):
    """Levels are computed, never recorded: a total taken back takes the level back."""
    devspace_db.track(user, MetricEvent("project_created", 5), client=False)
    devspace_db.track(user, MetricEvent("journey_entry", 10), client=False)
    devspace_db.track(user, MetricEvent("interaction", 50), client=False)
    devspace_db.track(user, MetricEvent("interaction", -1), client=False)

    assert devspace_db.current_level(user)["current"] == NEWCOMER


def test_a_catalog_without_levels_has_no_current_and_no_next(db: BadgesDb, user: UUID):
    """The v1 catalog declares no level."""
    db.award_badge(user, "social_sharer", client=True)

    assert db.current_level(user) == {"current": None, "next": None}
    assert db.profile(uuid4(), user, 20)["level"] is None


# --- preferences -----------------------------------------------------------------------------


def test_preferences_set_each_preference_alone_and_reading_registers_nobody(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    fresh = devspace_db.preferences(user, None)
    registered = rows(devspace_conn, "select 1 from badges.users where user_id = %s", user)
    private = devspace_db.preferences(user, None, profile_public=False)
    out = devspace_db.preferences(user, True)
    back = devspace_db.preferences(user, None, profile_public=True)

    assert fresh == {"feed_opt_out": False, "profile_public": True}
    assert registered == []
    assert private == {"feed_opt_out": False, "profile_public": False}
    assert out == {"feed_opt_out": True, "profile_public": False}
    assert back == {"feed_opt_out": True, "profile_public": True}
