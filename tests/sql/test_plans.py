"""Plans that do not depend on statistics: on a database bulk-loaded and never ANALYZEd (the
state after a restore or a bulk import, before autovacuum gets to it), every hot action reads
the large tables by index only. A sequential scan of any of them fails the test, whatever the
server (with or without JIT) would have made of the estimates.

The data set is bench/dataset.py's, small: the plans are what matters, not the timings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from bench import dataset
from tests.conftest import PROJECT_DIR
from tests.sql.conftest import call, flush_stats

USERS = 30_000
LARGE = (
    "awards",
    "user_stats",
    "users",
    "activity_days",
    "streaks",
    "quiz_scores",
    "notifications",
    "outbox",
    "revocations",
    "board_entries",
    "board_placings",
)


def user(i: int) -> UUID:
    """The data set's user number i."""
    import hashlib

    return UUID(hashlib.md5(f"u{i}".encode()).hexdigest())  # noqa: S324 (the data set's ids)


HOT: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
    ("award_badge", lambda i: {"p_user_id": user(i), "p_badge_id": "bench_30", "p_client": False}),
    (
        "award_badge",
        lambda i: {"p_user_id": user(i), "p_badge_id": "social_sharer", "p_client": False},
    ),
    ("list_badges", lambda i: {"p_user_id": user(i)}),
    ("get_catalog", lambda i: {}),
    ("progress", lambda i: {"p_user_id": user(i)}),
    ("leaderboard", lambda i: {"p_user_id": user(i), "p_limit": 100, "p_offset": 0}),
    ("leaderboard", lambda i: {"p_user_id": user(i), "p_limit": 100, "p_offset": USERS // 2}),
    ("score_leaderboard", lambda i: {"p_user_id": user(i), "p_limit": 100, "p_offset": 0}),
    # The catalog boards of the data set: all time, this week, last week (archived by the
    # first call).
    *[
        (
            "board_leaderboard",
            lambda i, board=board, period=period, offset=offset: {
                "p_user_id": user(i),
                "p_board_id": board,
                "p_period": period,
                "p_limit": 100,
                "p_offset": offset,
            },
        )
        for board, period, offset in [
            ("bench_all", None, 0),
            ("bench_week", None, USERS // 2),
            ("bench_week", "previous", USERS // 2),
        ]
    ],
    *[
        (
            "around_me",
            lambda i, board=board, period=period: {
                "p_user_id": user(i),
                "p_board_id": board,
                "p_period": period,
                "p_radius": 25,
            },
        )
        for board, period in [
            ("bench_all", None),
            ("bench_week", None),
            ("bench_week", "previous"),
        ]
    ],
    ("record_activity", lambda i: {"p_user_id": user(i), "p_timezone": "Europe/Paris"}),
    (
        "record_score",
        lambda i: {"p_user_id": user(i), "p_provider_id": "openai", "p_quiz_correct": True},
    ),
    ("check_streaks", lambda i: {"p_user_id": user(i)}),
    ("check_quiz_master", lambda i: {"p_user_id": user(i)}),
    ("check_badges", lambda i: {"p_user_id": user(i)}),
    (
        "inbox",
        lambda i: {"p_user_id": user(i), "p_unread_only": False, "p_limit": 20, "p_before": None},
    ),
    (
        "feed",
        lambda i: {
            "p_limit": 20,
            "p_before_at": None,
            "p_before_user": None,
            "p_before_badge": None,
        },
    ),
    (
        "profile",
        lambda i: {
            "p_viewer": user(i + 1),
            "p_user_id": user(i),
            "p_limit": 20,
            "p_before_at": None,
            "p_before_badge": None,
        },
    ),
    # A badge every user holds: the first page, and a keyset page from the middle of a badge
    # held by fewer.
    (
        "badge_holders",
        lambda i: {"p_user_id": user(i), "p_badge_id": "social_sharer", "p_limit": 20},
    ),
    (
        "badge_holders",
        lambda i: {
            "p_user_id": user(i),
            "p_badge_id": "bench_05",
            "p_limit": 20,
            "p_after_at": datetime.now(UTC) - timedelta(days=100),
            "p_after_user": user(i),
        },
    ),
    ("get_badge", lambda i: {"p_user_id": user(i), "p_badge_id": "bench_05"}),
    ("get_badge", lambda i: {"p_user_id": None, "p_badge_id": "social_sharer"}),
]


@pytest.fixture(scope="module")
def unanalysed(make_database: Callable[[], str]) -> str:
    url = make_database()
    dataset.load(url, users=USERS, active=USERS // 4, quizzers=USERS // 4)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_user_tables where schemaname = 'badges'"
            " and (last_analyze is not null or last_autoanalyze is not null)"
        ).fetchone()
    assert row == (0,), "the data set must be loaded without statistics"
    return url


def seq_scans(
    conn: psycopg.Connection[tuple[Any, ...]], tables: tuple[str, ...] = LARGE
) -> dict[str, int]:
    conn.execute("select pg_stat_clear_snapshot()")
    found = conn.execute(
        "select relname, seq_scan from pg_stat_user_tables where schemaname = 'badges'"
        " and relname = any(%s)",
        (list(tables),),
    ).fetchall()
    return {name: int(n) for name, n in found}


@pytest.fixture(scope="module")
def analysed(make_database: Callable[[], str]) -> str:
    """The same data set with fresh statistics: they must not flip a plan to a scan either."""
    url = make_database()
    dataset.load(url, users=USERS, active=USERS // 4, quizzers=USERS // 4)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("analyze")
    return url


@pytest.mark.parametrize(
    ("function", "params"), HOT, ids=[f"{f}-{n}" for n, (f, _) in enumerate(HOT)]
)
def test_a_hot_action_scans_no_large_table_on_a_database_never_analysed(
    unanalysed: str, function: str, params: Callable[[int], dict[str, Any]]
):
    assert_no_large_table_scanned(unanalysed, function, params)


@pytest.mark.parametrize(
    ("function", "params"), HOT, ids=[f"{f}-{n}" for n, (f, _) in enumerate(HOT)]
)
def test_a_hot_action_scans_no_large_table_after_analyze(
    analysed: str, function: str, params: Callable[[int], dict[str, Any]]
):
    """Statistics that say a condition is rare (a user who opted out of the feed) once turned
    a look-up per row into a scan of the whole table per call."""
    assert_no_large_table_scanned(analysed, function, params)


def assert_no_large_table_scanned(
    url: str,
    function: str,
    params: Callable[[int], dict[str, Any]],
) -> None:
    """A table the statistics know to be empty (revocations in the analysed data set; on the
    never-analysed one, a table autovacuum has meanwhile found empty) is scanned, rightly:
    nothing is cheaper."""
    with (
        psycopg.connect(url, autocommit=True) as acting,
        psycopg.connect(url, autocommit=True) as watching,
    ):
        before = seq_scans(watching)
        # A user with a streak, with quiz answers, neither; twice over: from its sixth run a
        # statement may switch to the generic plan.
        for i in (7, USERS - 7, USERS // 2) * 2:
            call(acting, function, **params(i))
        flush_stats(acting)
        after = seq_scans(watching)
        empty = {
            name
            for (name,) in watching.execute(
                "select relname from pg_class where relnamespace = 'badges'::regnamespace"
                " and relkind = 'r' and reltuples = 0"
            )
        }

    scanned = {t: after[t] - before[t] for t in LARGE if after[t] != before[t] and t not in empty}
    assert scanned == {}, f"{function} scanned {scanned} sequentially"


BATCH = {"check_streaks_all", "check_badges_all", "archive_boards", "consistency_report", "ping"}


def test_every_function_a_request_calls_runs_without_jit(unanalysed: str):
    """JIT compiles a statement whose estimates pass jit_above_cost, which missing statistics
    make likely: hundreds of milliseconds for a read by key (the embedded server has no JIT, so
    this checks the setting that prevents it wherever the schema runs)."""
    source = (PROJECT_DIR / "functions" / "badges" / "store" / "db.py").read_text()
    called = set(re.findall(r'self\._(?:object|call|board)\(\s*"(\w+)"', source)) - BATCH
    assert len(called) >= 25
    with psycopg.connect(unanalysed) as conn:
        configs = dict(
            conn.execute(
                "select proname, coalesce(proconfig, '{}') from pg_proc"
                " where pronamespace = 'badges'::regnamespace and proname = any(%s)",
                (sorted(called),),
            ).fetchall()
        )
    assert set(configs) == called
    assert {name for name, config in configs.items() if "jit=off" not in config} == set()


# LANGUAGE sql functions, each run by a batch, a delivery, a catalog sync, or at most once by
# the requests that call it: the cost of planning their body on every call is paid rarely.
SQL_FUNCTIONS = {
    "backoff_seconds",  # a delivery's failed send
    "badge_json",  # catalog sync (definitions_derive)
    "consistency_report",  # an operator's check
    "earned_message",  # catalog sync
    "event_badge",  # catalog sync
    "outbox_rows",  # the delivery job
    "shard",  # no caller on the request path
    "unregister_push_token",  # once per request
}


def test_the_request_path_has_no_sql_function_planned_on_every_call(unanalysed: str):
    """A LANGUAGE sql function with SET is never inlined, and PostgreSQL before 18 parses and
    plans its body on every call where plpgsql caches its plans: list_badges spent more than
    half of each call parsing and planning the SQL functions it called. The reads and helpers
    a request calls are plpgsql; a new SQL function must be justified here."""
    with psycopg.connect(unanalysed) as conn:
        found = {
            name
            for (name,) in conn.execute(
                "select p.proname from pg_proc p join pg_language l on l.oid = p.prolang"
                " where p.pronamespace = 'badges'::regnamespace and l.lanname = 'sql'"
            )
        }
    assert found == SQL_FUNCTIONS


def award_index_reads(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[int, int]:
    """(entries returned, blocks accessed) by the indexes of badges.awards so far."""
    conn.execute("select pg_stat_clear_snapshot()")
    row = conn.execute(
        "select sum(s.idx_tup_read), sum(io.idx_blks_hit + io.idx_blks_read)"
        " from pg_stat_user_indexes s join pg_statio_user_indexes io using (indexrelid)"
        " where s.schemaname = 'badges' and s.relname = 'awards'"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("start", ["newest", "middle"])
@pytest.mark.parametrize("badge", ["social_sharer", "bench_29"])
def test_a_page_of_badge_holders_reads_its_own_entries_not_every_holder(
    unanalysed: str, badge: str, start: str
):
    """A page of 20, from the newest or from a cursor halfway down, is a range scan of
    awards_holders_idx from the cursor, whether every user holds the badge (social_sharer) or
    under 1% do (bench_29): about 21 index entries on a few index pages. Not every holder (what
    reading them by badge_id and sorting would return), nor the newest awards of every badge
    until 21 are the badge's (what walking the feed's index would, over hundreds of pages)."""
    with (
        psycopg.connect(unanalysed, autocommit=True) as acting,
        psycopg.connect(unanalysed, autocommit=True) as watching,
    ):
        keys = watching.execute(
            "select earned_at, user_id from badges.awards where badge_id = %s"
            " order by earned_at desc, user_id desc",
            (badge,),
        ).fetchall()
        at, after_user = keys[len(keys) // 2] if start == "middle" else (None, None)
        entries, blocks = award_index_reads(watching)
        page = call(
            acting,
            "badge_holders",
            p_user_id=user(7),
            p_badge_id=badge,
            p_limit=20,
            p_after_at=at,
            p_after_user=after_user,
        )
        flush_stats(acting)
        entries_after, blocks_after = award_index_reads(watching)

    assert len(keys) > 100
    assert len(page["entries"]) == 20
    read = (entries_after - entries, blocks_after - blocks)
    assert read[0] <= 2 * 21, f"a page read {read[0]} award index entries"
    assert read[1] <= 20, f"a page read {read[1]} award index pages"


@pytest.mark.parametrize("start", ["newest", "middle"])
def test_a_page_of_the_feed_reads_its_own_entries_not_every_award_before_it(
    unanalysed: str, start: str
):
    """A page of 20 from the newest award or from a cursor halfway down is a range scan of
    awards_feed_idx from the cursor: about 21 index entries. With the cursor as a filter rather
    than the scan's start, a page halfway down read every award above it."""
    with (
        psycopg.connect(unanalysed, autocommit=True) as acting,
        psycopg.connect(unanalysed, autocommit=True) as watching,
    ):
        (awards,) = watching.execute("select count(*) from badges.awards").fetchone() or (0,)
        at, by, badge = (None, None, None)
        if start == "middle":
            at, by, badge = watching.execute(
                "select earned_at, user_id, badge_id from badges.awards"
                " order by earned_at desc, user_id desc, badge_id desc offset %s limit 1",
                (awards // 2,),
            ).fetchone() or (None, None, None)
        entries, blocks = award_index_reads(watching)
        page = call(
            acting, "feed", p_limit=20, p_before_at=at, p_before_user=by, p_before_badge=badge
        )
        flush_stats(acting)
        entries_after, blocks_after = award_index_reads(watching)

    assert awards > 10_000
    assert len(page["entries"]) == 20
    assert page["more"] is True
    if at is not None:  # the page starts after the cursor
        first = page["entries"][0]
        assert (datetime.fromisoformat(first["earned_at"]), UUID(first["user_id"])) <= (at, by)
    read = (entries_after - entries, blocks_after - blocks)
    assert read[0] <= 2 * 21, f"a page read {read[0]} award index entries"
    assert read[1] <= 20, f"a page read {read[1]} award index pages"


@pytest.mark.parametrize(
    ("function", "offset"), [("leaderboard", 0), ("leaderboard", 50), ("score_leaderboard", 0)]
)
def test_a_built_in_leaderboard_reads_its_counts_by_key_beside_a_board_of_many_values(
    make_database: Callable[[], str], function: str, offset: int
):
    """The built-in boards' per-value counts share board_counts with the catalog boards'. With
    statistics that say the table holds few boards (here: one points board with a value per
    user), the cached plan of the page's sums read the whole table on every call."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into badges.metrics (id, name) values ('xp', 'XP');"
            ' select badges.sync_leaderboards(\'[{"id": "xp", "name": "XP",'
            ' "metric": "xp"}]\');'
            " insert into badges.board_entries (board_id, period, user_id, value, at)"
            " select 'xp', '-infinity', md5('xp' || i)::uuid, i, now()"
            " from generate_series(1, 20000) i;"
            " select badges.rebuild_counts();"
            " analyze badges.board_counts"
        )
        flush_stats(conn)
        before = seq_scans(conn, ("board_counts",))
        for _ in range(6):
            page = call(conn, function, p_user_id=uuid4(), p_limit=100, p_offset=offset)
            assert page["total"] == 0
        flush_stats(conn)
        after = seq_scans(conn, ("board_counts",))

    assert after == before
