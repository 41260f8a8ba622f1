"""The rules engine's actions over HTTP, on the Dev-Space catalog: track, progress, level_status,
check_badges, backfill. Who may call what, the answer shapes, and the errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.endpoint.conftest import Api, MakeClient, Tokens
from tests.endpoint.test_errors import assert_error


@pytest.fixture(scope="module")
def devspace_api(make_client: MakeClient, devspace_url: str, tokens: Tokens) -> Api:
    return Api(make_client(DATABASE_URL=devspace_url), tokens)


def test_a_user_tracks_a_user_trackable_metric_and_earns_its_badge_at_the_threshold(
    devspace_api: Api, user: uuid.UUID
):
    answers = [devspace_api.ok("track", as_user=user, metric="interaction") for _ in range(10)]

    assert [a["total"] for a in answers] == list(range(1, 11))
    assert [a["awarded"] for a in answers] == [[]] * 9 + [["sociable_dev"]]
    assert answers[-1] == {
        "success": True,
        "metric": "interaction",
        "total": 10,
        "distinct_count": 0,
        "awarded": ["sociable_dev"],
        "duplicate": False,
    }


def test_a_user_cannot_track_a_server_only_metric(devspace_api: Api, user: uuid.UUID):
    assert_error(
        devspace_api.call("track", as_user=user, metric="project_created"), 403, "forbidden"
    )

    steps = devspace_api.ok("level_status", as_user=user, level="newcomer")["steps"]
    assert {s["metric"]: s["current"] for s in steps}["project_created"] == 0


def test_a_user_cannot_date_an_event_or_add_more_than_the_catalog_allows(
    devspace_api: Api, user: uuid.UUID
):
    dated = devspace_api.call(
        "track", as_user=user, metric="interaction", occurred_at="2026-01-01T00:00:00Z"
    )
    assert_error(dated, 403, "forbidden")
    assert_error(
        devspace_api.call("track", as_user=user, metric="interaction", amount=50), 403, "forbidden"
    )
    assert devspace_api.ok("track", as_user=user, metric="interaction")["total"] == 1


def test_a_service_tracks_any_metric_for_a_user_and_may_date_it(devspace_api: Api, user: uuid.UUID):
    when = (datetime.now(UTC) - timedelta(days=3)).isoformat()

    answer = devspace_api.ok(
        "track",
        service=True,
        user_id=str(user),
        metric="project_created",
        amount=5,
        occurred_at=when,
    )
    listed = {b["id"]: b for b in devspace_api.ok("list", as_user=user)["badges"]}

    assert answer["awarded"] == ["first_builder", "project_rookie"]
    # Compared as instants: PostgreSQL writes 10:22:53.7302 for Python's 10:22:53.730200.
    assert datetime.fromisoformat(listed["project_rookie"]["earned_at"]) == datetime.fromisoformat(
        when
    )


def test_a_repeated_idempotency_key_counts_once_and_a_reused_one_conflicts(
    devspace_api: Api, user: uuid.UUID
):
    first = devspace_api.ok("track", as_user=user, metric="journey_entry", idempotency_key="e-1")
    again = devspace_api.ok("track", as_user=user, metric="journey_entry", idempotency_key="e-1")
    other = devspace_api.call("track", as_user=user, metric="interaction", idempotency_key="e-1")

    assert (first["total"], first["duplicate"], first["awarded"]) == (1, False, ["first_log"])
    assert (again["total"], again["duplicate"], again["awarded"]) == (1, True, [])
    assert_error(other, 409, "idempotency_conflict")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"metric": "has space"},
        {"metric": "interaction", "amount": 0},
        {"metric": "interaction", "amount": "1"},
        {"metric": "interaction", "amount": 10**7},
        {"metric": "interaction", "amount": 1.5},
        {"metric": "interaction", "idempotency_key": ""},
        {"metric": "interaction", "idempotency_key": "k" * 201},
        {"metric": "interaction", "idempotency_key": "row:5d41402abc4b2a76b9719d911017c592"},
        {"metric": "interaction", "item": "a\x00b"},
        {"metric": "interaction", "occurred_at": "yesterday"},
        {"metric": "interaction", "occurred_at": 1767225600},
        {"metric": "interaction", "occurred_at": "2026-01-01T00:00:00"},
        {"metric": "interaction", "occurred_at": "2999-01-01T00:00:00Z"},
    ],
)
def test_a_malformed_track_is_invalid_request_and_counts_nothing(
    devspace_api: Api, user: uuid.UUID, params: dict[str, object]
):
    answer = devspace_api.call("track", service=True, user_id=str(user), **params)

    assert_error(answer, 400, "invalid_request")
    steps = devspace_api.ok("level_status", as_user=user, level="regular")["steps"]
    assert [s["current"] for s in steps] == [0, 0, 0]


def test_a_client_cannot_take_a_key_of_the_table_triggers_namespace(
    devspace_api: Api, user: uuid.UUID
):
    # A trigger keys a counted row "row:" + md5(metric, table, trigger, row id): a client that
    # took such a key first would make the user's own later insert of that row fail (BD008).
    key = "row:" + "0123456789abcdef" * 2
    answer = devspace_api.call("track", as_user=user, metric="interaction", idempotency_key=key)

    assert_error(answer, 400, "invalid_request")
    assert "reserved for table triggers" in answer.body["error"]["message"]
    ok = devspace_api.ok("track", as_user=user, metric="interaction", idempotency_key="r-1")
    assert ok["total"] == 1


def test_an_unknown_metric_is_unknown_metric(devspace_api: Api, user: uuid.UUID):
    answer = devspace_api.call("track", service=True, user_id=str(user), metric="nope")

    assert_error(answer, 404, "unknown_metric")


def test_progress_names_the_next_milestone_per_category_nearest_first(
    devspace_api: Api, user: uuid.UUID
):
    devspace_api.ok("track", service=True, user_id=str(user), metric="project_created", amount=27)

    milestones = devspace_api.ok("progress", as_user=user)["milestones"]
    listed = devspace_api.ok("list", as_user=user)

    assert milestones[0]["message"] == "3 more projects → Project Pro"
    assert (milestones[0]["current"], milestones[0]["target"]) == (27, 30)
    assert len({m["category"] for m in milestones}) == len(milestones)
    assert listed["next"] == milestones


def test_list_and_catalog_carry_rarity(devspace_api: Api, user: uuid.UUID):
    devspace_api.ok("track", as_user=user, metric="journey_entry")

    listed = {b["id"]: b for b in devspace_api.ok("list", as_user=user)["badges"]}
    catalog = {b["id"]: b for b in devspace_api.ok("catalog", as_user=user)["badges"]}

    assert listed["first_log"]["rarity"] == catalog["first_log"]["rarity"]
    assert catalog["first_log"]["rarity"]["earned_count"] >= 1
    assert 0 < catalog["first_log"]["rarity"]["earned_percent"] <= 100


def test_a_rank_badge_awarded_by_hand_is_listed_with_no_placings_not_a_500(
    devspace_api: Api, user: uuid.UUID
):
    """A service may award any badge, a rank badge too, though the user never placed on its
    board: list and badge answer it with no placing (times 0, latest null)."""
    devspace_api.ok("award", service=True, user_id=str(user), badge_id="weekly_top3")

    listed = {b["id"]: b for b in devspace_api.ok("list", as_user=user)["badges"]}
    named = devspace_api.ok("list", service=True, user_id=str(user))
    badge = devspace_api.ok("badge", as_user=user, badge_id="weekly_top3")

    assert listed["weekly_top3"]["earned"] is True
    assert listed["weekly_top3"]["placings"] == {"times": 0, "latest": None}
    assert named["badges"] == list(listed.values())
    assert badge["me"]["placings"] == {"times": 0, "latest": None}


def test_every_badge_awarded_by_hand_is_read_back_by_every_read(devspace_api: Api, user: uuid.UUID):
    """Every badge of the Dev-Space catalog (each rule: streak, metric, distinct, all_of, rank,
    level, hidden…) awarded by a service, whatever the user did: every read that shows the
    user's badges answers them, none a 500."""
    catalog = [b["id"] for b in devspace_api.ok("catalog", service=True)["badges"]]
    for badge_id in catalog:
        devspace_api.ok("award", service=True, user_id=str(user), badge_id=badge_id)

    listed = devspace_api.ok("list", as_user=user)
    for badge_id in catalog:
        assert devspace_api.ok("badge", as_user=user, badge_id=badge_id)["me"]["earned"]
        devspace_api.ok("badge_holders", as_user=user, badge_id=badge_id)
    for action in ("progress", "current_level", "profile", "notifications", "feed"):
        devspace_api.ok(action, as_user=user)

    earned = {b["id"]: b for b in listed["badges"] if b["earned"]}
    assert set(catalog) <= set(earned)
    # Beyond the catalog's answer: hidden composites the awards completed (all_rounder).
    assert all(earned[extra]["hidden"] for extra in set(earned) - set(catalog))
    assert listed["earned_count"] == len(earned)


