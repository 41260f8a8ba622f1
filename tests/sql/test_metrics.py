"""badges.track and the rules it applies, on the Dev-Space catalog: each rule kind awards exactly
when reached and never twice, amounts and who may send them, idempotency keys (also under 20
concurrent repeats), dated events, badge windows, disabled badges and auto-revocation.

Tests share the Dev-Space database with fresh user ids; those that vary the catalog or count
over users take a database of their own (the fixture `own`).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from typing import Any
from uuid import UUID, uuid4

import pytest

from badges.catalog import load_catalog
from badges.errors import (
    BadgeInactive,
    Forbidden,
    IdempotencyConflict,
    InvalidRequest,
    UnknownBadge,
    UnknownMetric,
)
from badges.store.db import BadgesDb, MetricEvent
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, call, count, rows
from tests.sql.rules_fixtures import (
    OwnDatabase,
    awards,
    badge,
    badge_count,
    earned_at,
    listed,
    listed_ids,
    notified,
    own_fixture,  # noqa: F401 (provides the fixture `own`)
    track_times,
)
from tests.sql.test_concurrency import run_together

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)

# Badge windows as the catalog file gives them (ISO 8601 strings).
PAST = {"starts_at": "2020-01-01T00:00:00+00:00", "ends_at": "2021-01-01T00:00:00+00:00"}
FUTURE = {"starts_at": "2999-01-01T00:00:00+00:00", "ends_at": "2999-12-31T00:00:00+00:00"}
OPEN = {"starts_at": "2020-01-01T00:00:00+00:00", "ends_at": "2999-12-31T00:00:00+00:00"}

USER_TRACKABLE = {"interaction", "journey_entry"}  # the others are server-only in Dev-Space

TRACK = (
    "select badges.track(p_user_id => %s, p_metric => %s, p_amount => %s, p_client => %s,"
    " p_idempotency_key => %s)"
)


def events(conn: Conn, user: UUID) -> list[tuple[Any, ...]]:
    """(metric, amount, total, item, idempotency_key) of each event row of the user, in order."""
    return rows(
        conn,
        "select metric, amount, total, item, idempotency_key from badges.metric_events"
        " where user_id = %s order by id",
        user,
    )


def totals(conn: Conn, user: UUID) -> dict[str, tuple[int, int]]:
    """{metric: (total, distinct_count)} of the user."""
    return {
        r[0]: (r[1], r[2])
        for r in rows(
            conn,
            "select metric, total, distinct_count from badges.metric_totals where user_id = %s",
            user,
        )
    }


def revocations(conn: Conn, user: UUID) -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "select badge_id, automatic, revoked_by, reason from badges.revocations"
        " where user_id = %s order by id",
        user,
    )


# --- each rule kind: awarded exactly when reached, never twice --------------------------------


@pytest.mark.parametrize(
    ("metric", "badge_id", "threshold"),
    [
        ("project_created", "first_builder", 1),
        ("project_created", "project_rookie", 5),
        ("interaction", "sociable_dev", 10),
        ("journey_entry", "journey_starter", 10),
        ("contribution_approved", "collab_guru", 10),
    ],
)
def test_a_metric_badge_is_awarded_by_the_track_that_reaches_its_threshold_and_never_again(
    devspace_db: BadgesDb,
    devspace_conn: Conn,
    user: UUID,
    metric: str,
    badge_id: str,
    threshold: int,
):
    client = metric in USER_TRACKABLE
    below = track_times(devspace_db, user, metric, threshold - 1, client=client)
    held_below = awards(devspace_conn, user)

    reaching = devspace_db.track(user, MetricEvent(metric), client=client)
    beyond = track_times(devspace_db, user, metric, 3, client=client)

    assert all(badge_id not in answer["awarded"] for answer in below)
    assert badge_id not in held_below
    assert reaching["total"] == threshold
    assert reaching["awarded"] == [badge_id]
    assert reaching["duplicate"] is False
    assert [answer["awarded"] for answer in beyond] == [[], [], []]
    assert [answer["total"] for answer in beyond] == [threshold + 1, threshold + 2, threshold + 3]
    assert badge_id in awards(devspace_conn, user)
    assert Counter(notified(devspace_conn, user))[badge_id] == 1


def test_a_distinct_badge_counts_each_item_once_and_is_awarded_when_enough_differ(
    own: OwnDatabase, user: UUID
):
    own.sync(
        [badge("many_hands", "distinct", metric="interaction", threshold=3, category="social")]
    )

    answers = [
        own.db.track(user, MetricEvent("interaction", item=item), client=True)
        for item in ["ada", "bob", "ada", None, "ada", "cy", "dan", "cy"]
    ]

    assert [(a["total"], a["distinct_count"], a["awarded"]) for a in answers] == [
        (1, 1, []),
        (2, 2, []),
        (3, 2, []),  # ada again: one more interaction, no new item
        (4, 2, []),  # no item: counts toward the total only
        (5, 2, []),
        (6, 3, ["many_hands"]),
        (7, 4, []),
        (8, 4, []),
    ]
    assert awards(own.conn, user) == ["many_hands"]
    assert notified(own.conn, user) == ["many_hands"]
    assert rows(
        own.conn, "select item from badges.metric_items where user_id = %s order by item", user
    ) == [("ada",), ("bob",), ("cy",), ("dan",)]
    assert totals(own.conn, user) == {"interaction": (8, 4)}


def test_a_streak_badge_is_awarded_on_the_seventh_consecutive_day_and_never_again(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    answers = [
        call(devspace_conn, "record_activity", p_user_id=user, p_timezone="UTC", p_at=T0 + d * DAY)
        for d in range(9)
    ]

    assert [a["longest_streak"] for a in answers] == list(range(1, 10))
    assert [a["awarded"] for a in answers] == [[]] * 6 + [["active_dev"], [], []]
    assert devspace_db.check_badges(user) == {"awarded": [], "revoked": 0}
    assert awards(devspace_conn, user) == ["active_dev"]
    assert notified(devspace_conn, user) == ["active_dev"]


def test_an_all_of_badge_is_awarded_in_the_call_that_earns_its_last_required_badge_once(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    firsts = [
        devspace_db.track(user, MetricEvent(metric), client=False)["awarded"]
        for metric in ("project_created", "journey_entry", "contribution_approved")
    ]
    nine = track_times(devspace_db, user, "interaction", 9, client=True)

    tenth = devspace_db.track(user, MetricEvent("interaction"), client=True)
    later = track_times(devspace_db, user, "interaction", 2, client=True)
    checked = devspace_db.check_badges(user)

    assert firsts == [["first_builder"], ["first_log"], ["team_spirit"]]
    assert [a["awarded"] for a in nine] == [[]] * 9
    assert tenth["awarded"] == ["all_rounder", "sociable_dev"]
    assert earned_at(devspace_conn, user, "all_rounder") == earned_at(
        devspace_conn, user, "sociable_dev"
    )
    assert [a["awarded"] for a in later] == [[], []]
    assert checked == {"awarded": [], "revoked": 0}
    assert awards(devspace_conn, user) == [
        "all_rounder",
        "first_builder",
        "first_log",
        "sociable_dev",
        "team_spirit",
    ]
    assert Counter(notified(devspace_conn, user))["all_rounder"] == 1
    assert badge_count(devspace_conn, user) == 5


def test_a_client_badge_is_awarded_once_by_the_users_own_client(db: BadgesDb, conn: Conn):
    user, bystander = uuid4(), uuid4()
    first = db.award_badge(user, "social_sharer", client=True)
    again = db.award_badge(user, "social_sharer", client=True)

    assert (first["awarded"], again["awarded"]) == (True, False)
    assert again["earned_at"] == first["earned_at"]
    assert awards(conn, user) == ["social_sharer"]
    assert notified(conn, user) == ["social_sharer"]
    # No rule awards a client badge: a check of a user who never asked for it gives nothing.
    assert db.check_badges(bystander) == {"awarded": [], "revoked": 0}
    assert awards(conn, bystander) == []


def test_a_manual_badge_is_awarded_only_by_a_service(own: OwnDatabase, user: UUID):
    own.sync([badge("mentor", "manual", category="community")])
    track_times(own.db, user, "project_created", 5)
    track_times(own.db, user, "interaction", 10, client=True)

    with pytest.raises(Forbidden):
        own.db.award_badge(user, "mentor", client=True)
    checked = own.db.check_badges(user)
    held_before = awards(own.conn, user)
    by_service = own.db.award_badge(user, "mentor", client=False)
    again = own.db.award_badge(user, "mentor", client=False)

    assert checked == {"awarded": [], "revoked": 0}
    assert "mentor" not in held_before
    assert by_service["awarded"] is True
    assert by_service["badge"]["id"] == "mentor"
    assert by_service["badge"]["rule"] == "manual"
    assert again["awarded"] is False
    assert Counter(awards(own.conn, user))["mentor"] == 1
    assert Counter(notified(own.conn, user))["mentor"] == 1


# --- several metrics at once ------------------------------------------------------------------

PLAN = {"project_created": 16, "interaction": 12, "journey_entry": 10, "contribution_approved": 10}


def test_one_user_tracking_several_metrics_interleaved_gets_each_badge_exactly_at_its_threshold(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    catalog = load_catalog(DEVSPACE).sync_payload()["badges"]
    thresholds = {(b["metric"], b["threshold"]): b["id"] for b in catalog if b["rule"] == "metric"}
    composite = next(b for b in catalog if b["rule"] == "all_of")
    # Round-robin over the metrics: p, i, j, c, p, i, j, c, ... until each plan is done.
    order = [
        m
        for turn in zip_longest(*([metric] * n for metric, n in PLAN.items()))
        for m in turn
        if m is not None
    ]
    running: Counter[str] = Counter()
    held: set[str] = set()

    for metric in order:
        answer = devspace_db.track(user, MetricEvent(metric), client=metric in USER_TRACKABLE)
        running[metric] += 1
        due = (
            {thresholds[(metric, running[metric])]}
            if (metric, running[metric]) in thresholds
            else set()
        )
        if set(composite["requires"]) <= held | due and composite["id"] not in held:
            due.add(composite["id"])
        held |= due
        assert (answer["metric"], answer["total"]) == (metric, running[metric])
        assert answer["awarded"] == sorted(due), (metric, running[metric])

    expected = [
        "all_rounder",
        "collab_guru",
        "first_builder",
        "first_log",
        "journey_starter",
        "project_enthusiast",
        "project_rookie",
        "sociable_dev",
        "team_spirit",
    ]
    assert sorted(held) == expected
    assert awards(devspace_conn, user) == expected
    assert notified(devspace_conn, user) == expected
    assert badge_count(devspace_conn, user) == len(expected)
    assert totals(devspace_conn, user) == {m: (n, 0) for m, n in PLAN.items()}
    assert count(devspace_conn, "metric_events", user) == sum(PLAN.values())


# --- amounts ----------------------------------------------------------------------------------


def test_an_amount_crossing_several_thresholds_awards_each_of_them_in_that_call(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    answers = [
        devspace_db.track(user, MetricEvent("project_created", amount), client=False)
        for amount in (5, 10, 85)
    ]

    assert [(a["total"], a["awarded"]) for a in answers] == [
        (5, ["first_builder", "project_rookie"]),
        (15, ["project_enthusiast"]),
        (100, ["code_architect", "project_pro"]),
    ]
    assert [e[:3] for e in events(devspace_conn, user)] == [
        ("project_created", 5, 5),
        ("project_created", 10, 15),
        ("project_created", 85, 100),
    ]
    assert notified(devspace_conn, user) == awards(devspace_conn, user)
    assert len(awards(devspace_conn, user)) == 5


def test_a_negative_service_amount_lowers_the_total_but_never_below_zero(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    def track(amount: int) -> dict[str, Any]:
        return devspace_db.track(user, MetricEvent("project_created", amount), client=False)

    answers = [track(a) for a in (-2, 3, -1, -5, 1)]

    assert [(a["total"], a["awarded"]) for a in answers] == [
        (0, []),  # a first event below zero starts the total at 0
        (3, ["first_builder"]),
        (2, []),
        (0, []),
        (1, []),  # counted up from 0, not from -3
    ]
    assert [e[1:3] for e in events(devspace_conn, user)] == [
        (-2, 0),
        (3, 3),
        (-1, 2),
        (-5, 0),
        (1, 1),
    ]
    assert totals(devspace_conn, user) == {"project_created": (1, 0)}
    assert awards(devspace_conn, user) == ["first_builder"]  # not auto_revoke: kept


@pytest.mark.parametrize("client", [True, False])
def test_an_amount_of_zero_is_invalid_request_and_counts_nothing(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID, client: bool
):
    with pytest.raises(InvalidRequest):
        devspace_db.track(user, MetricEvent("interaction", 0), client=client)

    assert totals(devspace_conn, user) == {}
    assert events(devspace_conn, user) == []


def test_a_user_tracking_a_server_only_metric_is_forbidden_and_changes_nothing(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    with pytest.raises(Forbidden):
        devspace_db.track(user, MetricEvent("project_created"), client=True)
    for table in ("metric_totals", "metric_events", "awards", "notifications", "users"):
        assert count(devspace_conn, table, user) == 0, table

    devspace_db.track(user, MetricEvent("project_created"), client=False)
    with pytest.raises(Forbidden):
        devspace_db.track(user, MetricEvent("project_created"), client=True)

    assert totals(devspace_conn, user) == {"project_created": (1, 0)}
    assert count(devspace_conn, "metric_events", user) == 1


@pytest.mark.parametrize("amount", [2, 1000, -1])
def test_a_user_amount_outside_one_to_user_max_amount_is_forbidden(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID, amount: int
):
    """Dev-Space's interaction allows a user 1 per call; a service may send any amount."""
    with pytest.raises(Forbidden):
        devspace_db.track(user, MetricEvent("interaction", amount), client=True)
    assert totals(devspace_conn, user) == {}

    assert devspace_db.track(user, MetricEvent("interaction"), client=True)["total"] == 1
    by_service = devspace_db.track(user, MetricEvent("interaction", amount), client=False)
    assert by_service["total"] == max(1 + amount, 0)


