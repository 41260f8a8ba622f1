"""The outbox in SQL: one row per (user, badge) written in the award's transaction, none for a
silent backfill or a quiet badge; claims that concurrent workers never share; leases, late
reports, backoff and dead letters as badges.claim_notifications / finish_notifications do them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from badges.store.db import BadgesDb, MetricEvent
from tests.conftest import DEVSPACE
from tests.sql.conftest import Conn, call, rows

MAX = 3  # attempts before the dead letter, in these tests


def claim(conn: Conn, limit: int = 10, lease: int = 60, user: UUID | None = None) -> Any:
    return call(
        conn,
        "claim_notifications",
        p_limit=limit,
        p_lease_seconds=lease,
        p_max_attempts=MAX,
        p_user_id=user,
    )


def finish(conn: Conn, token: str, results: list[dict[str, Any]]) -> Any:
    return call(
        conn,
        "finish_notifications",
        p_token=token,
        p_results=results,
        p_max_attempts=MAX,
        p_backoff_seconds=10.0,
        p_max_backoff_seconds=1000.0,
    )


def failed(ids: list[int], error: str = "webhook: HTTP 500") -> list[dict[str, Any]]:
    return [{"id": i, "sent": [], "error": error} for i in ids]


def ids_of(claimed: Any) -> list[int]:
    return [n["id"] for n in claimed["notifications"]]


def make_due(conn: Conn) -> None:
    """As if the retry delay had passed."""
    conn.execute("update badges.outbox set next_attempt_at = now() where status = 'pending'")


def outbox(conn: Conn, user: UUID) -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "select dedupe_key, badge_id, status, attempts from badges.outbox"
        " where user_id = %s order by badge_id",
        user,
    )


def test_a_new_award_writes_one_outbox_row_with_the_event_in_its_transaction(
    db: BadgesDb, conn: Conn, user: UUID
):
    earned = db.award_badge(user, "social_sharer", client=True)["earned_at"]

    [(payload,)] = rows(conn, "select payload from badges.outbox where user_id = %s", user)
    assert payload == {
        "type": "badge.earned",
        "id": f"badge.earned:{user}:social_sharer",
        "user_id": str(user),
        "badge": {
            "id": "social_sharer",
            "name": "Social Sharer",
            "description": "Shared your progress.",
            "icon": "📣",
            "category": "social",
            "tier": "bronze",
            "label_key": None,
            "description_key": None,
        },
        "earned_at": payload["earned_at"],
        "message": "Congrats! You earned Social Sharer! Shared your progress.",
    }
    [(at,)] = rows(conn, "select %s::timestamptz = %s::timestamptz", payload["earned_at"], earned)
    assert at is True


def test_a_repeated_award_writes_no_second_outbox_row(db: BadgesDb, conn: Conn, user: UUID):
    db.award_badge(user, "social_sharer", client=True)
    db.award_badge(user, "social_sharer", client=True)

    assert outbox(conn, user) == [
        (f"badge.earned:{user}:social_sharer", "social_sharer", "pending", 0)
    ]


def test_an_award_rolled_back_leaves_no_outbox_row(database_url: str, conn: Conn, user: UUID):
    with psycopg.connect(database_url) as tx:
        call(tx, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=True)
        tx.rollback()

    assert outbox(conn, user) == []


def test_a_badge_earned_again_after_an_automatic_revocation_is_announced_once(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    devspace_db.track(user, MetricEvent("interaction", 10), client=False)
    devspace_conn.execute(
        "delete from badges.awards where user_id = %s and badge_id = 'sociable_dev'", (user,)
    )
    devspace_db.check_badges(user)

    assert [r[1] for r in outbox(devspace_conn, user)] == ["sociable_dev"]
    assert rows(
        devspace_conn,
        "select count(*) from badges.notifications where user_id = %s",
        user,
    ) == [(2,)]  # the inbox does say it twice: the user did earn it twice


def test_metric_badges_are_announced_in_their_units(
    devspace_db: BadgesDb, devspace_conn: Conn, user: UUID
):
    devspace_db.track(user, MetricEvent("project_created", 5), client=False)

    assert rows(
        devspace_conn,
        "select payload ->> 'message' from badges.outbox where user_id = %s order by id",
        user,
    ) == [
        ("Congrats! You earned First Builder for 1 project!",),
        ("Congrats! You earned Project Rookie for 5 projects!",),
    ]


def test_a_silent_backfill_writes_no_outbox_row_and_a_notifying_one_does(
    make_catalog_database: Callable[[Path], str],
):
    url = make_catalog_database(DEVSPACE)
    users = [uuid4(), uuid4()]
    with psycopg.connect(url, autocommit=True) as conn:
        for u in users:
            conn.execute(
                "insert into badges.metric_totals (user_id, metric, total)"
                " values (%s, 'journey_entry', 10)",
                (u,),
            )
        call(conn, "check_badges_all", p_badge_id="first_log", p_notify=False, p_revoke=False)
        assert rows(conn, "select count(*) from badges.outbox") == [(0,)]

        call(conn, "check_badges_all", p_badge_id=None, p_notify=True, p_revoke=False)
        assert rows(conn, "select badge_id, count(*) from badges.outbox group by 1") == [
            ("journey_starter", 2)
        ]


def test_a_quiet_badge_is_awarded_without_inbox_message_or_outbox_row(
    iso_db: BadgesDb, iso_conn: Conn, user: UUID
):
    iso_conn.execute("update badges.definitions set notify = false where id = 'social_sharer'")

    assert iso_db.award_badge(user, "social_sharer", client=True)["awarded"] is True
    assert rows(iso_conn, "select count(*) from badges.outbox") == [(0,)]
    assert rows(iso_conn, "select count(*) from badges.notifications") == [(0,)]


@pytest.fixture
def five_rows(iso_db: BadgesDb) -> list[UUID]:
    """Five users, one pending outbox row each, in this test's own database."""
    users = [uuid4() for _ in range(5)]
    for u in users:
        iso_db.award_badge(u, "social_sharer", client=True)
    return users


