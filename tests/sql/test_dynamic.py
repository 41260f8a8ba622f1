"""Dynamic badges (a rule over a rolling `within_days` window): awarded when the window holds,
revoked by the batch check when it lapses (silently: the inbox keeps only the award's message),
earned again with a new message; the window's edges, in the user's time zone for active days;
what `list` shows; the sync of the field and the checks that back the catalog file's.

Time travel: track and record_activity take p_at (the event's instant, which the rules judge
the window at), check_badges_all takes p_at (the batch run as of then). The tests share one
Dev-Space database with the windowed badges below added, and keep apart by fresh user ids; the
batch runs over every user, so each test asserts on its own user only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import errors

from badges.catalog import load_catalog, parse_catalog
from badges.store.db import BadgesDb, MetricEvent
from badges.store.postgres import PostgresStore
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, call, rows
from tests.sql.rules_fixtures import (
    OwnDatabase,
    awards,
    badge,
    badge_count,
    earned_at,
    listed,
    notified,
    own_fixture,  # noqa: F401 (provides the fixture `own`)
    sync_variation,
)

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)

WINDOWED = [
    # 3 interactions within the last 7 days
    badge(
        "busy_week",
        "metric",
        metric="interaction",
        threshold=3,
        within_days=7,
        category="social",
    ),
    # 3 different journey entries (items) within the last 7 days
    badge(
        "varied_week",
        "distinct",
        metric="journey_entry",
        threshold=3,
        within_days=7,
        category="journey",
    ),
    # active on 3 of the last 7 days
    badge("weekly_regular", "active_days", threshold=3, within_days=7, category="consistency"),
]


@pytest.fixture(scope="module")
def dyn(make_catalog_database: Callable[[Path], str]) -> Iterator[OwnDatabase]:
    """The Dev-Space catalog with the windowed badges, in a database of this module's own."""
    url = make_catalog_database(DEVSPACE)
    store = PostgresStore(url, pool_size=2)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            database = OwnDatabase(url, BadgesDb(store), conn)
            sync_variation(database.db, WINDOWED)
            yield database
    finally:
        store.close()


def db_now(conn: Conn) -> datetime:
    found: datetime = rows(conn, "select now()")[0][0]
    return found


def track_at(
    conn: Conn, user: UUID, metric: str, at: datetime | None, item: str | None = None
) -> dict[str, Any]:
    """badges.track of 1 by a service, dated at (None: now)."""
    result: dict[str, Any] = call(
        conn,
        "track",
        p_user_id=user,
        p_metric=metric,
        p_amount=1,
        p_client=False,
        p_item=item,
        p_at=at,
    )
    return result


def batch(conn: Conn, at: datetime | None) -> dict[str, Any]:
    """The daily check (notify, revoke), run as of at (None: now)."""
    result: dict[str, Any] = call(
        conn, "check_badges_all", p_badge_id=None, p_notify=True, p_revoke=True, p_at=at
    )
    return result


def revocations(conn: Conn, user: UUID) -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "select badge_id, automatic, revoked_by, reason from badges.revocations"
        " where user_id = %s order by id",
        user,
    )


def inbox_kinds(conn: Conn, user: UUID) -> list[tuple[str, str]]:
    """(kind, badge_id) of every inbox message of the user, oldest first."""
    return [
        (r[0], r[1])
        for r in rows(
            conn,
            "select kind, badge_id from badges.notifications where user_id = %s order by id",
            user,
        )
    ]


def outbox_rows(conn: Conn, user: UUID) -> list[str]:
    return [
        r[0]
        for r in rows(
            conn, "select dedupe_key from badges.outbox where user_id = %s order by id", user
        )
    ]


# --- awarded, lapsed, earned again ------------------------------------------------------------