def test_a_metrics_user_max_amount_comes_from_the_catalog(own: OwnDatabase, user: UUID):
    payload = load_catalog(DEVSPACE).sync_payload()
    metrics = [
        {**m, "user_max_amount": 5} if m["id"] == "interaction" else m for m in payload["metrics"]
    ]
    own.db.sync_catalog(payload | {"metrics": metrics})

    five = own.db.track(user, MetricEvent("interaction", 5), client=True)
    with pytest.raises(Forbidden):
        own.db.track(user, MetricEvent("interaction", 6), client=True)

    assert five["total"] == 5
    assert totals(own.conn, user) == {"interaction": (5, 0)}


@pytest.mark.parametrize("client", [True, False])
def test_an_unknown_metric_is_unknown_metric(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID, client: bool
):
    with pytest.raises(UnknownMetric):
        devspace_db.track(user, MetricEvent("no_such_metric"), client=client)
    assert events(devspace_conn, user) == []


def test_a_metric_removed_from_the_catalog_is_unknown_metric(own: OwnDatabase, user: UUID):
    own.db.track(user, MetricEvent("contribution_approved"), client=False)
    payload = load_catalog(DEVSPACE).sync_payload()
    own.db.sync_catalog(
        payload | {"metrics": [m for m in payload["metrics"] if m["id"] != "contribution_approved"]}
    )

    with pytest.raises(UnknownMetric):
        own.db.track(user, MetricEvent("contribution_approved"), client=False)
    assert totals(own.conn, user) == {"contribution_approved": (1, 0)}  # kept, not deleted