def test_concurrent_claims_take_disjoint_rows(iso_url: str, five_rows: list[UUID]):
    with psycopg.connect(iso_url) as first, psycopg.connect(iso_url) as second:
        held = claim(first, limit=3)  # its transaction stays open: the rows stay locked
        taken = claim(second, limit=10)
        second.commit()
        first.commit()

    assert len(ids_of(held)) == 3
    assert len(ids_of(taken)) == 2
    assert set(ids_of(held)).isdisjoint(ids_of(taken))


def test_a_claimed_row_is_leased_and_not_claimed_again_until_the_lease_ends(
    iso_conn: Conn, five_rows: list[UUID]
):
    assert len(ids_of(claim(iso_conn, lease=60))) == 5
    assert ids_of(claim(iso_conn)) == []


def test_a_late_report_after_the_lease_ran_out_changes_nothing(
    iso_conn: Conn, five_rows: list[UUID]
):
    stale = claim(iso_conn, lease=0)  # leased for no time: due again at once
    fresh = claim(iso_conn)
    assert ids_of(fresh) == ids_of(stale)

    late = finish(iso_conn, stale["token"], failed(ids_of(stale)))
    on_time = finish(iso_conn, fresh["token"], [{"id": i, "sent": []} for i in ids_of(fresh)])

    assert late == {"delivered": 0, "failed": 0, "dead": 0}
    assert on_time == {"delivered": 5, "failed": 0, "dead": 0}


def test_each_retry_waits_longer_than_the_last_with_jitter(iso_conn: Conn, five_rows: list[UUID]):
    delays: list[list[timedelta]] = []
    for _ in range(MAX - 1):
        claimed = claim(iso_conn)
        assert finish(iso_conn, claimed["token"], failed(ids_of(claimed)))["failed"] == 5
        delays.append(
            [
                r[0]
                for r in rows(
                    iso_conn,
                    "select next_attempt_at - last_attempt_at from badges.outbox order by id",
                )
            ]
        )
        make_due(iso_conn)

    first, second = delays
    assert all(timedelta(seconds=5) <= d < timedelta(seconds=10) for d in first)
    assert all(timedelta(seconds=10) <= d < timedelta(seconds=20) for d in second)
    assert len(set(first)) > 1  # jittered: five rows do not retry in lockstep


