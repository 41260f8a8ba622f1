"""badges.sync_catalog: idempotent, and what leaves the catalog file is disabled, never deleted.

Nothing here uses the shared database (these tests change the catalog): each test takes a copy
of the template, where the v1 catalog (supabase/catalogs/default.toml) is already synced, except
the table of edits, which shares one copy and syncs v1 back before each edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from badges.catalog import SyncPayload
from badges.errors import InvalidRequest, UnknownBadge
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore
from tests.sql.conftest import Conn, rows

Payload = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def without(items: list[dict[str, Any]], item_id: str) -> list[dict[str, Any]]:
    assert any(i["id"] == item_id for i in items)
    return [i for i in items if i["id"] != item_id]


def as_catalog(badges: Any, providers: Any) -> SyncPayload:
    """The whole sync_catalog argument for these badges and providers: v1's shape, with no
    metrics, levels, freeze policy or leaderboards."""
    return {
        "badges": badges,
        "providers": providers,
        "metrics": [],
        "levels": [],
        "streak_freezes": None,
        "leaderboards": [],
    }


def with_changes(items: list[dict[str, Any]], item_id: str, **changes: Any) -> list[dict[str, Any]]:
    assert any(i["id"] == item_id for i in items)
    return [i | changes if i["id"] == item_id else i for i in items]


# v1 declares no metrics, no levels and no leaderboards.
NO_METRICS = {"metrics": 0, "levels": 0, "leaderboards": 0}

NEW_BADGE = {"id": "early_bird", "name": "Early Bird", "rule": "manual"}
NEW_PROVIDER = {"id": "cohere", "name": "Cohere", "sort_order": 60}

EDITS: dict[str, tuple[Callable[[Payload], Payload], int, int, int]] = {
    # name: (edit of the v1 payload, rows changed, enabled badges, active providers)
    "unchanged": (lambda p: p, 0, 6, 5),
    "renamed": (lambda p: (with_changes(p[0], "streak_3d", name="Three days"), p[1]), 1, 6, 5),
    "threshold": (lambda p: (with_changes(p[0], "streak_7d", threshold=5), p[1]), 1, 6, 5),
    "hidden": (lambda p: (with_changes(p[0], "social_sharer", hidden=True), p[1]), 1, 6, 5),
    "badge added": (lambda p: ([*p[0], NEW_BADGE], p[1]), 1, 7, 5),
    "badge removed": (lambda p: (without(p[0], "social_sharer"), p[1]), 1, 5, 5),
    "provider renamed": (lambda p: (p[0], with_changes(p[1], "meta", name="Meta AI")), 1, 6, 5),
    "provider added": (lambda p: (p[0], [*p[1], NEW_PROVIDER]), 1, 6, 6),
    "provider removed": (lambda p: (p[0], without(p[1], "mistral")), 1, 6, 4),
    "everything": (
        lambda p: (
            [*with_changes(without(p[0], "streak_30d"), "streak_3d", icon="*"), NEW_BADGE],
            [*without(p[1], "google"), NEW_PROVIDER],
        ),
        5,
        6,
        5,
    ),
}


@pytest.fixture
def v1(catalog_payload: Callable[[], SyncPayload]) -> Payload:
    """The v1 catalog's badges and providers, as JSON values."""
    v1_payload = catalog_payload()
    badges, providers = v1_payload["badges"], v1_payload["providers"]
    return [b | {"rule": str(b["rule"]), "tier": str(b["tier"])} for b in badges], providers


@pytest.fixture(scope="module")
def edits_db(make_database: Callable[[], str]) -> Iterator[BadgesDb]:
    store = PostgresStore(make_database(), pool_size=2)
    try:
        yield BadgesDb(store)
    finally:
        store.close()


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_syncing_reports_the_rows_changed_and_then_nothing_the_second_time(
    edits_db: BadgesDb, v1: Payload, edit: str
):
    change, changed, badges, providers = EDITS[edit]
    payload = change(v1)
    edits_db.sync_catalog(as_catalog(*v1))  # back to v1, whatever the previous edit was

    first = edits_db.sync_catalog(as_catalog(*payload))
    second = edits_db.sync_catalog(as_catalog(*payload))

    assert first == {"changed": changed, "badges": badges, "providers": providers} | NO_METRICS
    assert second == {"changed": 0, "badges": badges, "providers": providers} | NO_METRICS