def test_level_status_reports_each_step_and_an_unknown_level_is_unknown_level(
    devspace_api: Api, user: uuid.UUID
):
    devspace_api.ok("track", service=True, user_id=str(user), metric="project_created")

    status = devspace_api.ok("level_status", as_user=user, level="newcomer")

    assert status["achieved"] is False
    assert status["steps"] == [
        {"metric": "project_created", "required": 1, "current": 1, "remaining": 0},
        {"metric": "journey_entry", "required": 1, "current": 0, "remaining": 1},
    ]
    assert_error(
        devspace_api.call("level_status", as_user=user, level="nope"), 404, "unknown_level"
    )


def test_backfill_and_the_batch_check_are_for_services_only(devspace_api: Api, user: uuid.UUID):
    assert_error(devspace_api.call("backfill", as_user=user), 403, "forbidden")
    assert_error(devspace_api.call("check_badges", as_user=user, all=True), 403, "forbidden")

    backfilled = devspace_api.ok("backfill", service=True, badge_id="first_log")
    assert set(backfilled) == {"success", "awarded_count", "revoked_count"}
    assert backfilled["revoked_count"] == 0
    assert_error(devspace_api.call("backfill", service=True, badge_id="nope"), 404, "unknown_badge")


def test_a_user_checks_their_own_badges(devspace_api: Api, user: uuid.UUID):
    assert devspace_api.ok("check_badges", as_user=user) == {
        "success": True,
        "awarded": [],
        "revoked": 0,
    }


def test_track_is_rate_limited_like_every_client_write(
    make_client: MakeClient, devspace_url: str, tokens: Tokens, user: uuid.UUID
):
    api = Api(
        make_client(
            DATABASE_URL=devspace_url,
            BADGES_RATE_LIMIT_BURST="2",
            BADGES_RATE_LIMIT_PER_MINUTE="1",
        ),
        tokens,
    )

    answers = [api.call("track", as_user=user, metric="interaction") for _ in range(3)]

    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"]