def test_exhausted_attempts_dead_letter_the_row_with_its_last_error(
    iso_conn: Conn, five_rows: list[UUID]
):
    for attempt in range(1, MAX + 1):
        claimed = claim(iso_conn)
        counts = finish(iso_conn, claimed["token"], failed(ids_of(claimed), f"boom {attempt}"))
        make_due(iso_conn)

    assert counts == {"delivered": 0, "failed": 0, "dead": 5}
    assert ids_of(claim(iso_conn)) == []
    assert rows(iso_conn, "select distinct status, attempts, last_error from badges.outbox") == [
        ("dead", MAX, f"boom {MAX}")
    ]


def test_a_row_whose_worker_died_on_its_last_attempt_is_dead_lettered_by_the_next_claim(
    iso_conn: Conn, five_rows: list[UUID]
):
    for _ in range(MAX):
        claim(iso_conn, lease=0)  # claimed, never reported

    assert claim(iso_conn)["dead"] == 5
    assert rows(iso_conn, "select distinct status, last_error from badges.outbox") == [
        ("dead", "the worker of the last attempt never reported back")
    ]


def test_channels_that_took_a_row_are_remembered_across_retries(
    iso_conn: Conn, five_rows: list[UUID]
):
    claimed = claim(iso_conn)
    finish(
        iso_conn,
        claimed["token"],
        [{"id": i, "sent": ["expo"], "error": "webhook: HTTP 503"} for i in ids_of(claimed)],
    )
    make_due(iso_conn)

    again = claim(iso_conn)
    assert {tuple(n["delivered_channels"]) for n in again["notifications"]} == {("expo",)}
    assert {n["attempt"] for n in again["notifications"]} == {2}


def test_the_immediate_claim_takes_only_the_users_never_tried_rows(
    iso_conn: Conn, five_rows: list[UUID]
):
    mine = claim(iso_conn, user=five_rows[0])
    assert [n["payload"]["user_id"] for n in mine["notifications"]] == [str(five_rows[0])]
    finish(iso_conn, mine["token"], failed(ids_of(mine)))
    make_due(iso_conn)

    assert ids_of(claim(iso_conn, user=five_rows[0])) == []  # tried once: the job's now


def test_requeue_brings_dead_letters_back_with_fresh_attempts(
    iso_conn: Conn, five_rows: list[UUID]
):
    iso_conn.execute("update badges.outbox set status = 'dead', attempts = %s", (MAX,))
    [dead] = rows(iso_conn, "select min(id) from badges.outbox")

    assert call(iso_conn, "requeue_notifications", p_ids=[dead[0]]) == {"requeued": 1}
    assert call(iso_conn, "requeue_notifications", p_ids=None) == {"requeued": 4}
    assert len(ids_of(claim(iso_conn))) == 5


def test_push_tokens_travel_with_the_claim_and_gone_ones_are_dropped(
    iso_db: BadgesDb, iso_conn: Conn, user: UUID
):
    iso_db.register_push_token(user, "ExponentPushToken[old]", "ios")
    iso_db.register_push_token(user, "ExponentPushToken[new]", "android")
    iso_db.award_badge(user, "social_sharer", client=True)

    claimed = claim(iso_conn)
    [notification] = claimed["notifications"]
    assert notification["push_tokens"] == ["ExponentPushToken[new]", "ExponentPushToken[old]"]
    finish(
        iso_conn,
        claimed["token"],
        [{"id": notification["id"], "sent": ["expo"], "drop_tokens": ["ExponentPushToken[old]"]}],
    )

    assert rows(iso_conn, "select token from badges.push_tokens") == [("ExponentPushToken[new]",)]