def test_a_windowed_metric_badge_is_awarded_revoked_silently_when_it_lapses_and_earned_again(
    dyn: OwnDatabase,
):
    conn, user = dyn.conn, uuid4()
    base = db_now(conn) - 30 * DAY

    first = [track_at(conn, user, "interaction", base + n * DAY) for n in range(3)]
    batch(conn, base + 6 * DAY)
    awards_at_day_6 = awards(conn, user)
    batch(conn, base + 7 * DAY + SECOND)  # the first interaction left the window
    after_lapse = (awards(conn, user), badge_count(conn, user), inbox_kinds(conn, user))
    listing_lapsed = listed(dyn.db.list_badges(user), "busy_week")
    again = [track_at(conn, user, "interaction", None) for _ in range(3)]
    listing_again = listed(dyn.db.list_badges(user), "busy_week")
    batch(conn, None)

    assert [a["awarded"] for a in first] == [[], [], ["busy_week"]]
    assert awards_at_day_6 == ["busy_week"]
    assert revocations(conn, user) == [("busy_week", True, "auto_revoke", "rule no longer holds")]
    # The revocation wrote nothing: the inbox holds the award's message alone, and the
    # counters (the awards' delete trigger) dropped the badge.
    assert after_lapse == ([], 0, [("badge.earned", "busy_week")])
    assert (listing_lapsed["earned"], listing_lapsed["progress"]) == (
        False,
        {"current": 0, "target": 3},
    )
    assert [a["awarded"] for a in again] == [[], [], ["busy_week"]]
    assert awards(conn, user) == ["busy_week"]  # the batch as of now leaves it: it holds
    assert badge_count(conn, user) == 1
    assert inbox_kinds(conn, user) == [("badge.earned", "busy_week")] * 2
    # One outbox row per award (docs/notifications.md): the second earning is a new award,
    # announced once more under a key that names its instant.
    first_key, second_key = outbox_rows(conn, user)
    assert first_key == f"badge.earned:{user}:busy_week"
    assert second_key.startswith(f"badge.earned:{user}:busy_week:")
    assert call(conn, "consistency_report")["checks"]["outbox_twice"] == 0
    assert (listing_again["earned"], listing_again["progress"]) == (
        True,
        {"current": 3, "target": 3},
    )


def test_a_windowed_badge_is_earned_again_each_time_its_window_holds_again(dyn: OwnDatabase):
    conn, user = dyn.conn, uuid4()
    base = db_now(conn) - 100 * DAY

    for week in range(3):
        start = base + 14 * week * DAY
        for n in range(3):
            track_at(conn, user, "interaction", start + n * DAY)
        batch(conn, start + 10 * DAY)

    assert [r[0] for r in revocations(conn, user)] == ["busy_week"] * 3
    assert notified(conn, user) == ["busy_week"] * 3
    assert awards(conn, user) == []


def test_the_batch_awards_a_window_that_holds_dated_as_of_the_batch_and_revokes_it_later(
    own: OwnDatabase,
):
    """A badge added after the events: the daily batch awards it (announced), dated when the
    batch runs, not when the window first held; a later batch revokes it. Counts are exact in a
    database of the test's own."""
    conn, user = own.conn, uuid4()
    base = db_now(conn) - 30 * DAY
    for n in range(3):
        track_at(conn, user, "interaction", base + n * DAY)
    own.sync(WINDOWED)

    awarded = batch(conn, base + 5 * DAY)
    dated = earned_at(conn, user, "busy_week")
    revoked = batch(conn, base + 9 * DAY)

    assert awarded == {"awarded_count": 1, "revoked_count": 0}
    assert dated == base + 5 * DAY
    assert revoked == {"awarded_count": 0, "revoked_count": 1}
    assert (awards(conn, user), notified(conn, user)) == ([], ["busy_week"])


# --- the window's edges ----------------------------------------------------------------------


def test_an_event_counts_for_exactly_within_days_days_after_it_occurred(dyn: OwnDatabase):
    conn, user = dyn.conn, uuid4()
    event = db_now(conn) - 40 * DAY
    for _ in range(3):
        track_at(conn, user, "interaction", event)

    batch(conn, event + 7 * DAY - SECOND)
    held_a_second_before = awards(conn, user)
    batch(conn, event + 7 * DAY)  # occurred_at > at - 7 days: exactly 7 days on, no longer

    assert held_a_second_before == ["busy_week"]
    assert awards(conn, user) == []
    assert [r[0] for r in revocations(conn, user)] == ["busy_week"]


def test_the_window_is_within_days_times_24_hours_whatever_the_sessions_time_zone(
    dyn: OwnDatabase,
):
    """Across New York's switch to summer time (2025-03-09), in a session of that zone: seven
    calendar days back would be 167 hours, cutting the event off an hour early."""
    user = uuid4()
    event = datetime(2025, 3, 5, 12, tzinfo=UTC)
    with psycopg.connect(dyn.url, autocommit=True) as conn:
        conn.execute("set timezone = 'America/New_York'")
        for _ in range(3):
            track_at(conn, user, "interaction", event)
        batch(conn, event + 7 * DAY - SECOND)
        held = awards(conn, user)
        batch(conn, event + 7 * DAY)

        assert held == ["busy_week"]
        assert awards(conn, user) == []


