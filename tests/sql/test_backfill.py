"""badges.check_badges_all: the backfill (one badge, silent, earned_at backdated to when the goal
was reached) and the batch check (every badge, notified, lapsed auto_revoke badges removed).

Assertions are over all users and the catalog varies per test, so each test takes a Dev-Space
database of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from badges.catalog import load_catalog
from badges.errors import InvalidRequest, UnknownBadge
from badges.store.db import BadgesDb, MetricEvent
from badges.store.postgres import PostgresStore
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, rows
from tests.sql.rules_fixtures import awards, earned_at

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
NOTHING = {"awarded_count": 0, "revoked_count": 0}
# The tables a backfill may write, compared whole before and after a run that must change nothing.
SNAPSHOT_TABLES = (
    "awards",
    "notifications",
    "revocations",
    "user_stats",
    "users",
    "metric_totals",
    "metric_events",
)
# Rarity as its readers see it (badges.rarity: folded counts plus pending deltas), not
# rarity_counts alone: any award statement, even one that inserts nothing, may fold the deltas
# (one in 64), which moves counts between the two tables without changing any.
RARITY_SNAPSHOT = (
    "select count(*), md5(string_agg(badge_id || '=' || rarity, ',' order by badge_id))"
    " from badges.rarity()"
)


@pytest.fixture
def own_url(make_catalog_database: Callable[[Path], str]) -> str:
    """A Dev-Space database of this test's own."""
    return make_catalog_database(DEVSPACE)


@pytest.fixture
def own_db(own_url: str) -> Iterator[BadgesDb]:
    store = PostgresStore(own_url, pool_size=1)
    try:
        yield BadgesDb(store)
    finally:
        store.close()


@pytest.fixture
def own_conn(own_url: str) -> Iterator[Conn]:
    with psycopg.connect(own_url, autocommit=True) as c:
        yield c


def metric_badge(badge_id: str, threshold: int, **fields: Any) -> dict[str, Any]:
    """A badge for the sync payload: project_created >= threshold, unless fields say otherwise."""
    return {
        "id": badge_id,
        "name": badge_id.replace("_", " ").title(),
        "category": "builder",
        "rule": "metric",
        "metric": "project_created",
        "threshold": threshold,
        **fields,
    }


def sync_variation(
    db: BadgesDb, extra: list[dict[str, Any]] | None = None, **changes: dict[str, Any]
) -> None:
    """Sync the Dev-Space catalog with the badges in extra added and each badge named in changes
    updated with its fields."""
    payload = load_catalog(DEVSPACE).sync_payload()
    assert set(changes) <= {b["id"] for b in payload["badges"]}
    edited = [{**b, **changes.get(b["id"], {})} for b in payload["badges"]]
    db.sync_catalog(payload | {"badges": [*edited, *(extra or [])]})


def set_total(conn: Conn, user: UUID, total: int, metric: str = "project_created") -> None:
    """A total that is there without any award or event: as if counted before the badge existed
    (or before the event log did)."""
    conn.execute(
        "insert into badges.metric_totals (user_id, metric, total) values (%s, %s, %s)"
        " on conflict (user_id, metric) do update set total = excluded.total",
        (user, metric, total),
    )


def rarity(conn: Conn, badge_id: str) -> dict[str, Any]:
    found = rows(conn, "select rarity from badges.rarity() where badge_id = %s", badge_id)
    return found[0][0]  # type: ignore[no-any-return]


def now(conn: Conn) -> datetime:
    return rows(conn, "select now()")[0][0]  # type: ignore[no-any-return]


def snapshot(conn: Conn) -> dict[str, tuple[Any, ...]]:
    """Per table: its row count and a digest of all its rows."""
    taken = {}
    for table in SNAPSHOT_TABLES:
        query = sql.SQL(
            "select count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"
            " from badges.{} t"
        ).format(sql.Identifier(table))
        taken[table] = rows(conn, query.as_string(conn))[0]
    taken["rarity"] = rows(conn, RARITY_SNAPSHOT)[0]
    return taken


# --- the backfill -----------------------------------------------------------------------------

USERS = 10_000
SEED_USER = "md5('backfill:' || i)::uuid"  # user number i, 1..USERS


def seed_users(conn: Conn) -> None:
    """USERS registered users (rarity's denominator), user i with a project_created total of
    i % 10 and one event per project: the k-th on day k (plus i seconds) from T0."""
    conn.execute(
        f"insert into badges.users (user_id) select {SEED_USER} from generate_series(1, %s) i",
        (USERS,),
    )
    conn.execute("select badges.rebuild_counts()")  # the users were written in bulk
    conn.execute(
        "insert into badges.metric_totals (user_id, metric, total)"
        f" select {SEED_USER}, 'project_created', mod(i, 10) from generate_series(1, %s) i",
        (USERS,),
    )
    conn.execute(
        "insert into badges.metric_events (user_id, metric, amount, total, occurred_at)"
        f" select {SEED_USER}, 'project_created', 1, k,"
        "        %s + k * interval '1 day' + i * interval '1 second'"
        " from generate_series(1, %s) i, generate_series(1, mod(i, 10)) k order by i, k",
        (T0, USERS),
    )


