"""Fixtures and helpers shared by the rules engine's SQL tests (test_metrics, test_progress): a
Dev-Space database of a test's own, catalog variations synced into it, and reads of what a user
was awarded.

A test module takes the fixture `own` by importing its function explicitly:

    from tests.sql.rules_fixtures import own_fixture  # noqa: F401 (provides the fixture `own`)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from badges.catalog import load_catalog
from badges.store.db import BadgesDb, MetricEvent
from badges.store.postgres import PostgresStore
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, rows

JsonObject = dict[str, Any]


def devspace_database(
    make_catalog_database: Callable[[Path], str], metrics: list[JsonObject], app_schema: str
) -> str:
    """A Dev-Space database with more metrics declared and an app's own tables (app_schema,
    run as the app's server), for the table triggers' tests."""
    url = make_catalog_database(DEVSPACE)
    catalog = load_catalog(DEVSPACE).sync_payload()
    payload = catalog | {"metrics": [*catalog["metrics"], *metrics]}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select badges.sync_catalog(p_catalog => %s)", [Jsonb(payload)])
        conn.execute(app_schema)  # type: ignore[arg-type]
    return url


@dataclass(frozen=True)
class OwnDatabase:
    """A fresh database with the Dev-Space catalog: no user but the test's own."""

    url: str
    db: BadgesDb
    conn: Conn

    def sync(self, extra: list[JsonObject] | None = None, **changes: JsonObject) -> JsonObject:
        """Sync the Dev-Space catalog with the badges in extra added and each badge named in
        changes updated with its fields."""
        return sync_variation(self.db, extra, **changes)


@pytest.fixture(name="own")
def own_fixture(make_catalog_database: Callable[[Path], str]) -> Iterator[OwnDatabase]:
    """A Dev-Space database of this test's own (for catalog variations and counts over users)."""
    url = make_catalog_database(DEVSPACE)
    store = PostgresStore(url, pool_size=2)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            yield OwnDatabase(url, BadgesDb(store), conn)
    finally:
        store.close()


def sync_variation(
    db: BadgesDb, extra: list[JsonObject] | None = None, **changes: JsonObject
) -> JsonObject:
    """Sync the Dev-Space catalog edited: badges in extra added, each badge named in changes
    updated with its fields (a badge id that the catalog lacks is a mistake of the test)."""
    payload = load_catalog(DEVSPACE).sync_payload()
    unknown = set(changes) - {b["id"] for b in payload["badges"]}
    assert not unknown, f"not Dev-Space badges: {unknown}"
    edited = [{**b, **changes.get(b["id"], {})} for b in payload["badges"]]
    return db.sync_catalog(payload | {"badges": [*edited, *(extra or [])]})


def badge(badge_id: str, rule: str, **fields: Any) -> JsonObject:
    """A badge for the sync payload (category builder unless fields say otherwise)."""
    return {
        "id": badge_id,
        "name": badge_id.replace("_", " ").title(),
        "category": "builder",
        "rule": rule,
        **fields,
    }


def track_times(
    db: BadgesDb, user: UUID, metric: str, times: int, *, client: bool = False
) -> list[JsonObject]:
    """`times` tracks of 1 of metric, one call each; returns every answer in order."""
    return [db.track(user, MetricEvent(metric), client=client) for _ in range(times)]


def awards(conn: Conn, user: UUID) -> list[str]:
    """The badges the user holds, sorted."""
    return [
        r[0]
        for r in rows(
            conn, "select badge_id from badges.awards where user_id = %s order by 1", user
        )
    ]


def notified(conn: Conn, user: UUID) -> list[str]:
    """The badge of each badge.earned notification of the user, sorted."""
    return [
        r[0]
        for r in rows(
            conn,
            "select badge_id from badges.notifications"
            " where user_id = %s and kind = 'badge.earned' order by 1",
            user,
        )
    ]


def earned_at(conn: Conn, user: UUID, badge_id: str) -> datetime:
    found = rows(
        conn,
        "select earned_at from badges.awards where user_id = %s and badge_id = %s",
        user,
        badge_id,
    )
    assert found, f"{user} has no {badge_id}"
    return found[0][0]  # type: ignore[no-any-return]


def badge_count(conn: Conn, user: UUID) -> int | None:
    """badges.user_stats.badge_count of the user (None without a row)."""
    found = rows(conn, "select badge_count from badges.user_stats where user_id = %s", user)
    return None if not found else found[0][0]


def listed(listing: JsonObject, badge_id: str) -> JsonObject:
    """The badge badge_id in a list_badges or get_catalog answer."""
    found = [b for b in listing["badges"] if b["id"] == badge_id]
    assert len(found) == 1, f"{badge_id} listed {len(found)} times"
    return found[0]


def listed_ids(listing: JsonObject) -> list[str]:
    return [b["id"] for b in listing["badges"]]
