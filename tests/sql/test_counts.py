"""Counters at scale: rarity and the boards' per-value counts are append-only deltas folded now
and then, so concurrent awards never queue on a counter row, and they stay equal to what they
count. Also what the speed work promised besides: a repeated award takes no lock, and the
stored wire shapes follow the definitions they are derived from."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

import psycopg
import pytest

from badges.store.db import BadgesDb
from tests.sql.conftest import Conn, call, rows

T = TypeVar("T")


def consistency(conn: Conn) -> dict[str, Any]:
    report: dict[str, Any] = call(conn, "consistency_report")
    return report


def concurrently(url: str, jobs: list[Callable[[Conn], object]]) -> None:
    """Run each job on its own connection, all started together; re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[Conn], object]) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                start.wait()
                job(conn)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def award_many(users: list[UUID], badge: str) -> Callable[[Conn], object]:
    return lambda conn: [
        call(conn, "award_badge", p_user_id=u, p_badge_id=badge, p_client=False) for u in users
    ]


def reads_by_key(conn: Conn, table: str, action: Callable[[], T]) -> T:
    """Runs action in a transaction on conn and asserts that it made no sequential scan of table
    and fetched fewer than a quarter of its pages (table must be large enough to tell)."""
    read = (
        "select pg_stat_get_xact_numscans(%s::regclass),"
        " pg_stat_get_xact_blocks_fetched(%s::regclass)"
    )
    with conn.transaction():
        ((scans_before, blocks_before),) = rows(conn, read, table, table)
        result = action()
        ((scans_after, blocks_after),) = rows(conn, read, table, table)
    ((pages,),) = rows(conn, "select pg_relation_size(%s::regclass) / 8192", table)
    seq_scans, blocks = scans_after - scans_before, blocks_after - blocks_before
    assert (seq_scans, pages > 20) == (0, True)
    assert blocks < pages / 4, f"{blocks} blocks of {table} read ({pages} pages)"
    return result


def test_concurrent_awards_and_folds_keep_every_counter_equal_to_what_it_counts(
    iso_url: str, iso_conn: Conn
):
    groups = [[uuid4() for _ in range(40)] for _ in range(6)]
    jobs = [award_many(g, badge) for g in groups for badge in ("social_sharer", "streak_3d")]
    jobs.append(lambda conn: [call(conn, "fold_counts") for _ in range(30)])

    concurrently(iso_url, jobs)

    report = consistency(iso_conn)
    assert report["violations"] == 0, report
    holders = rows(
        iso_conn,
        "select badge_id, earned_count from badges.rarity()"
        " cross join lateral (select (rarity ->> 'earned_count')::int) r(earned_count)"
        " where badge_id in ('social_sharer', 'streak_3d') order by 1",
    )
    assert holders == [("social_sharer", 240), ("streak_3d", 240)]
    board = call(iso_conn, "leaderboard", p_user_id=groups[0][0], p_limit=1, p_offset=0)
    assert (board["total"], board["me"]["rank"], board["me"]["badge_count"]) == (240, 1, 2)


def test_a_fold_moves_every_delta_and_changes_no_sum(iso_url: str, iso_conn: Conn):
    for user in (uuid4(), uuid4(), uuid4()):
        call(iso_conn, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=False)
    before = rows(iso_conn, "select badge_id, rarity from badges.rarity() order by 1")

    call(iso_conn, "fold_counts")

    assert rows(iso_conn, "select count(*) from badges.rarity_deltas") == [(0,)]
    assert rows(iso_conn, "select count(*) from badges.board_deltas") == [(0,)]
    assert rows(iso_conn, "select badge_id, rarity from badges.rarity() order by 1") == before
    assert consistency(iso_conn)["violations"] == 0


def test_a_fold_takes_a_revoked_badge_down_to_zero_holders(iso_conn: Conn):
    # The fold adds the deltas (here -1) to a folded count of 1: an upsert whose proposed row
    # (holders -1) must not be refused before the conflict turns it into an update to 0.
    user = uuid4()
    call(iso_conn, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=False)
    call(iso_conn, "fold_counts")
    call(iso_conn, "revoke_badge", p_user_id=user, p_badge_id="social_sharer",
         p_reason="test", p_revoked_by="test")  # fmt: skip

    call(iso_conn, "fold_counts")

    holders = rows(
        iso_conn, "select holders from badges.rarity_counts where badge_id = 'social_sharer'"
    )
    assert holders == [(0,)]
    assert consistency(iso_conn)["violations"] == 0


