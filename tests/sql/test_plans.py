"""Plans that do not depend on statistics: on a database bulk-loaded and never ANALYZEd (the
state after a restore or a bulk import, before autovacuum gets to it), every hot action reads
the large tables by index only. A sequential scan of any of them fails the test, whatever the
server (with or without JIT) would have made of the estimates.

The data set is bench/dataset.py's, small: the plans are what matters, not the timings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import pytest

from bench import dataset
from tests.conftest import PROJECT_DIR
from tests.sql.conftest import call

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


def seq_scans(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, int]:
    conn.execute("select pg_stat_clear_snapshot()")
    found = conn.execute(
        "select relname, seq_scan from pg_stat_user_tables where schemaname = 'badges'"
        " and relname = any(%s)",
        (list(LARGE),),
    ).fetchall()
    return {name: int(n) for name, n in found}


@pytest.mark.parametrize(
    ("function", "params"), HOT, ids=[f"{f}-{n}" for n, (f, _) in enumerate(HOT)]
)
def test_a_hot_action_scans_no_large_table_on_a_database_never_analysed(
    unanalysed: str, function: str, params: Callable[[int], dict[str, Any]]
):
    with (
        psycopg.connect(unanalysed, autocommit=True) as acting,
        psycopg.connect(unanalysed, autocommit=True) as watching,
    ):
        before = seq_scans(watching)
        for i in (7, USERS - 7, USERS // 2):  # a user with a streak, with quiz answers, neither
            call(acting, function, **params(i))
        acting.execute("select pg_stat_force_next_flush()")
        acting.execute("select 1")  # the flush happens when the backend goes idle
        after = seq_scans(watching)

    scanned = {t: after[t] - before[t] for t in LARGE if after[t] != before[t]}
    assert scanned == {}, f"{function} scanned {scanned} sequentially"


BATCH = {"check_streaks_all", "check_badges_all", "consistency_report", "ping"}


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