def test_a_track_does_not_count_events_older_than_the_window(dyn: OwnDatabase):
    conn, user = dyn.conn, uuid4()
    now = db_now(conn)

    old = track_at(conn, user, "interaction", now - 7 * DAY - SECOND)
    two = [track_at(conn, user, "interaction", None) for _ in range(2)]  # judged as of now
    progress = listed(dyn.db.list_badges(user), "busy_week")["progress"]
    third = track_at(conn, user, "interaction", None)

    assert [old["awarded"], *(r["awarded"] for r in two)] == [[], [], []]
    assert two[-1]["total"] == 3  # the all-time total counts every event; the window does not
    assert progress == {"current": 2, "target": 3}
    assert third["awarded"] == ["busy_week"]


def test_a_distinct_window_counts_different_items_among_the_windows_events(dyn: OwnDatabase):
    conn, user = dyn.conn, uuid4()
    base = db_now(conn) - 50 * DAY

    first = [
        track_at(conn, user, "journey_entry", base + n * DAY, item)
        for n, item in enumerate(["alps", "alps", "bali", "cusco"])
    ]
    batch(conn, base + 8 * DAY + SECOND)  # both alps left the window: bali and cusco remain
    lapsed = awards(conn, user)
    repeated = track_at(conn, user, "journey_entry", base + 8 * DAY + 2 * SECOND, "alps")

    assert [a["awarded"] for a in first] == [["first_log"], [], [], ["varied_week"]]
    assert lapsed == ["first_log"]
    # alps is not a new item for the all-time count, but it is new to this window again.
    assert (repeated["distinct_count"], repeated["awarded"]) == (3, ["varied_week"])


def test_active_days_count_calendar_days_in_the_users_time_zone(dyn: OwnDatabase):
    conn, user = dyn.conn, uuid4()
    tokyo = ZoneInfo("Asia/Tokyo")
    start = (db_now(conn) - 60 * DAY).astimezone(tokyo).replace(hour=12, minute=0, second=0)

    days = [
        call(
            conn,
            "record_activity",
            p_user_id=user,
            p_timezone="Asia/Tokyo",
            p_at=start + n * DAY,
        )
        for n in (0, 3, 6)
    ]
    # The window is the 7 days ending today in Tokyo: the first day leaves it at Tokyo's
    # midnight, 15:00 UTC of the day before by the UTC calendar.
    last_tokyo_evening = start + 6 * DAY + timedelta(hours=11, minutes=30)
    batch(conn, last_tokyo_evening)
    held_awards = awards(conn, user)
    next_tokyo_morning = start + 7 * DAY - timedelta(hours=11, minutes=30)
    batch(conn, next_tokyo_morning)

    assert [d["awarded"] for d in days] == [[], [], ["weekly_regular"]]
    assert [d["current_streak"] for d in days] == [1, 1, 1]  # not a streak: 3 of 7 days
    assert next_tokyo_morning.astimezone(UTC).date() == last_tokyo_evening.astimezone(UTC).date()
    assert held_awards == ["weekly_regular"]
    assert awards(conn, user) == []
    assert notified(conn, user) == ["weekly_regular"]


def test_todays_activity_completes_an_active_days_badge_and_progress_counts_the_window(
    dyn: OwnDatabase,
):
    conn, user = dyn.conn, uuid4()
    now = db_now(conn)
    for n in (9, 4, 2):  # 9 days ago is outside the window
        call(conn, "record_activity", p_user_id=user, p_timezone="UTC", p_at=now - n * DAY)

    checked = dyn.db.check_badges(user)
    before = listed(dyn.db.list_badges(user), "weekly_regular")
    activity = dyn.db.record_activity(user, None)
    after = listed(dyn.db.list_badges(user), "weekly_regular")

    assert checked == {"awarded": [], "revoked": 0}
    assert (before["earned"], before["progress"]) == (False, {"current": 2, "target": 3})
    assert activity["awarded"] == ["weekly_regular"]
    assert (after["earned"], after["progress"]) == (True, {"current": 3, "target": 3})


def test_a_quiz_answer_is_activity_that_completes_an_active_days_badge(
    isolated_database_url: str,
):
    """record_score records the day active, so it awards active_days badges as it does streaks
    (the v1 catalog, which has quiz providers, with a one-day badge added)."""
    store = PostgresStore(isolated_database_url, pool_size=1)
    try:
        db = BadgesDb(store)
        payload = load_catalog().sync_payload()
        daily = badge("here_today", "active_days", threshold=1, within_days=1)
        db.sync_catalog(payload | {"badges": [*payload["badges"], daily]})
        answered = db.record_score(uuid4(), "openai", True)
    finally:
        store.close()

    assert answered["awarded"] == ["here_today"]


