"""Streak freezes: granted by the catalog's [streak_freezes] policy or by a service, spent one
per missed day (all or nothing) at the next activity or in the daily batch, exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from badges.catalog import load_catalog
from badges.errors import InvalidRequest
from badges.store.db import BadgesDb
from tests.sql.conftest import Conn, call, record_activity_at, rows
from tests.sql.test_concurrency import run_together

NOON = datetime(2025, 3, 1, 12, tzinfo=UTC)


def at(offset: int) -> datetime:
    return NOON + timedelta(days=offset)


def day(offset: int) -> str:
    return at(offset).date().isoformat()


def activity(conn: Conn, user: UUID, offset: int, tz: str = "UTC") -> dict[str, Any]:
    return record_activity_at(conn, user, tz, at(offset))


def grant(conn: Conn, user: UUID, n: int) -> int:
    result: dict[str, Any] = call(conn, "grant_freezes", p_user_id=user, p_count=n)
    return int(result["freezes_left"])


def frozen(conn: Conn, user: UUID) -> list[date]:
    return [
        r[0]
        for r in rows(
            conn, "select day from badges.frozen_days where user_id = %s order by day", user
        )
    ]


def with_policy(db: BadgesDb, every_days: int, max_held: int) -> dict[str, Any]:
    policy = {"every_days": every_days, "max_held": max_held}
    return db.sync_catalog(load_catalog().sync_payload() | {"streak_freezes": policy})


def test_the_policy_grants_a_freeze_at_every_multiple_up_to_the_cap(
    iso_db: BadgesDb, iso_conn: Conn, user: UUID
):
    with_policy(iso_db, every_days=2, max_held=2)

    left = [activity(iso_conn, user, d)["freezes_left"] for d in range(7)]

    # streak 1..7: a freeze at 2, 4 (then 2 held: 6 grants nothing)
    assert left == [0, 1, 1, 2, 2, 2, 2]


def test_a_restarted_streak_earns_again_and_no_policy_grants_nothing(
    iso_db: BadgesDb, iso_conn: Conn, user: UUID
):
    with_policy(iso_db, every_days=2, max_held=5)
    assert [activity(iso_conn, user, d)["freezes_left"] for d in (0, 1, 5, 6)] == [0, 1, 1, 2]

    iso_db.sync_catalog(load_catalog().sync_payload())  # no [streak_freezes]: policy removed
    assert rows(iso_conn, "select count(*) from badges.streak_freeze_policy") == [(0,)]
    assert [activity(iso_conn, user, d)["freezes_left"] for d in (7, 8)] == [2, 2]


def test_the_policy_syncs_idempotently(iso_db: BadgesDb, iso_conn: Conn):
    assert with_policy(iso_db, 7, 3)["changed"] == 1
    assert with_policy(iso_db, 7, 3)["changed"] == 0
    assert with_policy(iso_db, 7, 2)["changed"] == 1
    assert rows(iso_conn, "select every_days, max_held from badges.streak_freeze_policy") == [
        (7, 2)
    ]
    with pytest.raises(InvalidRequest, match="every_days_check"):
        with_policy(iso_db, 0, 2)


def test_a_missed_day_is_frozen_at_the_next_activity_and_the_streak_continues(
    conn: Conn, user: UUID
):
    activity(conn, user, 0)
    activity(conn, user, 1)
    assert grant(conn, user, 1) == 1

    result = activity(conn, user, 3)  # day 2 missed

    assert result["current_streak"] == 3  # the frozen day bridges, adds nothing
    assert result["freezes_left"] == 0
    assert result["frozen_days"] == [day(2)]
    assert frozen(conn, user) == [at(2).date()]
    assert activity(conn, user, 4)["current_streak"] == 4


def test_two_missed_days_with_one_freeze_break_the_streak_and_spend_nothing(conn: Conn, user: UUID):
    activity(conn, user, 0)
    grant(conn, user, 1)

    result = activity(conn, user, 3)  # days 1 and 2 missed

    assert (result["current_streak"], result["freezes_left"], result["frozen_days"]) == (1, 1, [])
    assert frozen(conn, user) == []


def test_two_missed_days_with_two_freezes_spend_both(conn: Conn, user: UUID):
    activity(conn, user, 0)
    grant(conn, user, 3)

    result = activity(conn, user, 3)

    assert result["current_streak"] == 2
    assert result["freezes_left"] == 1
    assert result["frozen_days"] == [day(1), day(2)]


def test_frozen_days_of_an_earlier_streak_are_not_reported(conn: Conn, user: UUID):
    activity(conn, user, 0)
    grant(conn, user, 1)
    activity(conn, user, 2)  # day 1 frozen
    result = activity(conn, user, 9)  # a new streak

    assert (result["current_streak"], result["frozen_days"]) == (1, [])
    assert frozen(conn, user) == [at(1).date()]


NOW = "select now()"


def test_the_batch_freezes_yesterday_and_the_activity_does_not_again(
    iso_conn: Conn, iso_db: BadgesDb, user: UUID
):
    now = iso_conn.execute(NOW).fetchone()[0]  # type: ignore[index]
    record_activity_at(iso_conn, user, "UTC", now - timedelta(days=3))
    record_activity_at(iso_conn, user, "UTC", now - timedelta(days=2))
    grant(iso_conn, user, 2)
    yesterday = (now - timedelta(days=1)).astimezone(UTC).date()

    batch = iso_db.check_streaks_all()

    assert batch["freezes_used"] == 1
    assert frozen(iso_conn, user) == [yesterday]
    streak = iso_db.check_streaks(user)  # a read the same day: alive, nothing more spent
    assert (streak["current_streak"], streak["freezes_left"]) == (2, 1)
    assert streak["frozen_days"] == [yesterday.isoformat()]
    assert iso_db.check_streaks_all()["freezes_used"] == 0
    # the rules' and reads' view (list, progress) sees the streak alive too
    assert rows(iso_conn, "select current_streak from badges.user_facts(%s)", user) == [(2,)]

    result = record_activity_at(iso_conn, user, "UTC", now)

    assert (result["current_streak"], result["freezes_left"]) == (3, 1)
    assert frozen(iso_conn, user) == [yesterday]


def test_the_batch_spends_nothing_when_too_few_freezes_are_held(
    iso_conn: Conn, iso_db: BadgesDb, user: UUID
):
    now = iso_conn.execute(NOW).fetchone()[0]  # type: ignore[index]
    record_activity_at(iso_conn, user, "UTC", now - timedelta(days=3))  # 2 days missed since
    grant(iso_conn, user, 1)

    assert iso_db.check_streaks_all()["freezes_used"] == 0
    assert frozen(iso_conn, user) == []
    assert iso_db.check_streaks(user)["freezes_left"] == 1


def test_check_streaks_spends_a_freeze_for_a_missed_day(conn: Conn, db: BadgesDb, user: UUID):
    now = conn.execute(NOW).fetchone()[0]  # type: ignore[index]
    record_activity_at(conn, user, "UTC", now - timedelta(days=2))
    grant(conn, user, 1)

    streak = db.check_streaks(user)

    assert (streak["current_streak"], streak["freezes_left"]) == (1, 0)
    assert len(streak["frozen_days"]) == 1


def test_the_batch_and_an_activity_racing_spend_one_freeze(
    iso_url: str, iso_conn: Conn, user: UUID
):
    """The batch and the user's activities on real concurrent connections: whichever gets the
    user's lock first freezes the missed day; the others find it frozen."""
    now = iso_conn.execute(NOW).fetchone()[0]  # type: ignore[index]
    record_activity_at(iso_conn, user, "UTC", now - timedelta(days=2))
    grant(iso_conn, user, 5)
    activity_call = (
        "select badges.record_activity(p_user_id => %s, p_timezone => 'UTC')",
        (user,),
    )
    batch_call = ("select badges.check_streaks_all()", ())

    results = run_together(iso_url, [batch_call] * 4 + [activity_call] * 8)

    assert sum(r["freezes_used"] for r in results[:4]) in (0, 1)
    assert {r["freezes_left"] for r in results[4:]} == {4}
    assert {r["current_streak"] for r in results[4:]} == {2}
    assert len(frozen(iso_conn, user)) == 1
    assert rows(iso_conn, "select freezes_left from badges.streaks where user_id = %s", user) == [
        (4,)
    ]