# --- idempotency keys -------------------------------------------------------------------------


def test_a_repeated_idempotency_key_counts_once_and_answers_the_current_state(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    keyed = MetricEvent("project_created", idempotency_key="project-1")
    first = devspace_db.track(user, keyed, client=False)
    devspace_db.track(user, MetricEvent("project_created"), client=False)  # another, unkeyed

    again = devspace_db.track(user, keyed, client=False)

    assert first == {
        "metric": "project_created",
        "total": 1,
        "distinct_count": 0,
        "awarded": ["first_builder"],
        "duplicate": False,
    }
    assert again == {
        "metric": "project_created",
        "total": 2,  # the state now, not the state the key first produced
        "distinct_count": 0,
        "awarded": [],
        "duplicate": True,
    }
    assert [e[4] for e in events(devspace_conn, user)] == ["project-1", None]
    assert totals(devspace_conn, user) == {"project_created": (2, 0)}
    assert notified(devspace_conn, user) == ["first_builder"]


def test_a_repeated_idempotency_key_with_an_item_counts_the_item_once(
    devspace_db: BadgesDb, user: UUID
):
    keyed = MetricEvent("interaction", item="ada", idempotency_key="like-1")
    first = devspace_db.track(user, keyed, client=True)
    again = devspace_db.track(user, keyed, client=True)

    assert (first["total"], first["distinct_count"], first["duplicate"]) == (1, 1, False)
    assert (again["total"], again["distinct_count"], again["duplicate"]) == (1, 1, True)


@pytest.mark.parametrize(
    "other",
    [
        MetricEvent("journey_entry", idempotency_key="k-1"),
        MetricEvent("interaction", 2, idempotency_key="k-1"),
        MetricEvent("interaction", -1, idempotency_key="k-1"),
        MetricEvent("interaction", item="ada", idempotency_key="k-1"),
    ],
    ids=["metric", "amount", "negative", "item"],
)
def test_an_idempotency_key_reused_for_another_event_is_a_conflict_and_changes_nothing(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID, other: MetricEvent
):
    devspace_db.track(user, MetricEvent("interaction", idempotency_key="k-1"), client=False)

    with pytest.raises(IdempotencyConflict):
        devspace_db.track(user, other, client=False)

    assert totals(devspace_conn, user) == {"interaction": (1, 0)}
    assert events(devspace_conn, user) == [("interaction", 1, 1, None, "k-1")]


def test_idempotency_keys_are_per_user(devspace_db: BadgesDb, devspace_conn: Conn):
    ada, bob = uuid4(), uuid4()
    keyed = MetricEvent("journey_entry", idempotency_key="entry-1")

    answers = [devspace_db.track(u, keyed, client=True) for u in (ada, bob)]

    assert [(a["total"], a["awarded"], a["duplicate"]) for a in answers] == [
        (1, ["first_log"], False),
        (1, ["first_log"], False),
    ]
    for u in (ada, bob):
        assert events(devspace_conn, u) == [("journey_entry", 1, 1, None, "entry-1")]


def test_the_same_keyed_track_sent_20_times_at_once_counts_once(
    devspace_url: str, devspace_conn: Conn, user: UUID
):
    """20 connections send the same event with the same key, released together by a barrier:
    the user's lock makes the key check exact."""
    results = run_together(devspace_url, [(TRACK, (user, "project_created", 1, False, "p-1"))] * 20)

    assert sorted(r["duplicate"] for r in results) == [False] + [True] * 19
    assert [r["total"] for r in results] == [1] * 20
    assert [r["awarded"] for r in results if not r["duplicate"]] == [["first_builder"]]
    assert [r["awarded"] for r in results if r["duplicate"]] == [[]] * 19
    assert rows(
        devspace_conn,
        "select count(*) from badges.metric_events where user_id = %s and idempotency_key = %s",
        user,
        "p-1",
    ) == [(1,)]
    assert totals(devspace_conn, user) == {"project_created": (1, 0)}
    assert awards(devspace_conn, user) == ["first_builder"]
    assert notified(devspace_conn, user) == ["first_builder"]
    assert badge_count(devspace_conn, user) == 1


def test_20_different_tracks_at_once_all_count_and_award_each_badge_once(
    devspace_url: str, devspace_conn: Conn, user: UUID
):
    calls = [(TRACK, (user, "project_created", 1, False, f"p-{i}")) for i in range(20)]

    results = run_together(devspace_url, calls)

    assert sorted(r["total"] for r in results) == list(range(1, 21))
    assert not any(r["duplicate"] for r in results)
    assert sorted(b for r in results for b in r["awarded"]) == [
        "first_builder",
        "project_enthusiast",
        "project_rookie",
    ]
    assert [e[2] for e in events(devspace_conn, user)] == list(range(1, 21))
    assert totals(devspace_conn, user) == {"project_created": (20, 0)}
    assert notified(devspace_conn, user) == awards(devspace_conn, user)
    assert badge_count(devspace_conn, user) == 3


# --- occurred_at ------------------------------------------------------------------------------


def test_occurred_at_dates_the_event_and_the_awards_it_causes(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    first = call(
        devspace_conn,
        "track",
        p_user_id=user,
        p_metric="project_created",
        p_amount=1,
        p_client=False,
        p_at=T0,
    )
    later = call(
        devspace_conn,
        "track",
        p_user_id=user,
        p_metric="project_created",
        p_amount=4,
        p_client=False,
        p_at=T0 + 3 * DAY,
    )
    via_store = devspace_db.track(
        user, MetricEvent("journey_entry", occurred_at=T0 + 5 * DAY), client=False
    )

    assert (first["awarded"], later["awarded"], via_store["awarded"]) == (
        ["first_builder"],
        ["project_rookie"],
        ["first_log"],
    )
    assert rows(
        devspace_conn,
        "select occurred_at, recorded_at > occurred_at from badges.metric_events"
        " where user_id = %s order by id",
        user,
    ) == [(T0, True), (T0 + 3 * DAY, True), (T0 + 5 * DAY, True)]
    assert earned_at(devspace_conn, user, "first_builder") == T0
    assert earned_at(devspace_conn, user, "project_rookie") == T0 + 3 * DAY
    assert earned_at(devspace_conn, user, "first_log") == T0 + 5 * DAY


def test_an_undated_event_occurs_when_it_is_recorded(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    devspace_db.track(user, MetricEvent("project_created"), client=False)

    ((occurred, recorded),) = rows(
        devspace_conn,
        "select occurred_at, recorded_at from badges.metric_events where user_id = %s",
        user,
    )
    assert occurred == recorded
    assert earned_at(devspace_conn, user, "first_builder") == recorded


# --- badge windows and disabled badges --------------------------------------------------------


def test_badges_outside_their_window_or_disabled_award_nothing_new_and_earned_ones_stay(
    own: OwnDatabase,
):
    veteran, newcomer = uuid4(), uuid4()
    track_times(own.db, veteran, "project_created", 5)
    track_times(own.db, veteran, "interaction", 10, client=True)
    assert awards(own.conn, veteran) == ["first_builder", "project_rookie", "sociable_dev"]
    rookie_at = earned_at(own.conn, veteran, "project_rookie")

    own.sync(project_rookie=PAST, sociable_dev={"enabled": False})
    answers = [
        *track_times(own.db, newcomer, "project_created", 6),
        *track_times(own.db, newcomer, "interaction", 12, client=True),
    ]

    assert [a["awarded"] for a in answers if a["awarded"]] == [["first_builder"]]
    assert own.db.check_badges(newcomer) == {"awarded": [], "revoked": 0}
    assert awards(own.conn, newcomer) == ["first_builder"]
    # The veteran keeps both, sees both as earned, and a check takes nothing away.
    assert own.db.check_badges(veteran) == {"awarded": [], "revoked": 0}
    assert awards(own.conn, veteran) == ["first_builder", "project_rookie", "sociable_dev"]
    listing = own.db.list_badges(veteran)
    assert listed(listing, "project_rookie")["earned"] is True
    assert datetime.fromisoformat(listed(listing, "project_rookie")["ends_at"]) == datetime(
        2021, 1, 1, tzinfo=UTC
    )
    assert listed(listing, "sociable_dev")["earned"] is True
    assert listing["earned_count"] == 3
    # A service award of the earned one answers it, unchanged.
    again = own.db.award_badge(veteran, "project_rookie", client=False)
    assert again["awarded"] is False
    assert datetime.fromisoformat(again["earned_at"]) == rookie_at
    # The newcomer sees the out-of-window badge locked and not the disabled one at all.
    theirs = own.db.list_badges(newcomer)
    assert listed(theirs, "project_rookie")["earned"] is False
    assert "sociable_dev" not in listed_ids(theirs)
    with pytest.raises(UnknownBadge):
        own.db.award_badge(newcomer, "sociable_dev", client=False)


def test_an_award_outside_a_badges_window_is_badge_inactive_until_it_opens_again(
    own: OwnDatabase, user: UUID
):
    launch = badge("launch_party", "client", category="events")
    preview = badge("preview_pass", "client", category="events")
    own.sync([{**launch, **PAST}, {**preview, **FUTURE}], project_rookie=PAST)
    answers = track_times(own.db, user, "project_created", 5)

    for badge_id, client in [
        ("launch_party", True),
        ("preview_pass", True),
        ("launch_party", False),
        ("project_rookie", False),
    ]:
        with pytest.raises(BadgeInactive):
            own.db.award_badge(user, badge_id, client=client)
    assert [a["awarded"] for a in answers] == [["first_builder"], [], [], [], []]
    assert awards(own.conn, user) == ["first_builder"]

    own.sync([{**launch, **OPEN}, {**preview, **OPEN}], project_rookie=OPEN)
    held_after_sync = awards(own.conn, user)
    sixth = own.db.track(user, MetricEvent("project_created"), client=False)
    launched = own.db.award_badge(user, "launch_party", client=True)
    previewed = own.db.award_badge(user, "preview_pass", client=True)

    assert held_after_sync == ["first_builder"]  # the sync itself awards nothing
    assert sixth["awarded"] == ["project_rookie"]
    assert (launched["awarded"], previewed["awarded"]) == (True, True)
    assert awards(own.conn, user) == [
        "first_builder",
        "launch_party",
        "preview_pass",
        "project_rookie",
    ]


def test_an_all_of_badge_outside_its_window_is_not_awarded_when_its_requirements_are_met(
    own: OwnDatabase, user: UUID
):
    own.sync(all_rounder=PAST)
    for metric in ("project_created", "journey_entry", "contribution_approved"):
        own.db.track(user, MetricEvent(metric), client=False)

    tenth = own.db.track(user, MetricEvent("interaction", 10), client=False)

    assert tenth["awarded"] == ["sociable_dev"]
    assert own.db.check_badges(user) == {"awarded": [], "revoked": 0}
    assert "all_rounder" not in awards(own.conn, user)


def test_a_dated_event_is_judged_by_the_window_at_its_own_time(own: OwnDatabase):
    """An import of last season's events earns last season's badge; an event from before a
    window opened does not earn the badge even while the window is open now."""
    own.sync(project_rookie=PAST, project_enthusiast=OPEN)
    in_season, before_season = uuid4(), uuid4()

    imported = call(
        own.conn,
        "track",
        p_user_id=in_season,
        p_metric="project_created",
        p_amount=5,
        p_client=False,
        p_at=datetime(2020, 6, 1, tzinfo=UTC),
    )
    early = call(
        own.conn,
        "track",
        p_user_id=before_season,
        p_metric="project_created",
        p_amount=15,
        p_client=False,
        p_at=datetime(2019, 6, 1, tzinfo=UTC),
    )

    assert imported["awarded"] == ["first_builder", "project_rookie"]
    assert earned_at(own.conn, in_season, "project_rookie") == datetime(2020, 6, 1, tzinfo=UTC)
    assert early["awarded"] == ["first_builder"]
    assert "project_enthusiast" not in awards(own.conn, before_season)


def test_a_backfilled_award_is_never_dated_before_its_window_opened(own: OwnDatabase, user: UUID):
    call(
        own.conn,
        "track",
        p_user_id=user,
        p_metric="project_created",
        p_amount=15,
        p_client=False,
        p_at=T0,
    )
    opened = {"starts_at": "2025-06-01T00:00:00+00:00", "ends_at": OPEN["ends_at"]}
    own.sync([badge("project_dozen", "metric", metric="project_created", threshold=12, **opened)])

    assert (
        own.db.check_badges_all("project_dozen", notify=False, revoke=False)["awarded_count"] == 1
    )
    assert earned_at(own.conn, user, "project_dozen") == datetime(2025, 6, 1, tzinfo=UTC)


def test_a_single_badge_backfill_also_awards_the_composites_it_completes(
    own: OwnDatabase, user: UUID
):
    own.sync(team_spirit={"enabled": False})
    for metric in ("project_created", "journey_entry", "contribution_approved"):
        own.db.track(user, MetricEvent(metric), client=False)
    own.db.track(user, MetricEvent("interaction", 10), client=False)
    assert "all_rounder" not in awards(own.conn, user)

    own.sync()
    result = own.db.check_badges_all("team_spirit", notify=False, revoke=False)

    assert result == {"awarded_count": 2, "revoked_count": 0}
    assert {"team_spirit", "all_rounder"} <= set(awards(own.conn, user))


# --- auto-revoke and manual revocation --------------------------------------------------------


def test_an_auto_revoke_badge_lapses_on_check_and_comes_back_when_the_rule_holds_again(
    own: OwnDatabase, user: UUID
):
    own.sync(project_rookie={"auto_revoke": True})
    track_times(own.db, user, "project_created", 5)
    rarity_held = listed(own.db.list_badges(user), "project_rookie")["rarity"]

    lowered = own.db.track(user, MetricEvent("project_created", -2), client=False)
    held_after_track = awards(own.conn, user)
    checked = own.db.check_badges(user)
    after_check = (
        awards(own.conn, user),
        badge_count(own.conn, user),
        listed(own.db.list_badges(user), "project_rookie")["rarity"],
    )
    checked_again = own.db.check_badges(user)
    back = own.db.track(user, MetricEvent("project_created", 2), client=False)

    assert rarity_held == {"earned_count": 1, "earned_percent": 100.0}
    assert (lowered["total"], lowered["awarded"]) == (3, [])
    assert held_after_track == ["first_builder", "project_rookie"]  # only a check revokes
    assert checked == {"awarded": [], "revoked": 1}
    assert after_check == (["first_builder"], 1, {"earned_count": 0, "earned_percent": 0.0})
    assert revocations(own.conn, user) == [
        ("project_rookie", True, "auto_revoke", "rule no longer holds")
    ]
    assert checked_again == {"awarded": [], "revoked": 0}
    assert (back["total"], back["awarded"]) == (5, ["project_rookie"])
    assert awards(own.conn, user) == ["first_builder", "project_rookie"]
    assert badge_count(own.conn, user) == 2
    assert listed(own.db.list_badges(user), "project_rookie")["rarity"] == rarity_held


def test_a_badge_revoked_by_hand_is_never_given_back_by_the_rules(own: OwnDatabase, user: UUID):
    own.sync(project_rookie={"auto_revoke": True})
    track_times(own.db, user, "project_created", 5)

    revoked = [
        own.db.revoke_badge(user, b, "counted spam projects", "moderator")
        for b in ("first_builder", "project_rookie")
    ]
    answers = track_times(own.db, user, "project_created", 10)
    checked = own.db.check_badges(user)

    assert revoked == [{"revoked": True}, {"revoked": True}]
    assert [a["awarded"] for a in answers if a["awarded"]] == [["project_enthusiast"]]
    assert answers[-1]["total"] == 15
    assert checked == {"awarded": [], "revoked": 0}
    assert awards(own.conn, user) == ["project_enthusiast"]
    assert revocations(own.conn, user) == [
        ("first_builder", False, "moderator", "counted spam projects"),
        ("project_rookie", False, "moderator", "counted spam projects"),
    ]