# --- what list shows --------------------------------------------------------------------------


def test_the_list_shows_a_lapsed_badge_unearned_before_the_batch_removes_it(dyn: OwnDatabase):
    conn, user = dyn.conn, uuid4()
    base = db_now(conn) - 20 * DAY
    for n in range(3):
        track_at(conn, user, "interaction", base + n * DAY)

    listing = dyn.db.list_badges(user)

    # The award is still there (the daily batch removes it), but it no longer holds.
    assert awards(conn, user) == ["busy_week"]
    busy = listed(listing, "busy_week")
    assert (busy["earned"], busy["earned_at"], busy["progress"]) == (
        False,
        None,
        {"current": 0, "target": 3},
    )
    assert listing["earned_count"] == 0
    assert earned_at(conn, user, "busy_week") == base + 2 * DAY


# --- the catalog in the database --------------------------------------------------------------

CATALOG = """
[[metrics]]
id = "answer"
name = "Answers"
unit = "answers"

[[badges]]
id = "answers_this_week"
name = "Ten answers this week"
rule = "metric"
metric = "answer"
threshold = 10
within_days = 7

[[badges]]
id = "five_of_seven"
name = "Five of seven"
rule = "active_days"
threshold = 5
within_days = 7
"""


def test_within_days_syncs_round_trip_implies_auto_revoke_and_a_resync_changes_nothing(
    isolated_database_url: str,
):
    store = PostgresStore(isolated_database_url, pool_size=1)
    try:
        db = BadgesDb(store)
        payload = parse_catalog(CATALOG).sync_payload()
        first = db.sync_catalog(payload)
        again = db.sync_catalog(payload)
        with psycopg.connect(isolated_database_url) as conn:
            synced = rows(
                conn,
                "select id, rule, threshold, metric, within_days, auto_revoke"
                " from badges.definitions where enabled order by id",
            )
    finally:
        store.close()

    assert first["changed"] > 0
    assert again["changed"] == 0
    assert synced == [
        ("answers_this_week", "metric", 10, "answer", 7, True),
        ("five_of_seven", "active_days", 5, None, 7, True),
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"rule": "streak", "threshold": 3, "within_days": 7},
        {"rule": "active_days", "threshold": 3},
        {"rule": "active_days", "threshold": 8, "within_days": 7},
        {"rule": "metric", "metric": "interaction", "threshold": 3, "within_days": 367},
        {"rule": "client", "within_days": 7},
    ],
    ids=["streak", "no-window", "threshold-over-window", "too-long", "client"],
)
def test_the_database_refuses_a_window_the_catalog_file_would_refuse(
    isolated_database_url: str, fields: dict[str, Any]
):
    """The checks behind the file's validation, for a payload that did not come from it."""
    with (
        psycopg.connect(isolated_database_url, autocommit=True) as conn,
        pytest.raises(errors.CheckViolation),
    ):
        call(
            conn,
            "sync_catalog",
            p_catalog={
                "badges": [badge("bad", **fields)],
                "providers": [],
                "metrics": [{"id": "interaction", "name": "Interactions"}],
                "levels": [],
                "streak_freezes": None,
                "leaderboards": [],
            },
        )


def test_a_payload_windowed_badge_without_auto_revoke_is_synced_auto_revoke(
    isolated_database_url: str,
):
    with psycopg.connect(isolated_database_url, autocommit=True) as conn:
        call(
            conn,
            "sync_catalog",
            p_catalog={
                "badges": [badge("weekly", "active_days", threshold=2, within_days=7)],
                "providers": [],
                "metrics": [],
                "levels": [],
                "streak_freezes": None,
                "leaderboards": [],
            },
        )
        assert rows(conn, "select auto_revoke from badges.definitions where id = 'weekly'") == [
            (True,)
        ]


def test_a_windowed_badge_track_via_the_store_is_judged_at_the_events_instant(
    dyn: OwnDatabase,
):
    conn, user = dyn.conn, uuid4()
    then = db_now(conn) - 300 * DAY
    answers = [
        dyn.db.track(user, MetricEvent("interaction", occurred_at=then + n * DAY), client=False)
        for n in range(3)
    ]

    assert answers[-1]["awarded"] == ["busy_week"]
    assert earned_at(conn, user, "busy_week") == then + 2 * DAY
