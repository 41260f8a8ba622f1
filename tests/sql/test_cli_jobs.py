"""The batch jobs as a scheduler runs them from a shell: `badges backfill` and
`badges check-badges` print the SQL function's JSON answer, and fail with a message and exit 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
import responses

from badges import cli
from badges.catalog import load_catalog
from badges.store.db import BadgesDb, MetricEvent
from badges.store.postgres import PostgresStore
from tests.conftest import DEVSPACE


@pytest.fixture
def devspace_jobs_url(
    make_catalog_database: Callable[[Path], str], monkeypatch: pytest.MonkeyPatch
) -> str:
    url = make_catalog_database(DEVSPACE)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("BADGES_STORE", raising=False)
    return url


def test_backfill_prints_what_it_awarded_and_a_second_run_awards_nothing(
    devspace_jobs_url: str, capsys: pytest.CaptureFixture[str]
):
    user = uuid4()
    store = PostgresStore(devspace_jobs_url, pool_size=1)
    db = BadgesDb(store)
    db.track(user, MetricEvent("project_created", 3), client=False)
    payload = load_catalog(DEVSPACE).sync_payload()
    trio = {**payload["badges"][0], "id": "project_trio", "name": "Project Trio", "threshold": 3}
    db.sync_catalog(payload | {"badges": [*payload["badges"], trio]})
    store.close()

    assert cli.main(["backfill", "--badge", "project_trio"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli.main(["backfill"]) == 0
    second = json.loads(capsys.readouterr().out)

    assert first == {"awarded_count": 1, "revoked_count": 0}
    assert second == {"awarded_count": 0, "revoked_count": 0}


def test_check_badges_runs_the_batch_check(
    devspace_jobs_url: str, capsys: pytest.CaptureFixture[str]
):
    assert cli.main(["check-badges"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "archived_periods": 0,  # the boards are new: no period of theirs ended yet
        "awarded_count": 0,
        "revoked_count": 0,
    }


def test_backfill_of_an_unknown_badge_exits_1_naming_the_problem(
    devspace_jobs_url: str, capsys: pytest.CaptureFixture[str]
):
    assert cli.main(["backfill", "--badge", "nope"]) == 1
    assert "unknown_badge" in capsys.readouterr().err


def test_deliver_notifications_posts_due_rows_to_the_configured_webhook_and_prints_counts(
    iso_url: str,
    iso_db: BadgesDb,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    url = "https://receiver.example.test/hook"
    for name, value in {
        "DATABASE_URL": iso_url,
        "BADGES_WEBHOOK_URL": url,
        "BADGES_WEBHOOK_SECRET": "whsec-cli-0123456789abcdef",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BADGES_STORE", raising=False)
    monkeypatch.delenv("BADGES_EXPO_PUSH", raising=False)
    monkeypatch.delenv("BADGES_EXPO_ACCESS_TOKEN", raising=False)
    for _ in range(3):
        iso_db.award_badge(uuid4(), "social_sharer", client=True)

    with responses.RequestsMock() as http:
        http.post(url, status=200)
        assert cli.main(["deliver-notifications"]) == 0
        assert len(http.calls) == 3

    assert json.loads(capsys.readouterr().out) == {"delivered": 3, "failed": 0, "dead": 0}


def test_consistency_prints_the_report_and_exits_1_on_a_violation(
    iso_url: str,
    iso_db: BadgesDb,
    iso_conn: psycopg.Connection[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("DATABASE_URL", iso_url)
    monkeypatch.delenv("BADGES_STORE", raising=False)
    iso_db.award_badge(uuid4(), "social_sharer", client=True)

    assert cli.main(["consistency"]) == 0
    clean = json.loads(capsys.readouterr().out)
    iso_conn.execute("update badges.user_stats set badge_count = badge_count + 1")
    assert cli.main(["consistency"]) == 1
    broken = json.loads(capsys.readouterr().out)

    # One user's counter is off by one: that counter, and its board's counts at two values.
    assert (clean["violations"], broken["violations"]) == (0, 3)
    assert (broken["checks"]["badge_count"], broken["checks"]["board"]) == (1, 2)
    assert broken["checks"]["badge_count"] == 1
