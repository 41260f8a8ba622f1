"""badges.award_badge and badges.revoke_badge: idempotence, side effects, client rule, audit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from badges.errors import Forbidden, UnknownBadge
from badges.store.db import BadgesDb
from tests.sql.conftest import CATALOG_BADGES, Conn, call, count, flush_stats, rows, stats

SERVER_ONLY_BADGES = [b for b in CATALOG_BADGES if b != "social_sharer"]


def notifications(conn: Conn, user: UUID) -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "select kind, badge_id, message from badges.notifications where user_id = %s order by id",
        user,
    )


def test_first_award_is_new_and_repeat_is_not_with_the_same_earned_at(db: BadgesDb, user: UUID):
    first = db.award_badge(user, "social_sharer", client=True)
    again = db.award_badge(user, "social_sharer", client=True)

    assert first["awarded"] is True
    assert again["awarded"] is False
    assert again["earned_at"] == first["earned_at"]
    assert first["badge"]["id"] == again["badge"]["id"] == "social_sharer"


def test_new_award_writes_one_notification_and_bumps_badge_count(
    db: BadgesDb, conn: Conn, user: UUID
):
    db.award_badge(user, "social_sharer", client=True)

    assert notifications(conn, user) == [
        (
            "badge.earned",
            "social_sharer",
            "Congrats! You earned Social Sharer! Shared your progress.",
        )
    ]
    assert stats(conn, user) == (1, 0)


def test_repeated_award_writes_no_notification_and_keeps_badge_count(
    db: BadgesDb, conn: Conn, user: UUID
):
    db.award_badge(user, "social_sharer", client=True)
    db.award_badge(user, "social_sharer", client=True)
    db.award_badge(user, "social_sharer", client=False)

    assert count(conn, "awards", user) == 1
    assert count(conn, "notifications", user) == 1
    assert stats(conn, user) == (1, 0)


def test_badge_count_counts_each_distinct_badge(db: BadgesDb, conn: Conn, user: UUID):
    for badge_id in CATALOG_BADGES:
        db.award_badge(user, badge_id, client=False)

    assert stats(conn, user) == (len(CATALOG_BADGES), 0)
    assert count(conn, "notifications", user) == len(CATALOG_BADGES)


@pytest.mark.parametrize("badge_id", SERVER_ONLY_BADGES)
def test_client_cannot_award_a_non_client_badge_and_nothing_is_written(
    db: BadgesDb, conn: Conn, user: UUID, badge_id: str
):
    with pytest.raises(Forbidden):
        db.award_badge(user, badge_id, client=True)

    for table in ("awards", "notifications", "user_stats"):
        assert count(conn, table, user) == 0, table


@pytest.mark.parametrize("badge_id", CATALOG_BADGES)
def test_service_can_award_any_enabled_badge(db: BadgesDb, user: UUID, badge_id: str):
    assert db.award_badge(user, badge_id, client=False)["awarded"] is True


@pytest.mark.parametrize("client", [True, False])
def test_unknown_badge_raises_unknown_badge_and_nothing_is_written(
    db: BadgesDb, conn: Conn, user: UUID, client: bool
):
    with pytest.raises(UnknownBadge):
        db.award_badge(user, "no_such_badge", client=client)

    assert count(conn, "awards", user) == 0
    assert count(conn, "notifications", user) == 0


def test_revoke_removes_the_award_logs_it_and_decrements_badge_count(
    db: BadgesDb, conn: Conn, user: UUID
):
    earned_at = rows(
        conn,
        "select (badges.award_badge(p_user_id => %s, p_badge_id => 'social_sharer',"
        " p_client => false) ->> 'earned_at')::timestamptz",
        user,
    )[0][0]
    db.award_badge(user, "streak_3d", client=False)

    result = db.revoke_badge(user, "social_sharer", "shared spam", "admin:alice")

    assert result == {"revoked": True}
    assert rows(conn, "select badge_id from badges.awards where user_id = %s", user) == [
        ("streak_3d",)
    ]
    assert rows(
        conn,
        "select badge_id, earned_at, reason, revoked_by, revoked_at <= now()"
        " from badges.revocations where user_id = %s",
        user,
    ) == [("social_sharer", earned_at, "shared spam", "admin:alice", True)]
    assert stats(conn, user) == (1, 0)


def test_revoking_a_badge_the_user_lacks_returns_false_and_logs_nothing(
    db: BadgesDb, conn: Conn, user: UUID
):
    db.award_badge(user, "streak_3d", client=False)

    assert db.revoke_badge(user, "social_sharer", "why not", "admin") == {"revoked": False}
    assert count(conn, "revocations", user) == 0
    assert stats(conn, user) == (1, 0)


def test_revoking_an_unknown_badge_raises_unknown_badge(db: BadgesDb, user: UUID):
    with pytest.raises(UnknownBadge):
        db.revoke_badge(user, "no_such_badge", "reason", "admin")


def test_award_after_revoke_is_new_again(db: BadgesDb, conn: Conn, user: UUID):
    db.award_badge(user, "social_sharer", client=True)
    db.revoke_badge(user, "social_sharer", "mistake", "admin")

    again = db.award_badge(user, "social_sharer", client=True)

    assert again["awarded"] is True
    assert count(conn, "awards", user) == 1
    assert count(conn, "notifications", user) == 2
    assert count(conn, "outbox", user) == 2  # one per award: the new one is announced too
    assert stats(conn, user) == (1, 0)


def test_a_repeated_award_is_answered_from_the_primary_key_without_reading_the_table(
    iso_conn: Conn,
):
    """The primary key carries earned_at: on a table VACUUM has marked all-visible (as
    autovacuum keeps it), a repeat is an index-only read, fetching no row of awards itself."""
    iso_conn.execute(
        "insert into badges.awards (user_id, badge_id)"
        " select gen_random_uuid(), 'social_sharer' from generate_series(1, 2000)"
    )
    iso_conn.execute("vacuum analyze badges.awards")
    holders = [r[0] for r in rows(iso_conn, "select user_id from badges.awards limit 8")]
    before = _awards_index_reads(iso_conn)
    # Eight calls: past the fifth, plpgsql may switch the statement to its generic plan.
    for holder in holders:
        answer = call(
            iso_conn, "award_badge", p_user_id=holder, p_badge_id="social_sharer", p_client=True
        )
        assert answer["awarded"] is False
    after = _awards_index_reads(iso_conn)

    assert after["scans"] - before["scans"] == len(holders)  # each repeat read its award by key
    assert after["rows_fetched"] == before["rows_fetched"]  # and not from the table


def _awards_index_reads(conn: Conn) -> dict[str, int]:
    """Index scans of awards so far, and the table rows they fetched (an index-only scan
    fetches none from an all-visible page)."""
    flush_stats(conn)
    conn.execute("select pg_stat_clear_snapshot()")
    found = conn.execute(
        "select coalesce(idx_scan, 0), coalesce(idx_tup_fetch, 0)"
        " from pg_stat_user_tables where relid = 'badges.awards'::regclass"
    ).fetchone()
    assert found is not None
    return {"scans": int(found[0]), "rows_fetched": int(found[1])}