def test_a_backfill_over_10k_users_awards_exactly_the_qualifying_ones_silently_and_once(
    own_conn: Conn, own_db: BadgesDb
):
    seed_users(own_conn)
    sync_variation(own_db, [metric_badge("project_trio", 3)])
    qualifying = {
        r[0]
        for r in rows(
            own_conn,
            "select user_id from badges.metric_totals"
            " where metric = 'project_created' and total >= 3",
        )
    }

    first = own_db.check_badges_all("project_trio", notify=False, revoke=False)
    after_first = snapshot(own_conn)
    second = own_db.check_badges_all("project_trio", notify=False, revoke=False)

    assert len(qualifying) == 7_000  # i % 10 in 3..9
    assert first == {"awarded_count": 7_000, "revoked_count": 0}
    awarded = rows(own_conn, "select user_id, badge_id from badges.awards")
    assert {user for user, _ in awarded} == qualifying
    assert {badge for _, badge in awarded} == {"project_trio"}  # nothing but the backfilled badge
    assert after_first["notifications"][0] == 0
    # Counters follow: each holder's badge_count (dated by the award), the badge's rarity.
    assert rows(
        own_conn,
        "select count(*), sum(s.badge_count),"
        " count(*) filter (where s.badge_count_at = a.earned_at)"
        " from badges.user_stats s join badges.awards a using (user_id)",
    ) == [(7_000, 7_000, 7_000)]
    assert after_first["user_stats"][0] == 7_000
    assert rarity(own_conn, "project_trio") == {"earned_count": 7_000, "earned_percent": 70.0}
    # Each award is dated by user i's third event, when the total reached 3.
    assert rows(
        own_conn,
        "select count(*), count(*) filter (where a.earned_at ="
        "   %s + interval '3 days' + i * interval '1 second')"
        f" from generate_series(1, %s) i join badges.awards a on a.user_id = {SEED_USER}",
        T0,
        USERS,
    ) == [(7_000, 7_000)]

    assert second == NOTHING
    assert snapshot(own_conn) == after_first


def test_a_backfilled_award_is_dated_when_the_event_log_says_the_threshold_was_crossed(
    own_conn: Conn, own_db: BadgesDb, user: UUID
):
    day = timedelta(days=1)
    for amount, at in [(2, T0), (-1, T0 + day), (2, T0 + 2 * day), (1, T0 + 3 * day)]:
        own_db.track(user, MetricEvent("project_created", amount, occurred_at=at), client=False)
    sync_variation(own_db, [metric_badge("project_trio", 3)])  # totals 2, 1, 3, 4: crossed on day 2

    result = own_db.check_badges_all("project_trio", notify=False, revoke=False)

    assert result == {"awarded_count": 1, "revoked_count": 0}
    assert earned_at(own_conn, user, "project_trio") == T0 + 2 * day


@pytest.mark.parametrize(
    ("badge_id", "setup"),
    [
        ("active_dev", "insert into badges.streaks (user_id, longest_streak) values (%s, 7)"),
        (
            "project_rookie",  # a total with no event log behind it
            "insert into badges.metric_totals (user_id, metric, total)"
            " values (%s, 'project_created', 5)",
        ),
    ],
)
def test_a_backfilled_award_without_an_event_record_is_dated_now(
    own_conn: Conn, own_db: BadgesDb, user: UUID, badge_id: str, setup: str
):
    own_conn.execute(setup, (user,))
    before = now(own_conn)

    result = own_db.check_badges_all(badge_id, notify=False, revoke=False)

    assert result == {"awarded_count": 1, "revoked_count": 0}
    assert before <= earned_at(own_conn, user, badge_id) <= now(own_conn)


def test_a_backfill_with_notify_writes_one_notification_per_new_award(
    own_conn: Conn, own_db: BadgesDb
):
    holder, late, later, short = uuid4(), uuid4(), uuid4(), uuid4()
    sync_variation(own_db, [metric_badge("project_trio", 3)])
    own_db.track(holder, MetricEvent("project_created", 3), client=False)  # earned and notified
    set_total(own_conn, late, 3)
    set_total(own_conn, later, 4)
    set_total(own_conn, short, 2)

    result = own_db.check_badges_all("project_trio", notify=True, revoke=False)

    assert result == {"awarded_count": 2, "revoked_count": 0}
    notified = rows(
        own_conn,
        "select user_id, message from badges.notifications where badge_id = 'project_trio'",
    )
    assert sorted(notified) == sorted(
        [(u, "Congrats! You earned Project Trio for 3 projects!") for u in (holder, late, later)]
    )


@pytest.mark.parametrize("rule", ["manual", "client"])
def test_a_backfill_of_a_badge_no_rule_awards_is_invalid_request(own_db: BadgesDb, rule: str):
    sync_variation(own_db, [{"id": "hand_picked", "name": "Hand Picked", "rule": rule}])

    with pytest.raises(InvalidRequest):
        own_db.check_badges_all("hand_picked", notify=False, revoke=False)