def test_a_fold_drops_the_value_it_emptied_by_key_without_reading_every_count(iso_conn: Conn):
    # Another board with many values: a fold that scanned every count would read all its pages.
    iso_conn.execute(
        "insert into badges.board_counts (board, value, users)"
        " select 'many_values', v, 1 from generate_series(1, 5000) v"
    )
    user = uuid4()
    call(iso_conn, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=False)
    call(iso_conn, "fold_counts")
    call(iso_conn, "revoke_badge", p_user_id=user, p_badge_id="social_sharer",
         p_reason="test", p_revoked_by="test")  # fmt: skip

    reads_by_key(iso_conn, "badges.board_counts", lambda: call(iso_conn, "fold_counts"))

    assert rows(
        iso_conn, "select count(*) from badges.board_counts where board = 'badge_count'"
    ) == [(0,)]
    assert rows(iso_conn, "select count(*) from badges.board_counts") == [(5000,)]


def test_a_new_award_reads_the_composites_not_the_whole_catalog(iso_conn: Conn):
    iso_conn.execute(
        "insert into badges.definitions (id, name, rule)"
        " select 'manual_' || i, 'Manual ' || i, 'manual' from generate_series(1, 1000) i"
    )
    award = reads_by_key(
        iso_conn,
        "badges.definitions",
        lambda: call(
            iso_conn, "award_badge", p_user_id=uuid4(), p_badge_id="manual_7", p_client=False
        ),
    )

    assert award["awarded"] is True


def test_rebuild_counts_repairs_counters_a_bulk_load_left_behind(iso_conn: Conn):
    iso_conn.execute(
        "insert into badges.users (user_id) select gen_random_uuid() from generate_series(1, 5)"
    )
    iso_conn.execute(
        "insert into badges.user_stats (user_id, badge_count, badge_count_at)"
        " select user_id, 0, null from badges.users"
    )
    assert consistency(iso_conn)["checks"]["rarity"] == 1  # the users counter is 0, not 5

    assert call(iso_conn, "rebuild_counts") == {"rarity": 1, "board": 0}

    assert consistency(iso_conn)["violations"] == 0


def test_a_repeated_award_answers_while_the_users_lock_is_held(db: BadgesDb, database_url: str):
    """A repeat is read from the award's row: it neither waits for nor takes the user's lock."""
    user = uuid4()
    first = db.award_badge(user, "social_sharer", client=False)
    with psycopg.connect(database_url) as holder, psycopg.connect(database_url) as other:
        call(holder, "lock_user", p_user_id=user)  # an open transaction holds the user's lock
        other.execute("set lock_timeout = '200ms'")

        again = call(
            other, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=False
        )
        with pytest.raises(psycopg.errors.LockNotAvailable):
            call(other, "award_badge", p_user_id=user, p_badge_id="streak_3d", p_client=False)

    assert again["awarded"] is False
    assert again["earned_at"] == first["earned_at"]


def test_the_stored_wire_shape_is_what_badge_json_gives_after_every_change(iso_conn: Conn):
    iso_conn.execute(
        "update badges.definitions set name = 'Sharer', starts_at = '2026-01-01T00:00:00+01'"
        " where id = 'social_sharer'"
    )
    stale = rows(
        iso_conn,
        "select id from badges.definitions d where d.wire is distinct from badges.badge_json(d)"
        " or d.wire_json::jsonb is distinct from d.wire"
        " or d.event_badge is distinct from badges.event_badge(d)"
        " or d.earned_text is distinct from badges.earned_message(d)",
    )
    assert stale == []
    wire = rows(iso_conn, "select wire from badges.definitions where id = 'social_sharer'")[0][0]
    assert (wire["name"], wire["starts_at"]) == ("Sharer", "2025-12-31T23:00:00+00:00")
    # A new award and a repeat answer with the stored json copy: the same badge, renamed.
    award = {"p_user_id": uuid4(), "p_badge_id": "social_sharer", "p_client": False}
    first, again = call(iso_conn, "award_badge", **award), call(iso_conn, "award_badge", **award)
    assert (first["awarded"], again["awarded"]) == (True, False)
    assert first["badge"] == again["badge"] == wire


def test_a_metric_unit_change_rewords_the_messages_of_its_badges(
    make_catalog_database: Callable[[Any], str],
):
    from tests.conftest import DEVSPACE

    with psycopg.connect(make_catalog_database(DEVSPACE), autocommit=True) as conn:
        conn.execute("update badges.metrics set unit = 'apps' where id = 'project_created'")
        texts = rows(
            conn,
            "select earned_text, badges.earned_message(d) from badges.definitions d"
            " where metric = 'project_created' and rule = 'metric'",
        )
    assert texts
    assert all(stored == fresh for stored, fresh in texts)
    assert any(" apps!" in stored for stored, _ in texts)
