"""badges.record_score and the quiz badges: distinct correct providers, sticky correctness."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from badges.catalog import SyncPayload
from badges.errors import UnknownProvider
from badges.store.db import BadgesDb
from tests.sql.conftest import PROVIDERS, Conn, count, rows, stats

Attempt = tuple[str, bool]


def score_all(db: BadgesDb, user: UUID, attempts: list[Attempt]) -> list[dict[str, Any]]:
    return [db.record_score(user, provider, correct) for provider, correct in attempts]


@pytest.mark.parametrize(
    ("attempts", "awarded"),
    [
        # quiz_master_3 exactly at the third distinct correct provider.
        (
            [("openai", True), ("anthropic", True), ("google", True)],
            [[], [], ["quiz_master_3"]],
        ),
        # Three correct answers on one provider are one provider.
        ([("openai", True)] * 3, [[], [], []]),
        # Wrong answers do not count; a repeat does not either.
        (
            [
                ("openai", True),
                ("anthropic", False),
                ("openai", True),
                ("google", True),
                ("anthropic", True),
            ],
            [[], [], [], [], ["quiz_master_3"]],
        ),
        # quiz_master_all on the last of the five active providers, quiz_master_3 once.
        (
            [(p, True) for p in PROVIDERS] + [("openai", True)],
            [[], [], ["quiz_master_3"], [], ["quiz_master_all"], []],
        ),
    ],
    ids=["third-distinct", "same-provider", "wrong-and-repeat", "all-providers"],
)
def test_quiz_badges_are_awarded_when_their_count_of_distinct_providers_is_reached(
    db: BadgesDb, user: UUID, attempts: list[Attempt], awarded: list[list[str]]
):
    assert [r["awarded"] for r in score_all(db, user, attempts)] == awarded


def test_record_score_reports_correct_and_total_providers(db: BadgesDb, user: UUID):
    results = score_all(db, user, [("openai", True), ("meta", False), ("meta", True)])

    assert [(r["correct_providers"], r["total_providers"]) for r in results] == [
        (1, 5),
        (1, 5),
        (2, 5),
    ]


def test_newly_correct_is_true_only_for_the_first_correct_answer(db: BadgesDb, user: UUID):
    results = score_all(
        db, user, [("openai", False), ("openai", True), ("openai", True), ("openai", False)]
    )

    assert [r["newly_correct"] for r in results] == [False, True, False, False]


def test_a_wrong_attempt_after_a_correct_one_keeps_it_correct(db: BadgesDb, conn: Conn, user: UUID):
    score_all(db, user, [("openai", True), ("openai", False)])

    assert rows(
        conn,
        "select quiz_correct, attempts, first_correct_at is not null from badges.quiz_scores"
        " where user_id = %s and provider_id = 'openai'",
        user,
    ) == [(True, 2, True)]
    assert db.check_quiz_master(user)["correct_providers"] == 1


def test_correct_count_counts_distinct_correct_providers(db: BadgesDb, conn: Conn, user: UUID):
    score_all(
        db,
        user,
        [
            ("openai", True),
            ("openai", True),
            ("anthropic", False),
            ("google", True),
            ("openai", False),
        ],
    )

    assert stats(conn, user) == (0, 2)


def test_a_quiz_attempt_is_a_day_of_activity(db: BadgesDb, conn: Conn, user: UUID):
    db.record_score(user, "openai", False)

    assert count(conn, "activity_days", user) == 1
    assert db.check_streaks(user)["current_streak"] == 1


@pytest.mark.parametrize("provider", ["no_such_provider", "OpenAI", ""])
def test_unknown_provider_raises_unknown_provider_and_writes_nothing(
    db: BadgesDb, conn: Conn, user: UUID, provider: str
):
    with pytest.raises(UnknownProvider):
        db.record_score(user, provider, True)

    for table in ("quiz_scores", "user_stats", "activity_days", "streaks"):
        assert count(conn, table, user) == 0, table


def test_inactive_provider_raises_unknown_provider_and_no_longer_counts(
    iso_db: BadgesDb,
    user: UUID,
    catalog_payload: Callable[[], SyncPayload],
):
    """A deactivated provider cannot be scored, and quiz_all then needs only the active ones."""
    iso_db.record_score(user, "mistral", True)
    payload = catalog_payload()
    iso_db.sync_catalog(
        payload | {"providers": [p for p in payload["providers"] if p["id"] != "mistral"]}
    )

    with pytest.raises(UnknownProvider):
        iso_db.record_score(user, "mistral", True)
    assert iso_db.check_quiz_master(user) == {
        "correct_providers": 0,
        "total_providers": 4,
        "awarded": [],
    }
    awarded = [iso_db.record_score(user, p, True)["awarded"] for p in PROVIDERS[:4]]
    assert awarded == [[], [], ["quiz_master_3"], ["quiz_master_all"]]


def test_check_quiz_master_awards_quiz_badges_added_after_they_were_reached(
    iso_db: BadgesDb,
    user: UUID,
    catalog_payload: Callable[[], SyncPayload],
):
    payload = catalog_payload()
    iso_db.sync_catalog(
        payload
        | {"badges": [b for b in payload["badges"] if not b["id"].startswith("quiz_master")]}
    )
    assert [r["awarded"] for r in score_all(iso_db, user, [(p, True) for p in PROVIDERS])] == [
        [] for _ in PROVIDERS
    ]
    iso_db.sync_catalog(payload)

    assert iso_db.check_quiz_master(user) == {
        "correct_providers": 5,
        "total_providers": 5,
        "awarded": ["quiz_master_3", "quiz_master_all"],
    }


def test_a_revoked_quiz_badge_is_not_given_back_by_the_checks(db: BadgesDb, user: UUID):
    score_all(db, user, [(p, True) for p in PROVIDERS[:3]])
    db.revoke_badge(user, "quiz_master_3", "shared answers", "test")

    assert db.check_quiz_master(user)["awarded"] == []
    assert db.record_score(user, PROVIDERS[3], True)["awarded"] == []
