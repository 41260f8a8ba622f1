"""Helpers for the SQL tests: calling badges functions directly (with parameters the Python
store never sends, like p_at), reading tables back, and a BadgesDb over an isolated database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from badges.catalog import SyncPayload, load_catalog
from tests.conftest import CATALOG_BADGES

__all__ = ["CATALOG_BADGES"]  # re-exported: the sql tests import it from here

Conn = psycopg.Connection[tuple[Any, ...]]

PROVIDERS = ("openai", "anthropic", "google", "meta", "mistral")


def call(conn: Conn, function: str, **params: Any) -> Any:
    """select badges.<function>(p => value, ...) on conn; returns the single value."""
    args = sql.SQL(", ").join(
        sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in params
    )
    query = sql.SQL("select badges.{}({})").format(sql.Identifier(function), args)
    values = {k: Jsonb(v) if isinstance(v, dict | list) else v for k, v in params.items()}
    row = conn.execute(query, values).fetchone()
    assert row is not None
    return row[0]


def record_activity_at(conn: Conn, user: UUID, tz: str | None, at: datetime) -> dict[str, Any]:
    """badges.record_activity backdated to `at` (the Python store always sends p_at = NULL)."""
    result: dict[str, Any] = call(conn, "record_activity", p_user_id=user, p_timezone=tz, p_at=at)
    return result


def flush_stats(conn: Conn) -> None:
    """Make conn's statistics so far (scans, rows and blocks read) visible to pg_stat_* views."""
    conn.execute("select pg_stat_force_next_flush()")
    conn.execute("select 1")  # the flush happens when the backend goes idle


def rows(conn: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def count(conn: Conn, table: str, user: UUID) -> int:
    """Rows of badges.<table> that belong to user."""
    query = sql.SQL("select count(*) from badges.{} where user_id = %s").format(
        sql.Identifier(table)
    )
    row = conn.execute(query, (user,)).fetchone()
    assert row is not None
    return int(row[0])


def stats(conn: Conn, user: UUID) -> tuple[int, int] | None:
    """(badge_count, correct_count) from badges.user_stats, or None when the user has no row."""
    row = conn.execute(
        "select badge_count, correct_count from badges.user_stats where user_id = %s", (user,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


@pytest.fixture
def catalog_payload() -> Callable[[], SyncPayload]:
    """Factory: a fresh copy of the v1 catalog's sync_catalog argument, to edit and sync (v1
    declares no metrics, levels, freeze policy or leaderboards)."""
    return lambda: load_catalog().sync_payload()