def test_a_removed_badge_is_disabled_not_deleted_and_its_awards_stay(
    iso_db: BadgesDb, iso_conn: Conn, v1: Payload, user: UUID
):
    iso_db.award_badge(user, "social_sharer", client=True)

    iso_db.sync_catalog(as_catalog(without(v1[0], "social_sharer"), v1[1]))

    assert rows(iso_conn, "select enabled from badges.definitions where id = 'social_sharer'") == [
        (False,)
    ]
    assert rows(iso_conn, "select badge_id from badges.awards where user_id = %s", user) == [
        ("social_sharer",)
    ]
    assert "social_sharer" not in {b["id"] for b in iso_db.get_catalog()["badges"]}
    listed = {b["id"]: b for b in iso_db.list_badges(user)["badges"]}
    assert listed["social_sharer"]["earned"] is True
    assert iso_db.leaderboard(user, 10, 0)["me"]["badge_count"] == 1
    with pytest.raises(UnknownBadge):
        iso_db.award_badge(user, "social_sharer", client=True)


def test_a_badge_back_in_the_catalog_is_enabled_again(
    iso_db: BadgesDb, iso_conn: Conn, v1: Payload, user: UUID
):
    iso_db.sync_catalog(as_catalog(without(v1[0], "social_sharer"), v1[1]))

    assert iso_db.sync_catalog(as_catalog(*v1))["changed"] == 1
    assert rows(iso_conn, "select enabled from badges.definitions where id = 'social_sharer'") == [
        (True,)
    ]
    assert iso_db.award_badge(user, "social_sharer", client=True)["awarded"] is True


def test_a_changed_name_is_updated(iso_db: BadgesDb, iso_conn: Conn, v1: Payload):
    before = rows(iso_conn, "select updated_at from badges.definitions where id = 'streak_3d'")

    iso_db.sync_catalog(as_catalog(with_changes(v1[0], "streak_3d", name="Three in a row"), v1[1]))

    assert rows(
        iso_conn,
        "select name, updated_at > %s from badges.definitions where id = 'streak_3d'",
        before[0][0],
    ) == [("Three in a row", True)]
    catalog = {b["id"]: b for b in iso_db.get_catalog()["badges"]}
    assert catalog["streak_3d"]["name"] == "Three in a row"


def test_missing_providers_are_deactivated_not_deleted(
    iso_db: BadgesDb, iso_conn: Conn, v1: Payload, user: UUID
):
    iso_db.record_score(user, "mistral", True)

    result = iso_db.sync_catalog(as_catalog(v1[0], without(v1[1], "mistral")))

    assert result["providers"] == 4
    assert rows(iso_conn, "select active from badges.quiz_providers where id = 'mistral'") == [
        (False,)
    ]
    assert rows(
        iso_conn, "select provider_id from badges.quiz_scores where user_id = %s", user
    ) == [("mistral",)]
    assert [p["id"] for p in iso_db.get_catalog()["providers"]] == [
        "openai",
        "anthropic",
        "google",
        "meta",
    ]


def test_an_unchanged_sync_leaves_updated_at_alone(iso_db: BadgesDb, iso_conn: Conn, v1: Payload):
    query = (
        "select (select array_agg(updated_at order by id) from badges.definitions),"
        " (select array_agg(updated_at order by id) from badges.quiz_providers)"
    )
    before = rows(iso_conn, query)

    iso_db.sync_catalog(as_catalog(*v1))

    assert rows(iso_conn, query) == before


@pytest.mark.parametrize(
    ("badges", "providers"),
    [(None, []), ([], None), ({"id": "x"}, []), ([], "openai")],
    ids=["null badges", "null providers", "object", "string"],
)
def test_a_payload_that_is_not_arrays_is_refused_and_disables_nothing(
    db: BadgesDb, conn: Conn, badges: Any, providers: Any
):
    """A null payload would otherwise disable every badge of a live app."""
    with pytest.raises(InvalidRequest):
        db.sync_catalog(as_catalog(badges, providers))

    assert rows(conn, "select count(*) from badges.definitions where enabled")[0][0] == 6


def test_a_tier_outside_the_four_is_refused_by_the_table(iso_db: BadgesDb, catalog_payload):
    payload = catalog_payload()

    with pytest.raises(InvalidRequest):
        iso_db.sync_catalog(
            payload | {"badges": with_changes(payload["badges"], "streak_3d", tier="platinum")}
        )
