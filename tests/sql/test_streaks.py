"""Activity days and streaks: days in the user's own time zone, gaps, liveness, streak badges."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from badges.errors import InvalidRequest
from badges.store.db import BadgesDb
from tests.sql.conftest import Conn, count, record_activity_at, rows

NOON = datetime(2025, 3, 1, 12, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def days(conn: Conn, user: UUID) -> list[date]:
    return [
        r[0]
        for r in rows(
            conn, "select day from badges.activity_days where user_id = %s order by day", user
        )
    ]


def record_days(conn: Conn, user: UUID, offsets: list[int]) -> list[dict[str, Any]]:
    """Activity at noon UTC on NOON + each offset (days), in order; returns every result."""
    return [record_activity_at(conn, user, "UTC", NOON + timedelta(days=d)) for d in offsets]


@pytest.mark.parametrize(
    ("offsets", "current", "longest"),
    [
        ([0], 1, 1),
        ([0, 1, 2], 3, 3),
        ([0, 1, 2, 4], 1, 3),  # a gap starts over; the longest is kept
        ([0, 1, 2, 4, 5], 2, 3),
        ([0, 2, 3, 4, 5], 4, 4),
        ([0, 0, 1, 1, 2], 3, 3),  # a second activity on the same day counts once
        ([0, 5, 6], 2, 2),
    ],
)
def test_streak_counts_consecutive_days_and_restarts_after_a_gap(
    conn: Conn, user: UUID, offsets: list[int], current: int, longest: int
):
    last = record_days(conn, user, offsets)[-1]

    assert (last["current_streak"], last["longest_streak"]) == (current, longest)
    assert rows(
        conn,
        "select current_streak, longest_streak, last_active_day from badges.streaks"
        " where user_id = %s",
        user,
    ) == [(current, longest, (NOON + timedelta(days=max(offsets))).date())]
    assert len(days(conn, user)) == len(set(offsets))


@pytest.mark.parametrize(
    ("tz", "instants", "streak", "active_days"),
    [
        # One hour apart, the same UTC day, either side of Tokyo midnight (15:00 UTC).
        ("Asia/Tokyo", ["2025-03-01 14:30", "2025-03-01 15:30"], 2, ["2025-03-01", "2025-03-02"]),
        ("UTC", ["2025-03-01 14:30", "2025-03-01 15:30"], 1, ["2025-03-01"]),
        # One hour apart, either side of UTC midnight, the same Tokyo day.
        ("Asia/Tokyo", ["2025-03-01 23:30", "2025-03-02 00:30"], 1, ["2025-03-02"]),
        ("UTC", ["2025-03-01 23:30", "2025-03-02 00:30"], 2, ["2025-03-01", "2025-03-02"]),
        # West of UTC: 07:00 UTC is still the previous evening in Los Angeles.
        (
            "America/Los_Angeles",
            ["2025-03-01 07:30", "2025-03-01 08:30"],
            2,
            ["2025-02-28", "2025-03-01"],
        ),
    ],
)
def test_days_are_calendar_days_in_the_users_time_zone(
    conn: Conn, user: UUID, tz: str, instants: list[str], streak: int, active_days: list[str]
):
    results = [record_activity_at(conn, user, tz, utc(at)) for at in instants]

    assert results[-1]["current_streak"] == streak
    assert days(conn, user) == [date.fromisoformat(d) for d in active_days]


@pytest.mark.parametrize(
    ("days_ago", "current", "longest"),
    [
        ([0], 1, 1),
        ([1], 1, 1),  # ended yesterday: still alive, today can continue it
        ([2], 0, 1),  # ended two days ago: broken, but the longest keeps it
        ([2, 1], 2, 2),
        ([3, 2], 0, 2),
        ([5, 4, 3, 1, 0], 2, 3),
    ],
)
def test_check_streaks_reports_a_streak_alive_until_a_full_day_is_missed(
    db: BadgesDb, conn: Conn, user: UUID, days_ago: list[int], current: int, longest: int
):
    """Liveness is judged against the database's now(), in the user's (non-UTC) time zone."""
    for ago in days_ago:
        conn.execute(
            "select badges.record_activity(p_user_id => %s, p_timezone => 'Asia/Tokyo',"
            " p_at => now() - make_interval(days => %s))",
            (user, ago),
        )

    result = db.check_streaks(user)

    assert (result["current_streak"], result["longest_streak"]) == (current, longest)


def test_check_streaks_for_a_user_without_activity_reports_zero(db: BadgesDb, user: UUID):
    assert db.check_streaks(user) == {
        "current_streak": 0,
        "longest_streak": 0,
        "freezes_left": 0,
        "frozen_days": [],
        "awarded": [],
    }


def test_streak_badge_is_awarded_on_the_day_it_is_reached_and_only_once(conn: Conn, user: UUID):
    awarded = [r["awarded"] for r in record_days(conn, user, [0, 1, 2, 2, 3])]

    assert awarded == [[], [], ["streak_3d"], [], []]
    assert rows(conn, "select badge_id from badges.awards where user_id = %s", user) == [
        ("streak_3d",)
    ]


def test_seven_day_streak_awards_the_seven_day_badge(conn: Conn, user: UUID):
    awarded = [r["awarded"] for r in record_days(conn, user, list(range(7)))]

    assert awarded == [[], [], ["streak_3d"], [], [], [], ["streak_7d"]]


def test_check_streaks_awards_a_streak_badge_added_after_it_was_reached(
    iso_db: BadgesDb, iso_conn: Conn, user: UUID, catalog_payload
):
    """A streak that has since ended still earns a new badge: rules look at the longest streak."""
    payload = catalog_payload()
    iso_db.sync_catalog(
        payload | {"badges": [b for b in payload["badges"] if b["id"] != "streak_3d"]}
    )
    assert [r["awarded"] for r in record_days(iso_conn, user, [0, 1, 2])] == [[], [], []]
    iso_db.sync_catalog(payload)

    assert iso_db.check_streaks(user)["awarded"] == ["streak_3d"]
    assert iso_db.check_streaks(user)["awarded"] == []


def test_a_revoked_streak_badge_is_not_given_back_by_the_checks(
    db: BadgesDb, conn: Conn, user: UUID
):
    """Only an explicit service award restores a revoked badge; the rules never do."""
    record_days(conn, user, [0, 1, 2])
    db.revoke_badge(user, "streak_3d", "cheated", "test")

    assert db.check_streaks(user)["awarded"] == []
    assert record_activity_at(conn, user, None, datetime.now(UTC))["awarded"] == []
    assert count(conn, "notifications", user) == 1  # the first award's only
    assert db.award_badge(user, "streak_3d", client=False)["awarded"] is True


def test_stored_time_zone_is_used_when_a_later_call_passes_none(conn: Conn, user: UUID):
    record_activity_at(conn, user, "Asia/Tokyo", utc("2025-03-01 03:00"))  # Tokyo 1 March
    later = record_activity_at(conn, user, None, utc("2025-03-01 16:00"))  # Tokyo 2 March

    assert later["current_streak"] == 2
    assert days(conn, user) == [date(2025, 3, 1), date(2025, 3, 2)]
    assert rows(conn, "select timezone from badges.streaks where user_id = %s", user) == [
        ("Asia/Tokyo",)
    ]


def test_a_new_time_zone_replaces_the_stored_one(conn: Conn, user: UUID):
    record_activity_at(conn, user, "Asia/Tokyo", utc("2025-03-01 03:00"))
    record_activity_at(conn, user, "Europe/Paris", utc("2025-03-02 03:00"))

    assert rows(conn, "select timezone from badges.streaks where user_id = %s", user) == [
        ("Europe/Paris",)
    ]


def test_the_python_store_records_today_in_the_given_time_zone(
    db: BadgesDb, conn: Conn, user: UUID
):
    result = db.record_activity(user, "Pacific/Auckland")

    assert result == {
        "current_streak": 1,
        "longest_streak": 1,
        "freezes_left": 0,
        "frozen_days": [],
        "awarded": [],
    }
    assert days(conn, user) == [
        rows(conn, "select (now() at time zone 'Pacific/Auckland')::date")[0][0]
    ]


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "Asia/Tokyo ", "not a zone"])
def test_invalid_time_zone_raises_invalid_request_and_writes_nothing(
    db: BadgesDb, conn: Conn, user: UUID, tz: str
):
    with pytest.raises(InvalidRequest):
        db.record_activity(user, tz)

    assert count(conn, "streaks", user) == 0
    assert count(conn, "activity_days", user) == 0


def test_invalid_time_zone_keeps_the_stored_one(db: BadgesDb, conn: Conn, user: UUID):
    record_activity_at(conn, user, "Asia/Tokyo", utc("2025-03-01 03:00"))

    with pytest.raises(InvalidRequest):
        db.record_activity(user, "Mars/Olympus_Mons")

    assert rows(conn, "select timezone from badges.streaks where user_id = %s", user) == [
        ("Asia/Tokyo",)
    ]
    assert days(conn, user) == [date(2025, 3, 1)]


def test_check_streaks_all_awards_exactly_the_qualifying_users_once(
    iso_db: BadgesDb, iso_conn: Conn
):
    """The batch reads badges.streaks: seeded directly, as after an import or a new badge."""
    longest = {uuid4(): 1, uuid4(): 2, uuid4(): 3, uuid4(): 7, uuid4(): 30}
    already = uuid4()  # reached 3 days and already holds the badge
    longest[already] = 3
    for user_id, days_long in longest.items():
        iso_conn.execute(
            "insert into badges.streaks (user_id, current_streak, longest_streak, last_active_day)"
            " values (%s, 0, %s, '2025-03-01')",
            (user_id, days_long),
        )
    iso_db.award_badge(already, "streak_3d", client=False)
    expected = {
        (user_id, badge_id)
        for user_id, days_long in longest.items()
        for badge_id, threshold in (("streak_3d", 3), ("streak_7d", 7), ("streak_30d", 30))
        if days_long >= threshold
    }

    first = iso_db.check_streaks_all()
    second = iso_db.check_streaks_all()

    assert first == {"users_checked": 6, "awarded_count": len(expected) - 1, "freezes_used": 0}
    assert second == {"users_checked": 6, "awarded_count": 0, "freezes_used": 0}
    assert set(rows(iso_conn, "select user_id, badge_id from badges.awards")) == expected
    by_user = dict(rows(iso_conn, "select user_id, badge_count from badges.user_stats"))
    assert by_user == Counter(user_id for user_id, _ in expected)
    assert rows(iso_conn, "select count(*) from badges.notifications") == [(len(expected),)]


# At 11:00 UTC these three zones are on three consecutive dates (9, 10 and 11 March).
HOPS = ["Etc/GMT+12", "UTC", "Pacific/Kiritimati"]


def test_hopping_time_zones_east_cannot_add_streak_days(conn: Conn, user: UUID):
    """The same instant sent with zones further and further east earns one day, not three."""
    at = utc("2026-03-10 11:00")

    results = [
        record_activity_at(conn, user, tz, at + timedelta(seconds=i)) for i, tz in enumerate(HOPS)
    ]

    assert [r["current_streak"] for r in results] == [1, 1, 1]
    assert [r["awarded"] for r in results] == [[], [], []]
    assert days(conn, user) == [date(2026, 3, 9)]


def test_hopping_back_and_forth_within_a_day_gains_nothing(conn: Conn, user: UUID):
    at = utc("2026-03-10 11:00")
    zones = [*HOPS, "Etc/GMT+12", *HOPS, "UTC", "Pacific/Kiritimati"]

    for i, tz in enumerate(zones):
        record_activity_at(conn, user, tz, at + timedelta(minutes=i))

    assert days(conn, user) == [date(2026, 3, 9)]


def test_a_traveller_flying_east_keeps_a_daily_streak(conn: Conn, user: UUID):
    """Berlin on Monday evening, Tokyo on Tuesday evening: two consecutive days."""
    record_activity_at(conn, user, "Europe/Berlin", utc("2026-03-09 19:00"))  # Mon 20:00 Berlin
    tuesday = record_activity_at(conn, user, "Asia/Tokyo", utc("2026-03-10 11:00"))  # Tue 20:00
    wednesday = record_activity_at(conn, user, None, utc("2026-03-11 11:00"))  # Wed, Tokyo

    assert [tuesday["current_streak"], wednesday["current_streak"]] == [2, 3]
    assert days(conn, user) == [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]


def test_a_traveller_flying_west_keeps_a_daily_streak(conn: Conn, user: UUID):
    """Tokyo on Monday evening, Los Angeles the next days: no day skipped, none lost."""
    record_activity_at(conn, user, "Asia/Tokyo", utc("2026-03-09 11:00"))  # Mon 20:00 Tokyo
    same_day = record_activity_at(conn, user, "America/Los_Angeles", utc("2026-03-09 17:00"))
    tuesday = record_activity_at(conn, user, None, utc("2026-03-10 17:00"))  # Tue 10:00 LA

    assert [same_day["current_streak"], tuesday["current_streak"]] == [1, 2]
