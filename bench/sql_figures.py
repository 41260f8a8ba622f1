"""Figures taken with Python on the loaded data set (no pgbench needed): the plans of a database
never ANALYZEd against the same calls after ANALYZE, the streak batch against a per-user loop
of check_streaks, and the archive of a finished leaderboard period.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[tuple[Any, ...]]
USER = "md5('u' || %s)::uuid"


@dataclass(frozen=True)
class Timing:
    name: str
    median_ms: float
    p99_ms: float


def call(conn: Conn, function: str, **params: Any) -> Any:
    """select badges.<function>(p => value, ...); returns the single value."""
    args = sql.SQL(", ").join(
        sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in params
    )
    query = sql.SQL("select badges.{}({})").format(sql.Identifier(function), args)
    values = {k: Jsonb(v) if isinstance(v, dict | list) else v for k, v in params.items()}
    row = conn.execute(query, values).fetchone()
    assert row is not None
    return row[0]


def _user(conn: Conn, i: int) -> Any:
    row = conn.execute(f"select {USER}", (i,)).fetchone()
    assert row is not None
    return row[0]


def hot_calls() -> list[tuple[str, str, Callable[[Any], dict[str, Any]]]]:
    """(label, function, its parameters for a user id) of the paths a request takes."""
    return [
        ("list", "list_badges", lambda i: {"p_user_id": i}),
        ("catalog", "get_catalog", lambda i: {}),
        ("progress", "progress", lambda i: {"p_user_id": i}),
        ("leaderboard", "leaderboard", lambda i: {"p_user_id": i, "p_limit": 100, "p_offset": 0}),
        (
            "score_leaderboard",
            "score_leaderboard",
            lambda i: {"p_user_id": i, "p_limit": 100, "p_offset": 0},
        ),
        (
            "award (repeat)",
            "award_badge",
            lambda i: {"p_user_id": i, "p_badge_id": "social_sharer", "p_client": False},
        ),
        ("check_streaks", "check_streaks", lambda i: {"p_user_id": i}),
        ("check_badges", "check_badges", lambda i: {"p_user_id": i}),
        (
            "inbox",
            "inbox",
            lambda i: {"p_user_id": i, "p_unread_only": False, "p_limit": 20, "p_before": None},
        ),
    ]


def time_calls(url: str, users: int, calls: int) -> list[Timing]:
    """Each hot call `calls` times for users spread over the data set; latency in ms."""
    timings = []
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [_user(conn, 1 + (k * 7919) % users) for k in range(calls)]
        for label, function, params in hot_calls():
            took = []
            for user in ids:
                started = time.perf_counter()
                call(conn, function, **params(user))
                took.append((time.perf_counter() - started) * 1000)
            took.sort()
            timings.append(
                Timing(
                    label, statistics.median(took), took[min(len(took) - 1, len(took) * 99 // 100)]
                )
            )
    return timings


def streak_batch(url: str, active: int, sample: int) -> dict[str, float]:
    """The batch streak check: its first run (awarding what is due, announced), then warm runs
    with nothing due, against a per-user loop of check_streaks over `sample` active users
    (extrapolated to all `active` users; a full loop would take minutes)."""
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        first = call(conn, "check_streaks_all")
        first_s = time.perf_counter() - started
        warm = []
        for _ in range(3):
            started = time.perf_counter()
            call(conn, "check_streaks_all")
            warm.append(time.perf_counter() - started)
        ids = [_user(conn, 1 + (k * 7919) % active) for k in range(sample)]
        started = time.perf_counter()
        for user in ids:
            call(conn, "check_streaks", p_user_id=user)
        per_user = (time.perf_counter() - started) / sample
    warm_s = statistics.median(warm)
    return {
        "first_s": first_s,
        "first_awarded": float(first["awarded_count"]),
        "warm_s": warm_s,
        "loop_s": per_user * active,
        "ratio": per_user * active / warm_s,
    }


def archive_boards(url: str) -> tuple[float, int]:
    """The daily batch's archive of every finished leaderboard period: (seconds, periods)."""
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        archived = int(call(conn, "archive_boards"))
        return time.perf_counter() - started, archived


def client_board(url: str, users: int, calls: int) -> tuple[Timing, Timing]:
    """The badge board's top 100 with `me` and `total` as the function reads it (one call,
    psycopg, the JSON parsed), against the bare top-100 scan of the narrow board fetched by the
    same client (100 rows decoded): what an app's request pays for each, beyond pgbench."""
    board = "select user_id, value from bench.board order by value desc, at, user_id limit 100"
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [_user(conn, 1 + (k * 7919) % users) for k in range(calls)]
        mine, bare = [], []
        for _ in range(2):  # the first pass warms the caches
            mine, bare = [], []
            for user in ids:
                started = time.perf_counter()
                call(conn, "leaderboard", p_user_id=user, p_limit=100, p_offset=0)
                mine.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                conn.execute(board).fetchall()
                bare.append((time.perf_counter() - started) * 1000)
    return _timing("leaderboard(me, 100, 0)", mine), _timing("bare top-100 scan", bare)


def _timing(name: str, took: list[float]) -> Timing:
    took = sorted(took)
    return Timing(name, statistics.median(took), took[min(len(took) - 1, len(took) * 99 // 100)])