def test_hopping_east_gains_no_day_and_spends_no_freeze(conn: Conn, user: UUID):
    """Late on day 1 in UTC it is already day 2 at UTC+14: the hop still counts day 1, so
    neither a day is skipped (spending a freeze) nor one gained."""
    activity(conn, user, 0)
    grant(conn, user, 1)
    late = NOON + timedelta(days=1, hours=11)  # 23:00 UTC on day 1

    result = record_activity_at(conn, user, "Pacific/Kiritimati", late)

    assert (result["current_streak"], result["freezes_left"], result["frozen_days"]) == (2, 1, [])
    # Noon UTC on day 2 (day 3 at UTC+14): within a day of the change, day 2 counts, no freeze.
    result = record_activity_at(conn, user, "Pacific/Kiritimati", late + timedelta(hours=13))
    assert (result["current_streak"], result["freezes_left"]) == (3, 1)
    assert frozen(conn, user) == []


def test_service_grant_adds_beyond_the_policy_cap_and_checks_the_count(
    iso_db: BadgesDb, user: UUID
):
    with_policy(iso_db, every_days=7, max_held=1)

    assert iso_db.grant_freezes(user, 2) == {"freezes_left": 2}
    assert iso_db.grant_freezes(user, 10) == {"freezes_left": 12}
    for bad in (0, 11):
        with pytest.raises(InvalidRequest, match="nvalid freeze count"):
            iso_db.grant_freezes(user, bad)
    assert iso_db.check_streaks(user)["freezes_left"] == 12


def test_a_grant_before_any_activity_keeps_the_users_first_zone(conn: Conn, user: UUID):
    grant(conn, user, 1)

    first = record_activity_at(conn, user, "Asia/Tokyo", datetime(2025, 3, 1, 20, tzinfo=UTC))

    assert first["current_streak"] == 1
    assert rows(
        conn,
        "select timezone, previous_timezone, last_active_day from badges.streaks"
        " where user_id = %s",
        user,
    ) == [("Asia/Tokyo", None, date(2025, 3, 2))]
