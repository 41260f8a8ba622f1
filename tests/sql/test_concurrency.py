"""Concurrent calls over separate real connections: the database, not the caller, keeps awards,
counters and rate limits exact."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import psycopg

from tests.sql.conftest import CATALOG_BADGES, Conn, count, rows, stats

CONNECTIONS = 50


Call = tuple[str, tuple[Any, ...]]


def run_together(database_url: str, calls: list[Call]) -> list[Any]:
    """Run every (query, params) at once, each on its own autocommit connection: every thread
    connects first, then all wait at a barrier and execute together. Returns each call's value,
    in order."""
    barrier = threading.Barrier(len(calls), timeout=30)

    def one(call: Call) -> Any:
        query, params = call
        with psycopg.connect(database_url, autocommit=True) as c:
            barrier.wait()
            row = c.execute(query, params).fetchone()
            assert row is not None
            return row[0]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


AWARD = "select badges.award_badge(p_user_id => %s, p_badge_id => %s, p_client => %s)"


def test_concurrent_awards_of_one_badge_award_it_exactly_once(
    database_url: str, conn: Conn, user: UUID
):
    results = run_together(database_url, [(AWARD, (user, "social_sharer", True))] * CONNECTIONS)

    assert sorted(r["awarded"] for r in results) == [False] * (CONNECTIONS - 1) + [True]
    assert len({r["earned_at"] for r in results}) == 1
    assert count(conn, "awards", user) == 1
    assert count(conn, "notifications", user) == 1
    assert stats(conn, user) == (1, 0)


def test_concurrent_awards_of_different_badges_count_each_once(
    database_url: str, conn: Conn, user: UUID
):
    """Each badge of the catalog requested by several connections at once: the per-user counter,
    upserted by every awarding transaction, loses no update."""
    calls = [(AWARD, (user, badge_id, False)) for badge_id in CATALOG_BADGES for _ in range(8)]

    results = run_together(database_url, calls)

    newly = sorted(r["badge"]["id"] for r in results if r["awarded"])
    assert newly == sorted(CATALOG_BADGES)
    assert count(conn, "awards", user) == len(CATALOG_BADGES)
    assert count(conn, "notifications", user) == len(CATALOG_BADGES)
    assert stats(conn, user) == (len(CATALOG_BADGES), 0)


def test_concurrent_correct_scores_are_newly_correct_exactly_once(
    database_url: str, conn: Conn, user: UUID
):
    n = 20
    score = (
        "select badges.record_score(p_user_id => %s, p_provider_id => %s, p_quiz_correct => true)"
    )
    results = run_together(database_url, [(score, (user, "anthropic"))] * n)

    assert sorted(r["newly_correct"] for r in results) == [False] * (n - 1) + [True]
    assert stats(conn, user) == (0, 1)
    assert rows(
        conn,
        "select quiz_correct, attempts from badges.quiz_scores where user_id = %s",
        user,
    ) == [(True, n)]
    assert count(conn, "activity_days", user) == 1


def take_tokens(database_url: str, user: UUID, calls: int, burst: int) -> list[float]:
    # One token a minute: the refill during the test is a tiny fraction of a token.
    take = (
        "select badges.take_rate_token(p_user_id => %s, p_bucket => 'test',"
        " p_burst => %s, p_per_minute => 1)"
    )
    return run_together(database_url, [(take, (user, burst))] * calls)


def test_concurrent_rate_token_takes_grant_exactly_the_burst(database_url: str, user: UUID):
    burst = 20
    waits = take_tokens(database_url, user, 2 * burst, burst)

    assert sum(w == 0 for w in waits) == burst
    assert all(w > 0 for w in waits if w != 0)


def test_concurrent_rate_token_takes_on_a_full_bucket_grant_the_burst(
    database_url: str, user: UUID
):
    """As many takers as tokens: every one of them gets one."""
    burst = 20
    waits = take_tokens(database_url, user, burst, burst)

    assert waits == [0.0] * burst


def test_a_take_in_a_transaction_that_began_before_the_last_update_gets_a_remaining_token(
    database_url: str, conn: Conn, user: UUID
):
    """Deterministic form of the race above. now() is the start of the caller's transaction, so
    a taker that waited for the row lock can see an updated_at later than its own now(): the
    elapsed time must not count as negative and eat into the token that is still there."""
    take = (
        "select badges.take_rate_token(p_user_id => %s, p_bucket => 'order',"
        " p_burst => 2, p_per_minute => 1)"
    )
    with psycopg.connect(database_url) as early:
        early.execute("select now()")  # opens the transaction: its now() is fixed from here
        assert rows(conn, take, user) == [(0.0,)]  # later now(): 1 of 2 tokens left

        waited = early.execute(take, (user,)).fetchone()
        early.commit()

    assert waited == (0.0,)


def test_a_score_and_an_activity_of_one_user_racing_over_a_streak_milestone_both_succeed(
    database_url: str, conn: Conn
):
    """Different write functions of one user take their locks in one order: no deadlock."""
    activity = "select badges.record_activity(p_user_id => %s, p_timezone => 'UTC')"
    score = (
        "select badges.record_score(p_user_id => %s, p_provider_id => 'openai',"
        " p_quiz_correct => true)"
    )
    for _ in range(15):
        user = uuid4()
        for days_ago in (2, 1):  # a streak of two days: today's activity crosses streak_3d
            conn.execute(
                "select badges.record_activity(p_user_id => %s, p_timezone => 'UTC',"
                " p_at => now() - make_interval(days => %s))",
                (user, days_ago),
            )

        results = run_together(database_url, [(activity, (user,)), (score, (user,))])

        assert results[1]["newly_correct"] is True
        assert stats(conn, user) == (1, 1)  # streak_3d once, one correct provider