def test_a_backfill_of_an_unknown_badge_is_unknown_badge(devspace_db: BadgesDb):
    with pytest.raises(UnknownBadge):
        devspace_db.check_badges_all("no_such_badge", notify=False, revoke=False)


def test_a_backfill_awards_no_badge_outside_its_window_or_disabled(
    own_conn: Conn, own_db: BadgesDb, user: UUID
):
    at = datetime.now(UTC)
    day = timedelta(days=1)
    sync_variation(
        own_db,
        [
            metric_badge(
                "season_over",
                1,
                starts_at=(at - 30 * day).isoformat(),
                ends_at=(at - day).isoformat(),
            ),
            metric_badge(
                "season_ahead",
                1,
                starts_at=(at + day).isoformat(),
                ends_at=(at + 30 * day).isoformat(),
            ),
            metric_badge(
                "season_now", 1, starts_at=(at - day).isoformat(), ends_at=(at + day).isoformat()
            ),
            metric_badge("retired", 1, enabled=False),
        ],
    )
    set_total(own_conn, user, 1)

    one = {
        b: own_db.check_badges_all(b, notify=False, revoke=False)
        for b in ("season_over", "season_ahead")
    }
    every = own_db.check_badges_all(None, notify=False, revoke=False)

    assert one == {"season_over": NOTHING, "season_ahead": NOTHING}
    assert every == {"awarded_count": 2, "revoked_count": 0}
    assert awards(own_conn, user) == ["first_builder", "season_now"]
    with pytest.raises(UnknownBadge):
        own_db.check_badges_all("retired", notify=False, revoke=False)


def test_a_backfill_never_gives_back_a_badge_revoked_by_hand_but_gives_back_an_automatic_removal(
    own_conn: Conn, own_db: BadgesDb
):
    by_hand, lapsed = uuid4(), uuid4()
    sync_variation(own_db, [metric_badge("project_trio", 3, auto_revoke=True)])
    for u in (by_hand, lapsed):
        own_db.track(u, MetricEvent("project_created", 3), client=False)
    own_db.revoke_badge(by_hand, "project_trio", "spam projects", "moderator")
    own_db.track(lapsed, MetricEvent("project_created", -1), client=False)
    assert own_db.check_badges(lapsed) == {"awarded": [], "revoked": 1}
    # The total is back at 3, and no check has run since.
    own_conn.execute(
        "update badges.metric_totals set total = 3"
        " where user_id = %s and metric = 'project_created'",
        (lapsed,),
    )

    result = own_db.check_badges_all("project_trio", notify=False, revoke=False)

    assert sorted(
        rows(
            own_conn,
            "select user_id, automatic, revoked_by from badges.revocations"
            " where badge_id = 'project_trio'",
        )
    ) == sorted([(by_hand, False, "moderator"), (lapsed, True, "auto_revoke")])
    assert result == {"awarded_count": 1, "revoked_count": 0}
    assert awards(own_conn, by_hand) == ["first_builder"]
    assert awards(own_conn, lapsed) == ["first_builder", "project_trio"]


# --- the batch check --------------------------------------------------------------------------


def test_the_batch_check_removes_lapsed_auto_revoke_badges_and_their_composites_in_one_call(
    own_conn: Conn, own_db: BadgesDb
):
    dropped, also_dropped, kept = uuid4(), uuid4(), uuid4()
    sync_variation(
        own_db,
        [
            {
                "id": "rookie_builder",
                "name": "Rookie Builder",
                "category": "achievements",
                "rule": "all_of",
                "requires": ["first_builder", "project_rookie"],
                "auto_revoke": True,
            }
        ],
        project_rookie={"auto_revoke": True},
    )
    for u in (dropped, also_dropped, kept):
        own_db.track(u, MetricEvent("project_created", 5), client=False)
    assert awards(own_conn, kept) == ["first_builder", "project_rookie", "rookie_builder"]
    for u in (dropped, also_dropped):
        own_db.track(u, MetricEvent("project_created", -2), client=False)

    first = own_db.check_badges_all(None, notify=True, revoke=True)
    second = own_db.check_badges_all(None, notify=True, revoke=True)

    assert first == {"awarded_count": 0, "revoked_count": 4}
    assert second == NOTHING
    for u in (dropped, also_dropped):
        assert awards(own_conn, u) == ["first_builder"]
    assert awards(own_conn, kept) == ["first_builder", "project_rookie", "rookie_builder"]
    assert sorted(
        rows(
            own_conn,
            "select user_id, badge_id, automatic, revoked_by from badges.revocations",
        )
    ) == sorted(
        (u, b, True, "auto_revoke")
        for u in (dropped, also_dropped)
        for b in ("project_rookie", "rookie_builder")
    )
    assert sorted(rows(own_conn, "select user_id, badge_count from badges.user_stats")) == sorted(
        [(dropped, 1), (also_dropped, 1), (kept, 3)]
    )
    for badge_id in ("project_rookie", "rookie_builder"):
        assert rarity(own_conn, badge_id)["earned_count"] == 1, badge_id
    assert rarity(own_conn, "first_builder")["earned_count"] == 3
